package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/runtime"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/holiman/uint256"
)

// deposit is a synthetic record: one balance.update of user.
func deposit(lsn uint64, user uint32) derive.Record {
	return derive.Record{LSN: lsn, Balances: []derive.BalanceChange{{
		Time: int64(lsn), User: user, Asset: 0, Business: "deposit", Change: *uint256.NewInt(lsn), Update: true,
	}}}
}

// TestBusSlowSubscriber: a subscriber that does not read is disconnected
// once its buffer is full; Apply never waits for it, and the others get
// every event.
func TestBusSlowSubscriber(t *testing.T) {
	bus := events.NewBus(testCfg(t), 100)
	if c, _ := bus.Cursor(context.Background()); c != 100 {
		t.Fatalf("Cursor = %d; want the start LSN 100", c)
	}
	slow := bus.Subscribe(events.AllKinds, 4)
	const n = 1000
	fast := bus.Subscribe(events.KindBalances, n)
	var got []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range fast.Events() {
			got = append(got, ev.LSN)
		}
	}()
	for lsn := uint64(101); lsn <= 100+n; lsn += 10 {
		var rs []derive.Record
		for i := uint64(0); i < 10; i++ {
			rs = append(rs, deposit(lsn+i, uint32((lsn+i)%7)))
		}
		if err := bus.Apply(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
	}
	if c, _ := bus.Cursor(context.Background()); c != 100+n {
		t.Errorf("Cursor = %d; want %d", c, 100+n)
	}
	// The slow one was dropped after its 4 buffered events, which it can
	// still drain.
	var drained int
	for range slow.Events() {
		drained++
	}
	if drained != 4 || !errors.Is(slow.Err(), events.ErrSlow) {
		t.Errorf("slow subscriber drained %d events, Err %v; want 4, ErrSlow", drained, slow.Err())
	}
	if st := bus.Stats(); st.Slow != 1 || st.Records != n {
		t.Errorf("Stats = %+v; want 1 slow, %d records", st, n)
	}
	fast.Close()
	<-done
	if fast.Err() != nil {
		t.Errorf("fast.Err() = %v after Close; want nil", fast.Err())
	}
	if len(got) != n {
		t.Fatalf("fast subscriber got %d events; want %d (Err %v)", len(got), n, fast.Err())
	}
	for i, lsn := range got {
		if lsn != uint64(101+i) {
			t.Fatalf("event %d has LSN %d; want %d", i, lsn, 101+i)
		}
	}
}

