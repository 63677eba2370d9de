package derive

import (
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/holiman/uint256"
)

// TestDeriveRefusesImpossibleTotals: a withdrawal larger than the total the
// Deriver holds is an error (its state does not match the journal), not a
// wrapped balance; a record out of order is an error too.
func TestDeriveRefusesImpossibleTotals(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	d := New(cfg, 0)
	d.SetTotal(1, 0, *uint256.NewInt(5))
	withdraw := func(lsn, amount uint64) pj.Record {
		return pj.Record{LSN: lsn, Events: []messages.Event{&messages.BalanceUpdated{
			User: 1, Asset: 0, Business: "withdraw", BusinessID: lsn, Change: *uint256.NewInt(amount), Negative: true, Detail: []byte(`{}`),
		}}}
	}
	r, err := d.Derive(withdraw(1, 5))
	if err != nil || len(r.Balances) != 1 || !r.Balances[0].Balance.IsZero() || string(r.Balances[0].Detail) != `{"id":1}` {
		t.Fatalf("Derive(withdraw 5 of 5) = %+v, %v; want one change leaving 0 with detail {\"id\":1}", r, err)
	}
	if _, err := d.Derive(withdraw(2, 1)); err == nil {
		t.Fatal("Derive(withdraw 1 of 0) succeeded; want an error")
	}
	if _, err := New(cfg, 0).Derive(withdraw(3, 0)); err == nil {
		t.Fatal("Derive of record 3 after 0 succeeded; want a gap error")
	}
}
