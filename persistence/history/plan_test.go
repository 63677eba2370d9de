package history

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
)

// TestQueryPlans: every query the store sends is answered by an index
// lookup whose order is the result's — no table scan, no sort (docs/protocol.md
// D15) — according to the database's own EXPLAIN.
func TestQueryPlans(t *testing.T) {
	EachBackend(t, func(t *testing.T, b Backend) {
		s := b.Open(t, b.Options(loadConfig(t)))
		if err := s.Apply(context.Background(), session()); err != nil {
			t.Fatal(err)
		}
		db := b.Raw(t)
		type sqlFn func() (string, []any)
		queries := map[string]sqlFn{
			"balance user": func() (string, []any) { return s.balanceSQL(&messages.BalanceHistory{User: 1, Limit: 10}) },
			"balance asset": func() (string, []any) {
				return s.balanceSQL(&messages.BalanceHistory{User: 1, Asset: "BTC", Limit: 10})
			},
			"balance asset business": func() (string, []any) {
				return s.balanceSQL(&messages.BalanceHistory{User: 1, Asset: "BTC", Business: "trade", Limit: 10})
			},
			"balance business": func() (string, []any) {
				return s.balanceSQL(&messages.BalanceHistory{User: 1, Business: "trade", Limit: 10})
			},
			"balance times": func() (string, []any) {
				return s.balanceSQL(&messages.BalanceHistory{User: 1, Start: 1, End: 2, Offset: 5, Limit: 10})
			},
			"orders": func() (string, []any) {
				return s.finishedOrdersSQL(&messages.FinishedOrders{User: 1, Market: "BTCUSDT", Side: messages.Ask, Start: 1, Limit: 10})
			},
			"order detail": func() (string, []any) { return s.finishedOrderDetailSQL(&messages.FinishedOrderDetail{OrderID: ask1}) },
			"order deals":  func() (string, []any) { return s.orderDealsSQL(&messages.OrderDeals{OrderID: ask1, Limit: 10}) },
			"user deals": func() (string, []any) {
				return s.userDealsSQL(&messages.UserDeals{User: 1, Market: "BTCUSDT", Limit: 10})
			},
		}
		for name, fn := range queries {
			text, args := fn()
			if b.Path != "" {
				plan := explain(t, db, "EXPLAIN QUERY PLAN "+text, args, "detail")
				if !strings.Contains(plan, "USING INDEX") && !strings.Contains(plan, "USING INTEGER PRIMARY KEY") ||
					strings.Contains(plan, "SCAN") || strings.Contains(plan, "TEMP B-TREE") {
					t.Errorf("%s: plan %q; want an index search, no scan, no sort", name, plan)
				}
			} else {
				typ := explain(t, db, "EXPLAIN "+text, args, "type")
				extra := explain(t, db, "EXPLAIN "+text, args, "Extra")
				if (typ != "ref" && typ != "const" && typ != "range") || strings.Contains(extra, "filesort") {
					t.Errorf("%s: access %q, extra %q; want an index lookup, no filesort", name, typ, extra)
				}
			}
		}
	})
}

// explain returns the named column of every row of an EXPLAIN, joined.
func explain(t *testing.T, db *sql.DB, text string, args []any, column string) string {
	t.Helper()
	rows, err := db.Query(text, args...)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			if c == column {
				v := vals[i]
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				out = append(out, fmt.Sprint(v))
			}
		}
	}
	return strings.Join(out, "; ")
}
