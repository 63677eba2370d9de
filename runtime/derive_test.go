package runtime_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// TestDerive derives a seeded session's whole journal and checks the
// derived records against the state the journal recovers to: the last
// balance of every (user, asset) is the ledger's total and the sum of its
// changes; the orders left open are the books' orders, field for field;
// every order finishes at most once, with its fills summed; each fill of a
// maker is announced as UPDATE unless it finished the maker. A Deriver
// restored from the state at a middle LSN derives the rest exactly as the
// one that derived everything.
func TestDerive(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 41, 2000)
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	state, backend, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	backend.Close()
	var records []pj.Record
	if err := pj.ReadFiles(runtime.JournalDir(dir), 0, state.LastLSN, func(r pj.Record) error {
		records = append(records, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	d := derive.New(cfg, 0)
	var all []derive.Record
	for _, r := range records {
		dr, err := d.Derive(r)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, dr)
	}

	last := map[account]uint256.Int{}
	for _, dr := range all {
		for _, c := range dr.Balances {
			last[account{c.User, c.Asset}] = c.Balance
		}
	}
	totals := checkChangesSumToLedgers(t, state, all)
	for k, want := range totals {
		if got := last[k]; got != want {
			t.Errorf("user %d asset %d: last derived balance %s; ledger total %s", k.user, k.asset, got.Dec(), want.Dec())
		}
	}
	for k, v := range last {
		if _, ok := totals[k]; !ok && !v.IsZero() {
			t.Errorf("user %d asset %d: derived balance %s; the ledger has none", k.user, k.asset, v.Dec())
		}
	}

	// Orders: fills per order from the Trade events themselves.
	filled := map[uint64]int64{}
	open := map[uint64]messages.Order{}
	finished := map[uint64]bool{}
	puts, updates, finishes := 0, 0, 0
	for i, dr := range all {
		for _, ev := range records[i].Events {
			if tr, ok := ev.(*messages.Trade); ok {
				filled[tr.AskOrder] += tr.Amount
				filled[tr.BidOrder] += tr.Amount
			}
		}
		for _, oc := range dr.Orders {
			o := oc.Order
			switch oc.Event {
			case derive.OrderPut:
				puts++
				open[o.ID] = o
			case derive.OrderUpdate:
				updates++
				if o.Left <= 0 {
					t.Errorf("LSN %d: UPDATE of order %d with nothing left", dr.LSN, o.ID)
				}
				open[o.ID] = o
			case derive.OrderFinish:
				finishes++
				if finished[o.ID] {
					t.Errorf("LSN %d: order %d finished twice", dr.LSN, o.ID)
				}
				finished[o.ID] = true
				delete(open, o.ID)
			}
			if o.DealStock != filled[o.ID] {
				t.Errorf("LSN %d: order %d event %d: deal_stock %d; its trades sum to %d", dr.LSN, o.ID, oc.Event, o.DealStock, filled[o.ID])
			}
		}
	}
	if puts == 0 || updates == 0 || finishes == 0 {
		t.Fatalf("session too thin: %d PUT, %d UPDATE, %d FINISH", puts, updates, finishes)
	}
	books := map[uint64]messages.Order{}
	for _, b := range state.Books {
		b.EachOrder(func(o *messages.Order) { books[o.ID] = *o })
	}
	if len(books) == 0 {
		t.Fatal("no order rests at the end")
	}
	for id, want := range books {
		if got, ok := open[id]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("open order %d: derived %+v; book %+v", id, got, want)
		}
	}
	for id := range open {
		if _, ok := books[id]; !ok {
			t.Errorf("order %d derived open; not in any book", id)
		}
	}

	// Restore at a middle LSN, derive the rest: the same records.
	mid := uint64(len(records) / 2)
	s := runtime.NewState(cfg)
	for _, r := range records[:mid] {
		if err := s.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	d2 := s.Deriver(cfg)
	for i, r := range records[mid:] {
		dr, err := d2.Derive(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := all[int(mid)+i]; !reflect.DeepEqual(dr, want) {
			t.Fatalf("LSN %d derived after a restore at %d:\n%s\nwant\n%s", r.LSN, mid, show(dr), show(want))
		}
	}
	if _, err := d2.Derive(records[0]); err == nil {
		t.Fatal("Derive of an old record succeeded; want a gap error")
	}
}

func show(r derive.Record) string {
	return fmt.Sprintf("%+v", r)
}

// account is one user's holding of one asset.
type account struct {
	user  uint32
	asset messages.AssetID
}

// checkChangesSumToLedgers checks that the balance changes of records sum,
// per account, to the ledgers' totals (available + frozen) in state, and
// returns those (non-zero) totals.
func checkChangesSumToLedgers(t *testing.T, state *runtime.State, records []derive.Record) map[account]uint256.Int {
	t.Helper()
	sum := map[account]*uint256.Int{}
	for _, r := range records {
		for _, c := range r.Balances {
			k := account{c.User, c.Asset}
			if sum[k] == nil {
				sum[k] = new(uint256.Int)
			}
			if c.Negative {
				sum[k].Sub(sum[k], &c.Change)
			} else {
				sum[k].Add(sum[k], &c.Change)
			}
		}
	}
	totals := map[account]uint256.Int{}
	for _, l := range state.Ledgers {
		l.Each(func(user uint32, bs []messages.Balance) {
			for a := range bs {
				var total uint256.Int
				total.Add(&bs[a].Available, &bs[a].Frozen)
				k := account{user, messages.AssetID(a)}
				got := sum[k]
				if got == nil {
					got = new(uint256.Int)
				}
				if *got != total {
					t.Errorf("user %d asset %d: balance changes sum to %s; ledger total %s", user, a, got.Dec(), total.Dec())
				}
				if !total.IsZero() {
					totals[k] = total
				}
			}
		})
	}
	if len(totals) == 0 {
		t.Fatal("the session moved no money")
	}
	return totals
}
