package actors

import (
	"fmt"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
)

// TestMaxOpenOrdersDefault: a market that sets no max_open_orders (or 0)
// gets DefaultMaxOpenOrders, so no user can make one cancel-all or
// dead-man's switch journal an unbounded number of cancels; -1 is the
// explicit "no limit", and the book sees it as such (not positive).
func TestMaxOpenOrdersDefault(t *testing.T) {
	for _, tc := range []struct {
		set  string
		want int // book.Config.MaxOpenOrders; <= 0: no limit
	}{{"", config.DefaultMaxOpenOrders}, {", max_open_orders: 0", config.DefaultMaxOpenOrders}, {", max_open_orders: 5", 5}, {", max_open_orders: -1", -1}} {
		doc := fmt.Sprintf("assets:\n  - {name: A, prec_save: 10}\n  - {name: B, prec_save: 10}\nmarkets:\n  - {name: AB, stock: A, money: B, stock_prec: 4, money_prec: 4%s}\n", tc.set)
		c, err := config.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if got := BookConfig(c.Markets[0]).MaxOpenOrders; got != tc.want {
			t.Errorf("market {%s}: the book's max_open_orders is %d; want %d", tc.set, got, tc.want)
		}
	}
	if config.DefaultMaxOpenOrders <= 0 || config.DefaultMaxOpenOrders > 10_000 {
		t.Errorf("DefaultMaxOpenOrders = %d", config.DefaultMaxOpenOrders)
	}
	c, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Markets {
		if got := BookConfig(m).MaxOpenOrders; got <= 0 {
			t.Errorf("default configuration, market %s: no limit of open orders", m.Name)
		}
	}
}
