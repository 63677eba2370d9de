package messages

import (
	"fmt"
	"testing"
)

func TestScope(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		want string // market (-1: none), users, fee
	}{
		{&BalanceUpdated{User: 4}, "-1 [4] false"},
		{&OrderPlaced{Order: Order{Market: 2, User: 4}}, "2 [4] false"},
		{&Trade{Market: 2, AskUser: 4, BidUser: 5}, "2 [4 5] true"},
		{&OrderRested{Market: 2}, "2 [] false"},
		{&OrderFinished{Market: 2, User: 4}, "2 [4] false"},
		{&StopTriggered{Market: 2}, "2 [] false"},
		{&OrderAmended{Market: 2, User: 4}, "2 [4] false"},
		{&CancelAfterSet{Market: 2, User: 4}, "2 [] false"},
		{&MarketHalted{Market: 2}, "2 [] false"},
		{&ConfigSet{}, "-1 [] false"},
	} {
		s := c.ev.Scope()
		m := -1
		if s.Book {
			m = int(s.Market)
		}
		if got := fmt.Sprint(m, " ", s.Users(), " ", s.Fee); got != c.want {
			t.Errorf("%T: %s; want %s", c.ev, got, c.want)
		}
	}
}

func TestScopeShards(t *testing.T) {
	for _, c := range []struct {
		ask, bid, fee, n uint32
		want             string
	}{
		{1, 2, 3, 4, "[1 2 3]"},
		{1, 5, 9, 4, "[1]"},
		{6, 2, 3, 4, "[2 3]"},
		{1, 2, 2, 4, "[1 2]"},
		{7, 8, 9, 1, "[0]"},
	} {
		s := (&Trade{AskUser: c.ask, BidUser: c.bid}).Scope()
		shards, k := s.Shards(c.n, c.fee)
		if got := fmt.Sprint(shards[:k]); got != c.want {
			t.Errorf("trade %d/%d fee %d of %d shards: %s; want %s", c.ask, c.bid, c.fee, c.n, got, c.want)
		}
	}
	s := (&OrderRested{}).Scope()
	if _, k := s.Shards(4, 1); k != 0 {
		t.Errorf("OrderRested touches %d shards", k)
	}
}
