package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// disk makes the journal's segment files fail like a disk that fills up:
// once armed, and after 100 more writes, the first write of more than one
// record (longer than any single-record write seen before arming) writes
// all but its last 7 bytes —
// every record but the last whole — and fails with ENOSPC; every later
// write fails without writing. It can also fail truncations (then the
// journal cannot undo the failed batch).
type disk struct {
	mu           sync.Mutex
	armed, full  bool
	single       int // longest write before arming
	writes       int // since arming
	failTruncate bool
	partial      int // bytes of the failed batch written
	// failSync: instead of filling, the first fsync after the 100 writes
	// fails (once).
	failSync bool
}

func (f *diskFile) Sync() error {
	d := f.d
	d.mu.Lock()
	if d.failSync && d.armed && d.writes >= 100 && !d.full {
		d.full = true
		d.mu.Unlock()
		return syscall.EIO
	}
	d.mu.Unlock()
	return f.File.Sync()
}

type diskFile struct {
	pj.File
	d *disk
}

func (d *disk) wrap(f pj.File) pj.File { return &diskFile{f, d} }

func (f *diskFile) Write(b []byte) (int, error) {
	d := f.d
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.full && d.failSync:
		return 0, syscall.EIO
	case d.full:
		return 0, syscall.ENOSPC
	case !d.armed:
		d.single = max(d.single, len(b))
	case d.writes < 100:
		d.writes++
	case len(b) > d.single && !d.failSync:
		d.full = true
		n, _ := f.File.Write(b[:len(b)-7])
		d.partial = n
		return n, syscall.ENOSPC
	}
	return f.File.Write(b)
}

func (f *diskFile) Truncate(n int64) error {
	f.d.mu.Lock()
	fail := f.d.failTruncate
	f.d.mu.Unlock()
	if fail {
		return syscall.EIO
	}
	return f.File.Truncate(n)
}

// outcome is what the load saw: the deposits (business ids) and orders
// (ids) acknowledged, the deposits refused with code 3, and how many
// answers were code 9.
type outcome struct {
	mu              sync.Mutex
	acked, refused  map[uint64]bool
	orders          map[uint64]bool
	unknown, others int
}

// fillDisk starts a node on dir with the journal's files on d, deposits
// and trades, then arms d under a load of deposits and crossing orders
// until every answer is an error. It returns what the load saw and the
// node, still running.
func fillDisk(t *testing.T, dir string, d *disk, mode journal.Mode, halt func(error)) (*runtime.Node, *outcome) {
	t.Helper()
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	pj.WrapFile = d.wrap
	defer func() { pj.WrapFile = nil }()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1,
		Journal: journal.Options{Mode: mode, Halt: halt}})
	m := cfg.Market("BTCUSDT")
	btc, usdt := cfg.Asset("BTC").ID, cfg.Asset("USDT").ID
	out := &outcome{acked: map[uint64]bool{}, refused: map[uint64]bool{}, orders: map[uint64]bool{}}
	do(t, n, &messages.BalanceUpdate{User: 1, Asset: btc, Business: "deposit", BusinessID: 1, Change: save("1000"), Time: 1})
	do(t, n, &messages.BalanceUpdate{User: 2, Asset: usdt, Business: "deposit", BusinessID: 1, Change: save("1000000"), Time: 1})
	order := func(user uint32, side messages.Side) messages.Reply {
		return do(t, n, &messages.PutLimit{User: user, Market: m.ID, Side: side, Amount: units("0.1", 8), Price: units("100", 2), Time: 2})
	}
	for _, r := range []messages.Reply{order(1, messages.Ask), order(2, messages.Bid)} {
		o, ok := r.(*messages.OrderReply)
		if !ok {
			t.Fatalf("warm-up order: %#v", r)
		}
		out.orders[o.Order.ID] = true
	}
	d.mu.Lock()
	d.armed = true
	d.mu.Unlock()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			errors := 0
			for i := 0; errors < 20; i++ {
				var r messages.Reply
				id := uint64(1000*w + i + 10)
				switch i % 3 {
				case 0:
					r = do(t, n, &messages.BalanceUpdate{User: 3, Asset: usdt, Business: "deposit", BusinessID: id, Change: save("1"), Time: 3})
				case 1:
					r = order(1, messages.Ask)
				case 2:
					r = order(2, messages.Bid)
				}
				out.mu.Lock()
				switch r := r.(type) {
				case *messages.StatusReply:
					out.acked[id] = true
				case *messages.OrderReply:
					out.orders[r.Order.ID] = true
				case *messages.ErrorReply:
					errors++
					switch {
					case r.Err == messages.ErrOutcomeUnknown:
						out.unknown++
					case r.Err != messages.ErrUnavailable:
						out.others++
					case i%3 == 0:
						out.refused[id] = true
					}
				}
				out.mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.full {
		t.Fatal("the disk never filled")
	}
	return n, out
}

