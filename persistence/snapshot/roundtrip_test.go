package snapshot

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// The fields of the pure cores' state, as this test knows them: the state a
// snapshot must carry, and what is derived from it, scratch or allocation.
// A field added to book.Book or ledger.Ledger fails the test until it is
// listed here — after corestate.AppendBook/LoadBook or
// corestate.AppendLedger/LoadLedger carry it if it is state, and the round
// trips below check it.
var (
	bookState   = []string{"cfg", "lastID", "lastDID", "asks", "bids", "orders", "byUser", "buyStops", "sellStops", "byClient", "deadlines", "lastPrice", "halted"}
	bookDerived = []string{"taker", "rested", "last", "lo", "hi", "due", "own", "slab", "scratch", "freeOrders", "nfree", "freeUsers"}

	ledgerState   = []string{"cfg", "accounts", "keys", "expiry", "head", "clock"}
	ledgerDerived = []string{"spare"}
)

// checkFields fails when typ has a field outside known.
func checkFields(t *testing.T, typ reflect.Type, known ...[]string) {
	t.Helper()
	names := map[string]bool{}
	for _, k := range known {
		for _, n := range k {
			names[n] = true
		}
	}
	for i := range typ.NumField() {
		if f := typ.Field(i).Name; !names[f] {
			t.Errorf("%s has a field %q this test does not know: if it is state, carry it in the snapshot, then list it here", typ, f)
		}
	}
}

// checkCovered fails when a field of T is zero in every value of vals: the
// fixture would not show that the field survives a round trip.
func checkCovered[T any](t *testing.T, vals []T) {
	t.Helper()
	typ := reflect.TypeFor[T]()
	for i := range typ.NumField() {
		covered := false
		for _, v := range vals {
			if !reflect.ValueOf(v).Field(i).IsZero() {
				covered = true
				break
			}
		}
		if !covered {
			t.Errorf("%s.%s is zero in every fixture value: give it a value so the round trip covers it", typ, typ.Field(i).Name)
		}
	}
}

func u(v uint64) uint256.Int { return *uint256.NewInt(v) }

// TestBookRoundTrip: AppendBook then LoadBook gives back every field of the
// book state — id counters, resting orders in priority with every order
// field and option, held stop orders oldest first, the last trade price,
// the dead-man's switches — and the indexes rebuilt from them (by id, by
// client id, per user, depth) answer as the original's.
func TestBookRoundTrip(t *testing.T) {
	checkFields(t, reflect.TypeFor[book.Book](), bookState, bookDerived)
	cfg := book.Config{Market: 3, Stock: 0, Money: 1, StockPrec: 8, MoneyPrec: 2, FeePrec: 4, StockSave: 12, MoneySave: 12}
	id := func(seq uint64) uint64 { return seq<<book.IDShift | uint64(cfg.Market) }
	orders := []messages.Order{
		// Resting, in priority: asks best first, then bids best first.
		{ID: id(1), Market: 3, Type: messages.Limit, Side: messages.Ask, User: 7, CTime: 100, MTime: 150, Price: 10100, Amount: 500, TakerFee: 20, MakerFee: 10,
			Left: 400, DealStock: 100, DealMoney: u(10100), DealFee: u(10), Frozen: u(4_000_000_000), Source: "web", ClientID: "a-1", STP: messages.STPCancelMaker, PostOnly: true},
		{ID: id(2), Market: 3, Type: messages.Limit, Side: messages.Ask, User: 8, CTime: 101, MTime: 101, Price: 10200, Amount: 300, Left: 300, Frozen: u(3_000_000_000)},
		{ID: id(4), Market: 3, Type: messages.Limit, Side: messages.Bid, User: 9, CTime: 103, MTime: 160, Price: 9900, Amount: 200, Left: 200,
			Frozen: u(19_800_000_000), Source: "api", StopPrice: 9950, Triggered: true},
		// Held stop orders, oldest first.
		{ID: id(5), Market: 3, Type: messages.Limit, Side: messages.Bid, User: 9, CTime: 104, MTime: 104, Price: 12100, Amount: 100, Left: 100,
			Frozen: u(12_100_000_000), StopPrice: 12000, TIF: messages.IOC, ClientID: "stop.1"},
		{ID: id(6), Market: 3, Type: messages.Market, Side: messages.Ask, User: 7, CTime: 105, MTime: 105, Amount: 50, Left: 50,
			Frozen: u(500_000_000), StopPrice: 9000, STP: messages.STPCancelBoth},
	}
	checkCovered(t, orders)
	b := book.New(cfg)
	for _, o := range orders {
		b.Restore(o)
	}
	b.SetSeqs(6, 17)
	b.SetLastPrice(10050)
	b.RestoreDeadline(7, 1_000_000_000)
	b.RestoreDeadline(9, 2_000_000_000)
	b.SetHalted(true)

	data := corestate.AppendBook(nil, b)
	got := book.New(cfg)
	if err := LoadBook(data, got); err != nil {
		t.Fatal(err)
	}
	var back []messages.Order
	got.EachOrder(func(o *messages.Order) { back = append(back, *o) })
	if !reflect.DeepEqual(back, orders) {
		t.Errorf("orders after the round trip:\n%+v\nwant\n%+v", back, orders)
	}
	if o, d := got.Seqs(); o != 6 || d != 17 {
		t.Errorf("seqs %d, %d; want 6, 17", o, d)
	}
	if got.LastPrice() != 10050 {
		t.Errorf("last price %d; want 10050", got.LastPrice())
	}
	if !got.Halted() {
		t.Error("the halt (market.halt) was lost")
	}
	deadlines := func(bk *book.Book) map[uint32]int64 {
		m := map[uint32]int64{}
		bk.EachDeadline(func(u uint32, d int64) { m[u] = d })
		return m
	}
	if d := deadlines(got); !maps.Equal(d, map[uint32]int64{7: 1_000_000_000, 9: 2_000_000_000}) {
		t.Errorf("deadlines %v", d)
	}
	// The indexes answer as the original's.
	for _, o := range orders {
		if g := got.Order(o.ID); g == nil || !reflect.DeepEqual(*g, o) {
			t.Errorf("Order(%d) = %+v", o.ID, g)
		}
		if o.ClientID != "" {
			if g := got.OrderByClientID(o.User, o.ClientID); g == nil || g.ID != o.ID {
				t.Errorf("OrderByClientID(%d, %q) = %+v", o.User, o.ClientID, g)
			}
		}
	}
	for _, user := range []uint32{7, 8, 9} {
		n1, p1 := b.Pending(user, 0, 100)
		n2, p2 := got.Pending(user, 0, 100)
		if n1 != n2 || !reflect.DeepEqual(p1, p2) {
			t.Errorf("Pending(%d): %d %+v; want %d %+v", user, n2, p2, n1, p1)
		}
	}
	a1, b1 := b.Depth(10, 0)
	a2, b2 := got.Depth(10, 0)
	if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(b1, b2) || b.Summary() != got.Summary() {
		t.Errorf("depth or summary differ after the round trip")
	}
	if string(corestate.AppendBook(nil, got)) != string(data) {
		t.Error("the restored book encodes differently")
	}
}