// TestBusNeverBlocks: with a subscriber that never reads, a burst of
// Applies completes at once.
func TestBusNeverBlocks(t *testing.T) {
	bus := events.NewBus(testCfg(t), 0)
	stuck := bus.Subscribe(events.AllKinds, 1)
	done := make(chan error)
	go func() {
		for lsn := uint64(1); lsn <= 10000; lsn++ {
			if err := bus.Apply(context.Background(), []derive.Record{deposit(lsn, 1)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Apply blocked on a subscriber that does not read")
	}
	if !errors.Is(stuck.Err(), events.ErrSlow) {
		t.Errorf("stuck.Err() = %v; want ErrSlow", stuck.Err())
	}
}

// TestBusKindsAndCopies: a subscription gets only records of its kinds;
// events survive the caller reusing its records; Close ends everyone.
func TestBusKindsAndCopies(t *testing.T) {
	bus := events.NewBus(testCfg(t), 0)
	deals := bus.Subscribe(events.KindDeals, 16)
	orders := bus.Subscribe(events.KindOrders|events.KindDeals, 16)
	trade := derive.Record{LSN: 2,
		Balances: []derive.BalanceChange{{User: 1, Asset: 0, Business: "trade"}},
		Orders:   []derive.OrderChange{{Event: derive.OrderFinish, Order: messages.Order{ID: 9, Market: 1, User: 1}}},
		Deals:    []*messages.Trade{{Market: 1, DealID: 5, AskOrder: 8, BidOrder: 9}},
	}
	put := derive.Record{LSN: 3, Orders: []derive.OrderChange{{Event: derive.OrderPut, Order: messages.Order{ID: 10, Market: 2}}}}
	records := []derive.Record{deposit(1, 1), trade, put}
	if err := bus.Apply(context.Background(), records); err != nil {
		t.Fatal(err)
	}
	records[1] = derive.Record{LSN: 99} // the caller reuses its slice
	bus.Close()
	lsns := func(s *events.Subscription) (out []uint64) {
		for ev := range s.Events() {
			out = append(out, ev.LSN)
			if ev.Record.LSN != ev.LSN {
				t.Errorf("event %d carries record %d", ev.LSN, ev.Record.LSN)
			}
			for _, m := range ev.Messages {
				if m.LSN != ev.LSN {
					t.Errorf("event %d carries a message of record %d", ev.LSN, m.LSN)
				}
			}
			if ev.LSN == 2 && (len(ev.Messages) != 2 || ev.Messages[0].Topic != events.Orders || ev.Messages[1].Topic != events.Deals ||
				ev.Messages[1].Key != "ETHUSDT") {
				t.Errorf("event 2 messages = %+v; want an orders then a deals message keyed ETHUSDT", ev.Messages)
			}
		}
		if !errors.Is(s.Err(), events.ErrBusClosed) {
			t.Errorf("Err() = %v; want ErrBusClosed", s.Err())
		}
		return out
	}
	if got := lsns(deals); len(got) != 1 || got[0] != 2 {
		t.Errorf("deals subscription got %v; want [2]", got)
	}
	if got := lsns(orders); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("orders|deals subscription got %v; want [2 3]", got)
	}
	late := bus.Subscribe(events.AllKinds, 1)
	if _, open := <-late.Events(); open || !errors.Is(late.Err(), events.ErrBusClosed) {
		t.Errorf("Subscribe after Close: open %v, Err %v; want closed, ErrBusClosed", open, late.Err())
	}
}

// TestBusSession: on a real node, a subscriber of the bus gets every
// record after the bus's start, with the messages the reference computes
// from the journal, in order per key; subscribers come and go meanwhile.
func TestBusSession(t *testing.T) {
	cfg := testCfg(t)
	dir := t.TempDir()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}})
	defer n.Shutdown(context.Background())
	workload(t, n, 5, 60, 1_700_000_000_000_000) // before the bus: not seen
	start := n.Feed.Durable()
	bus := events.NewBus(cfg, start)
	sub := bus.Subscribe(events.AllKinds, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := n.Feed.Follow(ctx, bus, 8, testenv.Quiet())

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // churn: short-lived subscribers, some never reading
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s := bus.Subscribe(events.Kinds(1+i%7), 1+i%3)
			time.Sleep(time.Millisecond)
			s.Close()
		}
	}()
	workload(t, n, 6, 300, 1_700_000_100_000_000)
	last := n.Journal.LastLSN()
	testnode.WaitCursor(t, "publisher", last, run.Cursor)
	close(stop)
	wg.Wait()
	sub.Close()

	var taken []got
	var records []uint64
	for ev := range sub.Events() {
		records = append(records, ev.LSN)
		for _, m := range ev.Messages {
			taken = append(taken, got{topic: m.Topic, key: m.Key, value: m.Value, lsn: m.LSN, seq: uint64(m.Seq)})
		}
	}
	if sub.Err() != nil {
		t.Fatalf("subscriber dropped: %v", sub.Err())
	}
	for i, lsn := range records {
		if lsn != start+1+uint64(i) {
			t.Fatalf("event %d has LSN %d; want %d", i, lsn, start+1+uint64(i))
		}
	}
	if len(records) != int(last-start) {
		t.Fatalf("got %d records; want %d", len(records), last-start)
	}
	var wants []want
	for _, w := range reference(t, cfg, dir, last) {
		if w.lsn > start {
			wants = append(wants, w)
		}
	}
	check(t, taken, wants) // acked is 0 here: the bus has no such header
	checkExercised(t, wants, dir, last)
}

// TestBusReliableSubscriber: a reliable subscriber with a tiny buffer that
// reads slowly still gets every event, in order (Apply waits for it); a
// cancelled context frees a waiting Apply with its error, and so does the
// subscriber's Close.
func TestBusReliableSubscriber(t *testing.T) {
	bus := events.NewBus(testCfg(t), 0)
	sub := bus.SubscribeReliable(events.AllKinds, 2)
	const n = 200
	var got []uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range sub.Events() {
			got = append(got, ev.LSN)
			if len(got)%20 == 0 {
				time.Sleep(time.Millisecond)
			}
			if len(got) == n {
				return
			}
		}
	}()
	for lsn := uint64(1); lsn <= n; lsn++ {
		if err := bus.Apply(context.Background(), []derive.Record{deposit(lsn, 1)}); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	for i, lsn := range got {
		if lsn != uint64(i+1) {
			t.Fatalf("event #%d has LSN %d: want every event in order", i+1, lsn)
		}
	}
	if len(got) != n || sub.Err() != nil || bus.Stats().Slow != 0 {
		t.Fatalf("got %d events, err %v, slow %d; want %d, nil, 0", len(got), sub.Err(), bus.Stats().Slow, n)
	}
	// Nobody reads now: the buffer fills, then Apply waits until ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var err error
	for lsn := uint64(n + 1); err == nil && lsn < n+10; lsn++ {
		err = bus.Apply(ctx, []derive.Record{deposit(lsn, 1)})
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply to a full reliable subscriber = %v; want it to wait until the context ends", err)
	}
	applied := make(chan error, 1)
	go func() { applied <- bus.Apply(context.Background(), []derive.Record{deposit(n+20, 1)}) }()
	time.Sleep(10 * time.Millisecond)
	sub.Close()
	select {
	case err := <-applied:
		if err != nil {
			t.Fatalf("Apply after the subscriber closed = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not free a waiting Apply")
	}
}
