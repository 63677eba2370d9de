package book_test

import (
	"testing"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
)

// TestMaxOpenOrders: a limit order whose remainder would rest beyond the
// user's max_open_orders is refused with code 8 and changes nothing; orders
// that do not rest, and other users, are not affected.
func TestMaxOpenOrders(t *testing.T) {
	cfg := actors.BookConfig(coretest.DefaultConfig().Markets[0])
	cfg.MaxOpenOrders = 2
	b := book.New(cfg)
	now := int64(0)
	put := func(user uint32, side messages.Side, price, amount int64) (messages.Order, *messages.Error) {
		now++
		events, o, err := b.Execute(&messages.PutLimit{User: user, Market: cfg.Market, Side: side, Price: price, Amount: amount, Time: now})
		if err != nil {
			return messages.Order{}, err
		}
		if len(events) == 0 {
			t.Fatalf("accepted without events")
		}
		return *o, nil
	}
	unit := cfg.MinAmount * 10
	for i := range 2 {
		if _, err := put(1, messages.Bid, 100+int64(i), unit); err != nil {
			t.Fatalf("bid %d: %v", i, err)
		}
	}
	// User 2 rests an ask at 200. Then user 1 tries a third resting bid,
	// and one that would trade part and rest the rest.
	if _, err := put(2, messages.Ask, 200, unit); err != nil {
		t.Fatal(err)
	}
	state := string(corestate.AppendBook(nil, b))
	for _, tc := range []struct {
		name          string
		price, amount int64
	}{{"resting", 99, unit}, {"partly filled", 200, 2 * unit}} {
		if _, err := put(1, messages.Bid, tc.price, tc.amount); err != messages.ErrLimitExceeded {
			t.Errorf("%s bid over the limit: %v; want code 8", tc.name, err)
		}
		if got := string(corestate.AppendBook(nil, b)); got != state {
			t.Errorf("%s bid over the limit changed the book", tc.name)
		}
	}
	// Fully filled at once: nothing rests, so the limit does not apply.
	if o, err := put(1, messages.Bid, 200, unit); err != nil || o.Left != 0 {
		t.Errorf("filling bid at the limit: %+v %v", o, err)
	}
	// Another user has an allowance of their own.
	if _, err := put(3, messages.Bid, 98, unit); err != nil {
		t.Errorf("user 3: %v", err)
	}
	// A cancel frees a place.
	total, orders := b.Pending(1, 0, 10)
	if total != 2 {
		t.Fatalf("user 1 has %d open orders; want 2", total)
	}
	now++
	if _, _, err := b.Execute(&messages.Cancel{User: 1, Market: cfg.Market, OrderID: orders[0].ID, Time: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := put(1, messages.Bid, 97, unit); err != nil {
		t.Errorf("after a cancel: %v", err)
	}
	// Unlimited by default.
	cfg.MaxOpenOrders = 0
	b = book.New(cfg)
	for i := range 50 {
		if _, err := put(1, messages.Bid, 100+int64(i), unit); err != nil {
			t.Fatalf("no limit, bid %d: %v", i, err)
		}
	}
}