// TestLedgerRoundTrip: AppendLedger then LoadLedger gives back every
// balance (available and frozen), every idempotency key with the time it
// was accepted, oldest first, and the idempotency clock; the restored
// ledger then decides and expires keys exactly as the original.
func TestLedgerRoundTrip(t *testing.T) {
	checkFields(t, reflect.TypeFor[ledger.Ledger](), ledgerState, ledgerDerived)
	cfg := ledger.Config{Assets: 3, FeeUser: 0, WindowMicros: ledger.ClockSteps * 10, Shards: 2, Shard: 1}
	l := ledger.New(cfg)
	l.Restore(1, []messages.Balance{{Available: u(5), Frozen: u(7)}, {}, {Available: u(1 << 40)}})
	l.Restore(3, []messages.Balance{{}, {Frozen: u(9)}, {}})
	checkCovered(t, []messages.Balance{{Available: u(5), Frozen: u(7)}})
	for i, tm := range []int64{1000, 1010, 1010, 1500} {
		l.RestoreKey(uint32(2*i+1), messages.AssetID(i%3), []string{"deposit", "withdraw", "", "deposit"}[i], uint64(100+i), tm)
	}
	data := corestate.AppendLedger(nil, l)
	got := ledger.New(cfg)
	if err := LoadLedger(data, got); err != nil {
		t.Fatal(err)
	}
	for _, user := range []uint32{1, 3, 5} {
		for a := range messages.AssetID(3) {
			if g, w := got.Balance(user, a), l.Balance(user, a); g != w {
				t.Errorf("user %d asset %d: %+v; want %+v", user, a, g, w)
			}
		}
	}
	type key struct {
		user     uint32
		asset    messages.AssetID
		business string
		id       uint64
		at       int64
	}
	keys := func(x *ledger.Ledger) (ks []key) {
		x.EachKey(func(u uint32, a messages.AssetID, b string, id uint64, at int64) {
			ks = append(ks, key{u, a, b, id, at})
		})
		return ks
	}
	if !slices.Equal(keys(got), keys(l)) || len(keys(l)) != 4 {
		t.Errorf("keys %v; want %v", keys(got), keys(l))
	}
	if got.Clock() != l.Clock() || l.Clock() != 1500 {
		t.Errorf("clock %d; want %d (1500)", got.Clock(), l.Clock())
	}
	// Both go on the same way: the same update is decided alike, and the
	// same keys expire.
	for _, x := range []*ledger.Ledger{l, got} {
		ev, err := x.DecideUpdate(&messages.BalanceUpdate{User: 7, Asset: 0, Business: "deposit", BusinessID: 103, Change: u(1), Time: 1 << 40})
		if err != messages.ErrRepeatUpdate || ev != nil {
			t.Errorf("repeat of a restored key: %v", err)
		}
		ev, err = x.DecideUpdate(&messages.BalanceUpdate{User: 7, Asset: 0, Business: "deposit", BusinessID: 999, Change: u(1), Time: 1 << 40})
		if err != nil {
			t.Fatal(err)
		}
		x.Apply(ev, ledger.Live)
	}
	if !slices.Equal(keys(got), keys(l)) || got.Clock() != l.Clock() || string(corestate.AppendLedger(nil, got)) != string(corestate.AppendLedger(nil, l)) {
		t.Errorf("after one more update: keys %v clock %d; want %v clock %d", keys(got), got.Clock(), keys(l), l.Clock())
	}
}

// TestFileRoundTrip: Encode then Decode gives back every field of File.
func TestFileRoundTrip(t *testing.T) {
	f := sample(42)
	f.Version = 2
	f.Config = []byte{9, 0, 4, 0, 0} // a codec-encoded ConfigSet
	checkCovered(t, []File{*f})
	got, err := Decode(f.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("Decode(Encode(f)) = %+v; want %+v", got, f)
	}
}