// journalContents reads the journal under dir (read-only): the deposit
// business ids of user 3 and the ids of the orders placed.
func journalContents(t *testing.T, dir string) (deposits, orders map[uint64]bool, last uint64) {
	t.Helper()
	deposits, orders = map[uint64]bool{}, map[uint64]bool{}
	rec, err := pj.ScanFiles(runtime.JournalDir(dir), 0, func(r pj.Record) error {
		for _, ev := range r.Events {
			switch e := ev.(type) {
			case *messages.BalanceUpdated:
				if e.User == 3 {
					deposits[e.BusinessID] = true
				}
			case *messages.OrderPlaced:
				orders[e.Order.ID] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return deposits, orders, rec.LastLSN
}

func sameSet(t *testing.T, what string, got, want map[uint64]bool) {
	t.Helper()
	for k := range want {
		if !got[k] {
			t.Errorf("%s: acknowledged %d is missing after restart", what, k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s: %d was not acknowledged (answered failed) but is in the journal after restart", what, k)
		}
	}
}

// TestDiskFullMidBatch: the disk fills in the middle of a group commit,
// with several whole records of the batch written. Every request answered
// "failed" (code 3) is absent after a restart and every acknowledged one is
// present; while the journal is failed, queries of the live state are
// refused too (they could show the failed batch's effects).
func TestDiskFullMidBatch(t *testing.T) { diskFailure(t, &disk{}) }

// TestFsyncFailure: in sync mode an fsync fails after a whole batch was
// written: the batch is undone as above.
func TestFsyncFailure(t *testing.T) { diskFailure(t, &disk{failSync: true}) }

func diskFailure(t *testing.T, d *disk) {
	dir := t.TempDir()
	halted := make(chan error, 1)
	n, out := fillDisk(t, dir, d, journal.Sync, func(err error) { halted <- err })
	if !n.Journal.Failed() {
		t.Fatal("journal not failed")
	}
	if r := do(t, n, &messages.BalanceQuery{User: 3}); fmt.Sprint(r) != fmt.Sprint(&messages.ErrorReply{Err: messages.ErrUnavailable}) {
		t.Errorf("balance.query while the journal is failed = %#v; want code 3", r)
	}
	if r := do(t, n, &messages.OrderDepth{Market: 0, Limit: 10}); fmt.Sprint(r) != fmt.Sprint(&messages.ErrorReply{Err: messages.ErrUnavailable}) {
		t.Errorf("order.depth while the journal is failed = %#v; want code 3", r)
	}
	n.Shutdown(context.Background())
	select {
	case err := <-halted:
		t.Fatalf("halted, but the failed batch could be undone: %v", err)
	default:
	}
	t.Logf("%d deposits acknowledged, %d refused; %d orders acknowledged; %d bytes of the failed batch were written",
		len(out.acked), len(out.refused), len(out.orders), d.partial)
	if len(out.refused) == 0 || len(out.acked) == 0 || out.unknown != 0 || out.others != 0 {
		t.Fatalf("load: %d acked, %d refused, %d unknown, %d other errors", len(out.acked), len(out.refused), out.unknown, out.others)
	}

	deposits, orders, _ := journalContents(t, dir)
	sameSet(t, "deposit", deposits, out.acked)
	sameSet(t, "order", orders, out.orders)
	// And the node restarts on it: the refused deposits apply now, once.
	cfg, _ := config.Parse(config.Default)
	n2 := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
	for id := range out.refused {
		if r := do(t, n2, &messages.BalanceUpdate{User: 3, Asset: cfg.Asset("USDT").ID, Business: "deposit", BusinessID: id, Change: save("1"), Time: 4}); fmt.Sprintf("%T", r) != "*messages.StatusReply" {
			t.Errorf("re-sent refused deposit %d after restart: %#v; want success", id, r)
		}
	}
}

// TestDiskFullUndoFails: the disk fills mid-batch and the truncation that
// would undo the batch fails too. The held replies say "outcome unknown"
// (code 9), the node is halted, and everything acknowledged is present
// after a restart.
func TestDiskFullUndoFails(t *testing.T) {
	dir := t.TempDir()
	d := &disk{failTruncate: true}
	halted := make(chan error, 1)
	n, out := fillDisk(t, dir, d, journal.Sync, func(err error) { halted <- err })
	select {
	case err := <-halted:
		t.Logf("halted: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not halted")
	}
	n.Shutdown(context.Background())
	if out.unknown == 0 || out.others != 0 {
		t.Fatalf("load: %d answers code 9, %d other errors; want some code 9", out.unknown, out.others)
	}
	deposits, orders, _ := journalContents(t, dir)
	for id := range out.acked {
		if !deposits[id] {
			t.Errorf("acknowledged deposit %d missing", id)
		}
	}
	for id := range out.orders {
		if !orders[id] {
			t.Errorf("acknowledged order %d missing", id)
		}
	}
	for id := range out.refused {
		if deposits[id] {
			t.Errorf("deposit %d answered code 3 is in the journal", id)
		}
	}
}

// TestFsyncFailureBatch: in batch mode an fsync fails with acknowledged
// records not yet synced: they cannot be kept, so the node is halted.
func TestFsyncFailureBatch(t *testing.T) {
	halted := make(chan error, 1)
	n, _ := fillDisk(t, t.TempDir(), &disk{failSync: true}, journal.Batch, func(err error) { halted <- err })
	defer n.Shutdown(context.Background())
	select {
	case err := <-halted:
		t.Logf("halted: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not halted")
	}
}
