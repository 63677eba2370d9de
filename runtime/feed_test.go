package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"

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
