package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// flaky is a follower whose sink fails every third Apply (without storing
// anything) and that records what it stored.
type flaky struct {
	mu     sync.Mutex
	cursor uint64
	seen   []uint64
	calls  int
}

func (f *flaky) Name() string { return "flaky" }

func (f *flaky) Cursor(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor, nil
}

func (f *flaky) Apply(_ context.Context, rs []derive.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls%3 == 0 {
		return errors.New("sink down")
	}
	for _, r := range rs {
		f.seen = append(f.seen, r.LSN)
	}
	f.cursor = rs[len(rs)-1].LSN
	return nil
}

func (f *flaky) stored() (uint64, []uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cursor, append([]uint64(nil), f.seen...)
}

// TestFeedFollower: a follower started late (reading old records from the
// journal), behind a failing sink, and restarted from its cursor, stores
// every durable record exactly once, in order.
func TestFeedFollower(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 31, 400) // before the follower exists: read from the journal
	log := testenv.Quiet()
	f := &flaky{}
	ctx, cancel := context.WithCancel(context.Background())
	n.Feed.Follow(ctx, f, 25, log)
	workload(t, n, 32, 400)
	waitFor := func(lsn uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, _ := f.stored(); c >= lsn {
				return
			}
			if time.Now().After(deadline) {
				c, _ := f.stored()
				t.Fatalf("follower at %d; durable %d", c, lsn)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(n.Journal.LastLSN())
	if lag, ok := n.Feed.Lag("flaky"); !ok || lag != 0 {
		t.Fatalf("lag = %d, %v; want 0", lag, ok)
	}
	cancel() // the follower stops; more work happens; it resumes from its cursor
	time.Sleep(20 * time.Millisecond)
	workload(t, n, 33, 300)
	n.Feed.Follow(context.Background(), f, 50, log)
	waitFor(n.Journal.LastLSN())
	_, seen := f.stored()
	for i, lsn := range seen {
		if lsn != uint64(i+1) {
			t.Fatalf("record %d stored as #%d: records must arrive once each, in order", lsn, i+1)
		}
	}
	if len(seen) < 100 {
		t.Fatalf("only %d records stored", len(seen))
	}
	n.Shutdown(context.Background())
}

// TestFeedRing: the in-memory ring serves recent records, the journal
// older ones, across compactions.
func TestFeedRing(t *testing.T) {
	var journal []pj.Record
	read := func(after, upto uint64, fn func(pj.Record) error) error {
		for _, r := range journal[after:upto] {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	f := runtime.NewFeed(0, 4, read, nil)
	for lsn := uint64(1); lsn <= 50; lsn++ {
		r := pj.Record{LSN: lsn}
		journal = append(journal, r)
		f.Publish([]pj.Record{r})
	}
	for _, after := range []uint64{0, 10, 41, 45, 49} {
		got, err := f.Next(context.Background(), after, 3)
		if err != nil || len(got) == 0 || got[0].LSN != after+1 || got[len(got)-1].LSN > 50 {
			t.Fatalf("Next(%d) = %v, %v", after, got, err)
		}
		for i, r := range got {
			if r.LSN != after+1+uint64(i) {
				t.Fatalf("Next(%d) = %v: not contiguous", after, got)
			}
		}
	}
}

// keeper is a follower that keeps the derived records it stored; while
// held its sink is down.
type keeper struct {
	name    string
	mu      sync.Mutex
	cursor  uint64
	records []derive.Record
	held    bool
}

func (k *keeper) Name() string { return k.name }

func (k *keeper) Cursor(context.Context) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cursor, nil
}

func (k *keeper) Apply(_ context.Context, rs []derive.Record) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.held {
		return errors.New("sink down")
	}
	if rs[0].LSN != k.cursor+1 {
		return fmt.Errorf("%s: records from %d after cursor %d", k.name, rs[0].LSN, k.cursor)
	}
	k.records = append(k.records, rs...)
	k.cursor = rs[len(rs)-1].LSN
	return nil
}

func (k *keeper) hold(held bool) {
	k.mu.Lock()
	k.held = held
	k.mu.Unlock()
}

func (k *keeper) at() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cursor
}

// TestDeriveStage: followers fed by the one derive stage at different
// places — one started behind the stage's window (it derives for itself,
// then joins the stage), one whose sink is down while the stage runs far
// ahead (it falls out of the window and comes back), one started from the
// journal's first record at the end — each store exactly what one Deriver
// derives from the whole journal, each record once, in order.
func TestDeriveStage(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	n.Feed.SetDeriveWindow(32)
	workload(t, n, 81, 300)
	fast, down, late := &keeper{name: "fast"}, &keeper{name: "down"}, &keeper{name: "late"}
	n.Follow(fast, 16)
	n.Follow(down, 8)
	testnode.WaitCursor(t, "down", n.Journal.LastLSN(), down.at)
	down.hold(true)
	workload(t, n, 82, 300)
	testnode.WaitCursor(t, "fast", n.Journal.LastLSN(), fast.at)
	down.hold(false)
	n.Follow(late, 50)
	workload(t, n, 83, 300)
	last := n.Journal.LastLSN()
	for _, k := range []*keeper{fast, down, late} {
		testnode.WaitCursor(t, k.name, last, k.at)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	d := derive.New(cfg, 0)
	var want []derive.Record
	if err := pj.ReadFiles(runtime.JournalDir(dir), 0, last, func(r pj.Record) error {
		dr, err := d.Derive(r)
		want = append(want, dr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) < 200 {
		t.Fatalf("only %d records: the followers must fall out of a 32-record window", len(want))
	}
	for _, k := range []*keeper{fast, down, late} {
		if len(k.records) != len(want) {
			t.Fatalf("%s stored %d records; want %d", k.name, len(k.records), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(k.records[i], want[i]) {
				t.Fatalf("%s: record %d is\n%s\nwant\n%s", k.name, want[i].LSN, show(k.records[i]), show(want[i]))
			}
		}
	}
}
