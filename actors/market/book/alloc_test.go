package book_test

import (
	"reflect"
	"testing"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// matchPath is the book's hot path on BTCUSDT: a resting ask, a bid that
// fills it (placed, trade, two finished), and a resting bid cancelled
// again, on a book with resting orders on both sides. Every command reuses
// one command struct, as the market actor's caller owns its message.
type matchPath struct {
	b      *book.Book
	put    messages.PutLimit
	cancel messages.Cancel
	now    int64
	t      testing.TB
}

func newMatchPath(t testing.TB) *matchPath {
	p := &matchPath{b: book.New(actors.BookConfig(coretest.DefaultConfig().Markets[0])), t: t}
	for i := range int64(100) {
		p.limit(1+uint32(i%7), messages.Ask, 20000+i, btcUnit)
		p.limit(1+uint32(i%7), messages.Bid, 9900-i, btcUnit)
	}
	return p
}

func (p *matchPath) limit(user uint32, side messages.Side, price, amount int64) ([]messages.Event, messages.Order) {
	p.now++
	p.put = messages.PutLimit{User: user, Side: side, Amount: amount, Price: price, TakerFee: 20, MakerFee: 10, Time: p.now}
	events, o, err := p.b.Execute(&p.put)
	if err != nil {
		p.t.Fatalf("put_limit: %v", err)
	}
	return events, *o
}

func (p *matchPath) run() {
	p.limit(11, messages.Ask, 15000, btcUnit)
	if _, o := p.limit(12, messages.Bid, 15000, btcUnit); o.Left != 0 {
		p.t.Fatalf("taker left %d", o.Left)
	}
	_, o := p.limit(13, messages.Bid, 9950, btcUnit)
	p.now++
	p.cancel = messages.Cancel{User: 13, OrderID: o.ID, Time: p.now}
	if _, _, err := p.b.Execute(&p.cancel); err != nil {
		p.t.Fatalf("cancel: %v", err)
	}
}

// TestMatchPathAllocs guards the match path against allocations. The book
// recycles its orders and levels and reuses its scratch buffer, so a
// command allocates nothing of its own; the events it returns come from
// slab chunks of ~16 KiB (one chunk per 68 Trades, 81 OrderPlaced, 227
// OrderFinished, 682 OrderRested, 1,024 event-slice entries), so the true
// cost is amortized: about 20 chunks per 256 runs of matchPath.run (9
// events each), which testing.AllocsPerRun, an integer average, reports as
// 0. One allocation per command or per event would make it ≥ 1.
func TestMatchPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	p := newMatchPath(t)
	for range 1000 { // fill free lists, map and scratch capacity
		p.run()
	}
	if n := testing.AllocsPerRun(256, p.run); n != 0 {
		t.Fatalf("match path: %v allocs per run (place resting, cross one maker, place and cancel); want 0", n)
	}
}

// TestEventsImmutable checks that the events of a command stay as they
// were while the book runs later commands (they are shared with the
// journal and the shards after Execute returns), and that appending to a
// returned slice cannot write into another command's events.
func TestEventsImmutable(t *testing.T) {
	p := newMatchPath(t)
	type kept struct {
		events []messages.Event
		copies []any
	}
	var all []kept
	deep := func(events []messages.Event) []any {
		var out []any
		for _, ev := range events {
			switch e := ev.(type) {
			case *messages.OrderPlaced:
				out = append(out, *e)
			case *messages.Trade:
				out = append(out, *e)
			case *messages.OrderRested:
				out = append(out, *e)
			case *messages.OrderFinished:
				out = append(out, *e)
			default:
				t.Fatalf("unexpected event %T", ev)
			}
		}
		return out
	}
	for i := range 2000 {
		// Alternate sweeps of several makers with single fills and rests.
		n := int64(1 + i%5)
		for range n {
			events, _ := p.limit(11, messages.Ask, 15000, btcUnit)
			all = append(all, kept{events, deep(events)})
		}
		events, _ := p.limit(12, messages.Bid, 15000, n*btcUnit)
		if len(events) != 2+2*int(n) {
			t.Fatalf("sweep of %d makers: %d events", n, len(events))
		}
		if cap(events) != len(events) {
			t.Fatalf("events: cap %d > len %d", cap(events), len(events))
		}
		all = append(all, kept{events, deep(events)})
		_ = append(events, nil)
	}
	for i, k := range all {
		if got := deep(k.events); !reflect.DeepEqual(got, k.copies) {
			t.Fatalf("command %d: events changed after later commands:\nnow  %+v\nwere %+v", i, got, k.copies)
		}
	}
}

// TestRestorePending restores one user's orders out of id order (a
// snapshot lists them by price priority) and checks that Pending lists them
// newest first, also after live orders follow and some are cancelled.
func TestRestorePending(t *testing.T) {
	cfg := actors.BookConfig(coretest.DefaultConfig().Markets[0])
	b := book.New(cfg)
	const user = 5
	seqs := []uint64{7, 3, 9, 1, 8, 2, 6, 4, 5}
	for i, s := range seqs {
		b.Restore(messages.Order{
			ID: s<<book.IDShift | uint64(cfg.Market), Market: cfg.Market, Type: messages.Limit,
			Side: messages.Ask, User: user, Price: 20000 + int64(i%3), Amount: btcUnit, Left: btcUnit,
			Frozen: *fixedStock(cfg, btcUnit),
		})
	}
	b.SetSeqs(9, 0)
	ids := func() []uint64 {
		total, list := b.Pending(user, 0, 100)
		var out []uint64
		for _, o := range list {
			out = append(out, o.ID>>book.IDShift)
		}
		if total != len(out) {
			t.Fatalf("pending total %d, listed %d", total, len(out))
		}
		return out
	}
	if got, want := ids(), []uint64{9, 8, 7, 6, 5, 4, 3, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore: pending %v; want %v", got, want)
	}
	for _, s := range []uint64{9, 1, 5} {
		if _, _, err := b.Execute(&messages.Cancel{Market: cfg.Market, User: user, OrderID: s<<book.IDShift | uint64(cfg.Market), Time: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := b.Execute(&messages.PutLimit{Market: cfg.Market, User: user, Side: messages.Ask, Amount: btcUnit, Price: 20005, Time: 2}); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(), []uint64{10, 8, 7, 6, 4, 3, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after cancels and a new order: pending %v; want %v", got, want)
	}
	if _, list := b.Pending(user, 2, 3); len(list) != 3 || list[0].ID>>book.IDShift != 7 || list[2].ID>>book.IDShift != 4 {
		t.Fatalf("pending offset 2 limit 3: %v", list)
	}
}

func fixedStock(c book.Config, amount int64) *uint256.Int {
	_, r := c.Reservation(messages.Limit, messages.Ask, amount, 1)
	return &r
}
