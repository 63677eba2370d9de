package ledger_test

import (
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

const (
	btc messages.AssetID = 0
	usd messages.AssetID = 1
)

func newLedger(shard, shards int) *ledger.Ledger {
	return ledger.New(ledger.Config{Assets: 2, FeeUser: 0, WindowMicros: 100, Shard: shard, Shards: shards})
}

func u(v uint64) uint256.Int { return *uint256.NewInt(v) }

func deposit(t *testing.T, l *ledger.Ledger, user uint32, a messages.AssetID, v uint64, id uint64, now int64) {
	t.Helper()
	ev, err := l.DecideUpdate(&messages.BalanceUpdate{User: user, Asset: a, Business: "deposit", BusinessID: id, Change: u(v), Time: now})
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	l.Apply(ev, ledger.Live)
}

func bal(l *ledger.Ledger, user uint32, a messages.AssetID) string {
	b := l.Balance(user, a)
	return b.Available.Dec() + "/" + b.Frozen.Dec()
}

// TestDecideUpdateOrder: checks run in the documented order and the first
// failure decides; a refused update changes nothing.
func TestDecideUpdateOrder(t *testing.T) {
	l := newLedger(1, 2) // owns odd users
	deposit(t, l, 1, btc, 10, 1, 0)
	max := uint256.Int{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}
	tests := []struct {
		name string
		cmd  messages.BalanceUpdate
		want *messages.Error
	}{
		{"user 0", messages.BalanceUpdate{User: 0, Business: "deposit", BusinessID: 9, Change: u(1)}, messages.ErrInvalidArgument},
		{"user of another shard", messages.BalanceUpdate{User: 2, Business: "deposit", BusinessID: 9, Change: u(1)}, messages.ErrInvalidArgument},
		{"unknown asset", messages.BalanceUpdate{User: 1, Asset: 2, Business: "deposit", BusinessID: 9, Change: u(1)}, messages.ErrInvalidArgument},
		{"business of 31 bytes", messages.BalanceUpdate{User: 1, Business: strings.Repeat("b", 31), BusinessID: 9, Change: u(1)}, messages.ErrInvalidArgument},
		{"detail over 1 KiB", messages.BalanceUpdate{User: 1, Business: "deposit", BusinessID: 9, Change: u(1), Detail: make([]byte, 1025)}, messages.ErrInvalidArgument},
		{"repeat before shape of change", messages.BalanceUpdate{User: 1, Business: "deposit", BusinessID: 1, Change: u(100), Negative: true}, messages.ErrRepeatUpdate},
		{"withdraw too much", messages.BalanceUpdate{User: 1, Business: "withdraw", BusinessID: 9, Change: u(11), Negative: true}, messages.ErrWithdrawNotEnough},
		{"withdraw from nothing", messages.BalanceUpdate{User: 3, Business: "withdraw", BusinessID: 9, Change: u(1), Negative: true}, messages.ErrWithdrawNotEnough},
		{"deposit that overflows", messages.BalanceUpdate{User: 1, Business: "deposit", BusinessID: 9, Change: max}, messages.ErrInvalidArgument},
		{"business of 30 bytes", messages.BalanceUpdate{User: 1, Business: strings.Repeat("b", 30), BusinessID: 9, Change: u(1)}, nil},
		{"withdraw all", messages.BalanceUpdate{User: 1, Business: "withdraw", BusinessID: 9, Change: u(10), Negative: true}, nil},
		{"zero", messages.BalanceUpdate{User: 3, Business: "deposit", BusinessID: 9}, nil},
		{"empty business, as viabtc", messages.BalanceUpdate{User: 3, Business: "", BusinessID: 9, Change: u(1)}, nil},
	}
	for _, tt := range tests {
		before := bal(l, 1, btc)
		ev, err := l.DecideUpdate(&tt.cmd)
		if err != tt.want {
			t.Errorf("%s: DecideUpdate = %v; want %v", tt.name, err, tt.want)
		}
		if (ev == nil) != (tt.want != nil) {
			t.Errorf("%s: event %v with error %v", tt.name, ev, err)
		}
		if after := bal(l, 1, btc); after != before {
			t.Errorf("%s: DecideUpdate changed the balance %s → %s", tt.name, before, after)
		}
	}
}

// TestIdempotencyWindow: a key is a repeat for WindowMicros of the
// idempotency clock, then accepted again; a refused withdrawal records no
// key.
func TestIdempotencyWindow(t *testing.T) {
	l := newLedger(0, 1)
	deposit(t, l, 1, btc, 5, 1, 1000)
	cmd := messages.BalanceUpdate{User: 1, Asset: btc, Business: "deposit", BusinessID: 1, Change: u(5)}
	// The window is 100 µs, so the clock moves by at most 1 µs per update:
	// with no update applied in between, the key stays a repeat whatever
	// the time of the command.
	for _, tt := range []struct {
		now  int64
		want *messages.Error
	}{{1000, messages.ErrRepeatUpdate}, {1050, messages.ErrRepeatUpdate}, {1100, messages.ErrRepeatUpdate}, {1101, messages.ErrRepeatUpdate}, {1 << 50, messages.ErrRepeatUpdate}} {
		cmd.Time = tt.now
		if _, err := l.DecideUpdate(&cmd); err != tt.want {
			t.Errorf("at %d: DecideUpdate = %v; want %v", tt.now, err, tt.want)
		}
	}
	// Other keys differ in one part each.
	for _, c := range []messages.BalanceUpdate{
		{User: 1, Asset: usd, Business: "deposit", BusinessID: 1, Time: 1000},
		{User: 1, Asset: btc, Business: "deposit2", BusinessID: 1, Time: 1000},
		{User: 1, Asset: btc, Business: "deposit", BusinessID: 2, Time: 1000},
		{User: 2, Asset: btc, Business: "deposit", BusinessID: 1, Time: 1000},
	} {
		if _, err := l.DecideUpdate(&c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// Keys expire as later updates are applied; an expired key is accepted
	// again and then is a repeat for a new window.
	for i := range uint64(3000) {
		deposit(t, l, 3, usd, 1, 100+i, 2000+int64(i))
	}
	cmd.Time = 5000
	ev, err := l.DecideUpdate(&cmd)
	if err != nil {
		t.Fatalf("expired key: %v", err)
	}
	l.Apply(ev, ledger.Live)
	cmd.Time = 5001
	if _, err := l.DecideUpdate(&cmd); err != messages.ErrRepeatUpdate {
		t.Errorf("re-accepted key: %v; want repeat update", err)
	}
	if got := bal(l, 1, btc); got != "10/0" {
		t.Errorf("user 1 BTC = %s; want 10/0", got)
	}
	// A refused withdrawal leaves its key free.
	w := messages.BalanceUpdate{User: 4, Asset: btc, Business: "withdraw", BusinessID: 7, Change: u(1), Negative: true, Time: 6000}
	if _, err := l.DecideUpdate(&w); err != messages.ErrWithdrawNotEnough {
		t.Fatalf("withdraw: %v", err)
	}
	deposit(t, l, 4, btc, 1, 1, 6000)
	ev, err = l.DecideUpdate(&w)
	if err != nil {
		t.Fatalf("withdraw after deposit: %v", err)
	}
	l.Apply(ev, ledger.Live)
	if got := bal(l, 4, btc); got != "0/0" {
		t.Errorf("user 4 BTC = %s; want 0/0", got)
	}
}

func TestReserve(t *testing.T) {
	l := newLedger(0, 1)
	deposit(t, l, 1, usd, 100, 1, 0)
	zero := u(0)
	if err := l.Reserve(9, usd, &zero); err != nil {
		t.Errorf("Reserve(0) of an empty account = %v; want nil", err)
	}
	v := u(101)
	if err := l.Reserve(1, usd, &v); err != messages.ErrBalanceNotEnough {
		t.Errorf("Reserve(101 of 100) = %v; want balance not enough", err)
	}
	if err := l.Reserve(2, usd, &v); err != messages.ErrBalanceNotEnough {
		t.Errorf("Reserve of an empty account = %v; want balance not enough", err)
	}
	v = u(60)
	if err := l.Reserve(1, usd, &v); err != nil {
		t.Fatal(err)
	}
	if got := bal(l, 1, usd); got != "40/60" {
		t.Errorf("after Reserve(60) = %s; want 40/60", got)
	}
	v = u(25)
	l.Unreserve(1, usd, &v)
	if got := bal(l, 1, usd); got != "65/35" {
		t.Errorf("after Unreserve(25) = %s; want 65/35", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("Unreserve of more than is frozen did not panic")
		}
	}()
	v = u(36)
	l.Unreserve(1, usd, &v)
}

// TestApplyShards: each shard applies the parts of an event that concern the
// users it owns; the fee account's shard collects the fees.
func TestApplyShards(t *testing.T) {
	shards := []*ledger.Ledger{newLedger(0, 2), newLedger(1, 2)}
	deposit(t, shards[1], 1, btc, 10, 1, 0) // seller, odd
	deposit(t, shards[0], 2, usd, 1000, 1, 0)
	ask, bid := u(4), u(400) // reservations
	if err := shards[1].Reserve(1, btc, &ask); err != nil {
		t.Fatal(err)
	}
	if err := shards[0].Reserve(2, usd, &bid); err != nil {
		t.Fatal(err)
	}
	events := []messages.Event{
		&messages.Trade{AskUser: 1, BidUser: 2, Stock: btc, Money: usd,
			StockQty: u(3), Deal: u(270), AskFee: u(2), BidFee: u(1), BidFrozen: u(300)},
		&messages.OrderFinished{User: 2, Asset: usd, Release: u(100)},
		&messages.OrderFinished{User: 1, Asset: btc, Release: u(1)},
	}
	for _, ev := range events {
		for _, sh := range shards {
			sh.Apply(ev, ledger.Live)
		}
	}
	for _, tt := range []struct {
		sh   int
		user uint32
		a    messages.AssetID
		want string
	}{
		{1, 1, btc, "7/0"}, {1, 1, usd, "268/0"},
		{0, 2, btc, "2/0"}, {0, 2, usd, "730/0"},
		{0, 0, btc, "1/0"}, {0, 0, usd, "2/0"},
		{0, 1, usd, "0/0"}, {1, 2, btc, "0/0"}, {1, 0, usd, "0/0"},
	} {
		if got := bal(shards[tt.sh], tt.user, tt.a); got != tt.want {
			t.Errorf("shard %d user %d asset %d = %s; want %s", tt.sh, tt.user, tt.a, got, tt.want)
		}
	}
	var n [2]int
	for i, sh := range shards {
		sh.Each(func(user uint32, _ []messages.Balance) {
			n[i]++
			if !sh.Config().Owns(user) {
				t.Errorf("shard %d holds user %d", i, user)
			}
		})
	}
	if n != [2]int{2, 1} {
		t.Errorf("accounts per shard = %v; want [2 1]", n)
	}
}

// TestApplyModes: live, OrderPlaced does nothing (the shard reserved);
// on replay it makes the reservation.
func TestApplyModes(t *testing.T) {
	placed := &messages.OrderPlaced{Order: messages.Order{User: 1, Frozen: u(30)}, FrozenAsset: usd}
	for _, tt := range []struct {
		mode ledger.Mode
		want string
	}{{ledger.Live, "100/0"}, {ledger.Replay, "70/30"}} {
		l := newLedger(0, 1)
		deposit(t, l, 1, usd, 100, 1, 0)
		l.Apply(placed, tt.mode)
		if got := bal(l, 1, usd); got != tt.want {
			t.Errorf("mode %d: after OrderPlaced = %s; want %s", tt.mode, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	l := newLedger(0, 1)
	deposit(t, l, 1, btc, 10, 1, 0)
	deposit(t, l, 2, btc, 5, 1, 0)
	deposit(t, l, 3, usd, 7, 1, 0)
	v := u(10)
	if err := l.Reserve(1, btc, &v); err != nil {
		t.Fatal(err)
	}
	rows := l.Summary(nil)
	if len(rows) != 2 {
		t.Fatalf("Summary(all) = %d rows; want 2", len(rows))
	}
	r := rows[0]
	if r.Asset != btc || r.AvailableCount != 1 || r.Available.Uint64() != 5 || r.FrozenCount != 1 || r.Frozen.Uint64() != 10 {
		t.Errorf("BTC row = %+v; want 1 available (5), 1 frozen (10)", r)
	}
	rows = l.Summary([]messages.AssetID{usd})
	if len(rows) != 1 || rows[0].Asset != usd || rows[0].AvailableCount != 1 || rows[0].Available.Uint64() != 7 {
		t.Errorf("Summary(USD) = %+v", rows)
	}
}

// TestGrow: a ledger grown for a restore behaves as one that was not: each
// account has its own balances (those carved from the reserved room do not
// overlap, nor do later ones), and keys restored after Grow are remembered.
func TestGrow(t *testing.T) {
	grown, plain := newLedger(0, 1), newLedger(0, 1)
	grown.Grow(3, 2)
	for _, l := range []*ledger.Ledger{grown, plain} {
		for user := uint32(1); user <= 5; user++ { // more than reserved
			l.Restore(user, []messages.Balance{{Available: u(uint64(user))}, {Frozen: u(10 * uint64(user))}})
		}
		l.RestoreKey(1, btc, "deposit", 7, 50)
		deposit(t, l, 3, btc, 100, 8, 60)
		deposit(t, l, 4, usd, 5, 9, 60)
	}
	for user := uint32(1); user <= 5; user++ {
		for _, a := range []messages.AssetID{btc, usd} {
			if g, p := bal(grown, user, a), bal(plain, user, a); g != p {
				t.Errorf("user %d asset %d: grown %s, plain %s", user, a, g, p)
			}
		}
	}
	if bal(grown, 3, btc) != bal(plain, 3, btc) || bal(grown, 2, btc) == bal(grown, 3, btc) {
		t.Errorf("balances: user 2 %s, user 3 %s", bal(grown, 2, btc), bal(grown, 3, btc))
	}
	if _, err := grown.DecideUpdate(&messages.BalanceUpdate{User: 1, Asset: btc, Business: "deposit", BusinessID: 7, Change: u(1), Time: 60}); err != messages.ErrRepeatUpdate {
		t.Errorf("restored key after Grow: %v; want repeat update", err)
	}
}

// windowLedger returns a ledger whose window is ClockSteps × 100 µs: the
// idempotency clock moves by at most 100 µs per update.
func windowLedger() (*ledger.Ledger, int64, int64) {
	const step = 100
	w := int64(ledger.ClockSteps * step)
	return ledger.New(ledger.Config{Assets: 2, WindowMicros: w, Shards: 1}), w, step
}

func keysOf(l *ledger.Ledger) map[uint64]int64 {
	m := make(map[uint64]int64)
	l.EachKey(func(_ uint32, _ messages.AssetID, _ string, id uint64, at int64) { m[id] = at })
	return m
}

// TestIdempotencyBoundary: a key accepted at t0 is a repeat through
// t0 + window included, also after another update applied at exactly that
// instant (which prunes the keys that expired), and stays in the state (so
// in snapshots) until then; one µs later it has expired.
func TestIdempotencyBoundary(t *testing.T) {
	l, w, step := windowLedger()
	const t0 = 5_000_000
	deposit(t, l, 1, btc, 7, 1, t0)
	// Other updates bring the clock to t0 + window exactly, step by step.
	for i := int64(1); i <= w/step; i++ {
		deposit(t, l, 2, usd, 1, uint64(1000+i), t0+i*step)
	}
	if c := l.Clock(); c != t0+w {
		t.Fatalf("clock = %d; want %d", c, t0+w)
	}
	if at, ok := keysOf(l)[1]; !ok || at != t0 {
		t.Errorf("key accepted at t0 not in the state at t0+window: %d %v", at, ok)
	}
	again := messages.BalanceUpdate{User: 1, Asset: btc, Business: "deposit", BusinessID: 1, Change: u(7), Time: t0 + w}
	if _, err := l.DecideUpdate(&again); err != messages.ErrRepeatUpdate {
		t.Fatalf("repeat at t0+window: %v; want repeat update", err)
	}
	// One µs later, the key has expired: accepted again, and the update
	// that moved the clock there pruned it.
	deposit(t, l, 2, usd, 1, 999, t0+w+1)
	if _, ok := keysOf(l)[1]; ok {
		t.Errorf("key accepted at t0 still in the state at t0+window+1")
	}
	again.Time = t0 + w + 1
	if _, err := l.DecideUpdate(&again); err != nil {
		t.Errorf("repeat at t0+window+1: %v; want accepted", err)
	}
	if got := bal(l, 1, btc); got != "7/0" {
		t.Errorf("user 1 BTC = %s; want 7/0", got)
	}
}

// TestIdempotencyClockJump: a wall clock that jumps forward far past the
// window does not expire the keys at once: an old re-send after the jump is
// still a repeat. The idempotency clock moves toward the new time by at
// most window/ClockSteps per update, never goes back, and keys do expire
// once it has really passed their window.
func TestIdempotencyClockJump(t *testing.T) {
	l, w, step := windowLedger()
	const t0 = 5_000_000
	deposit(t, l, 1, btc, 7, 1, t0)
	jump := int64(t0 + 1000*w)
	deposit(t, l, 2, usd, 1, 2, jump)
	if c := l.Clock(); c != t0+step {
		t.Errorf("clock after a jump = %d; want %d", c, t0+step)
	}
	resend := messages.BalanceUpdate{User: 1, Asset: btc, Business: "deposit", BusinessID: 1, Change: u(7), Time: jump}
	if _, err := l.DecideUpdate(&resend); err != messages.ErrRepeatUpdate {
		t.Fatalf("re-send after a forward jump: %v; want repeat update", err)
	}
	// A backward jump does not move the clock back.
	deposit(t, l, 2, usd, 1, 3, 1)
	if c := l.Clock(); c != t0+step {
		t.Errorf("clock after a backward jump = %d; want %d", c, t0+step)
	}
	// ClockSteps more updates later the window has passed on the clock.
	for i := uint64(0); i < ledger.ClockSteps; i++ {
		deposit(t, l, 2, usd, 1, 10+i, jump)
	}
	if _, err := l.DecideUpdate(&resend); err != nil {
		t.Errorf("re-send once the clock passed the window: %v; want accepted", err)
	}
	if _, ok := keysOf(l)[1]; ok {
		t.Errorf("expired key still remembered")
	}
}

// TestIdempotencyClockRestore: the clock is the newest key's time, so a
// ledger restored from the keys a snapshot records goes on exactly as the
// original.
func TestIdempotencyClockRestore(t *testing.T) {
	l, w, _ := windowLedger()
	deposit(t, l, 1, btc, 1, 1, 1000)
	deposit(t, l, 1, btc, 1, 2, 1000+100*w)
	r := ledger.New(*l.Config())
	l.EachKey(r.RestoreKey)
	if r.Clock() != l.Clock() {
		t.Fatalf("restored clock %d; want %d", r.Clock(), l.Clock())
	}
	for _, x := range []*ledger.Ledger{l, r} {
		deposit(t, x, 1, btc, 1, 3, 1000+200*w)
	}
	if r.Clock() != l.Clock() || len(keysOf(r)) != len(keysOf(l)) {
		t.Errorf("restored ledger diverged: clock %d/%d keys %v/%v", r.Clock(), l.Clock(), keysOf(r), keysOf(l))
	}
}
