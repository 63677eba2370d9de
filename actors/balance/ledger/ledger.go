package ledger

import (
	"fmt"
	"slices"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Config is what a ledger needs: how many assets, the fee account, the
// idempotency window and which users this shard owns (user % Shards ==
// Shard).
type Config struct {
	Assets       int
	FeeUser      uint32
	WindowMicros int64
	Shard        int
	Shards       int
}

// Owns reports whether user belongs to this shard.
func (c *Config) Owns(user uint32) bool { return int(user%uint32(c.Shards)) == c.Shard }

// MaxBusiness is the longest accepted business name, in bytes (docs/protocol.md D16).
const MaxBusiness = 30

// ClockSteps bounds how fast the idempotency clock may move: one applied
// update advances it by at most WindowMicros/ClockSteps (at least 1 µs).
// After a forward jump of the wall clock, a key accepted before the jump
// therefore stays a repeat for at least ClockSteps × (its remaining window
// ÷ the window) further updates of its shard, instead of expiring at once.
const ClockSteps = 10_000

// MaxDetail is the largest accepted detail object, in bytes (docs/protocol.md D16).
const MaxDetail = 1024

type key struct {
	user     uint32
	asset    messages.AssetID
	business string
	id       uint64
}

type keyAt struct {
	key
	time int64
}

// Ledger holds one shard's balances. Not safe for concurrent use: one shard
// actor owns it.
type Ledger struct {
	cfg      Config
	accounts map[uint32][]messages.Balance // indexed by AssetID
	keys     map[key]int64                 // accepted key → clock when accepted
	expiry   []keyAt                       // accepted keys, oldest first, from head on
	head     int
	clock    int64              // the idempotency clock: the newest key's time (see Clock)
	spare    []messages.Balance // room for new accounts (Grow)
}

// New returns an empty ledger.
func New(cfg Config) *Ledger {
	if cfg.Shards < 1 {
		cfg.Shards = 1
	}
	return &Ledger{cfg: cfg, accounts: make(map[uint32][]messages.Balance), keys: make(map[key]int64)}
}

// Config returns the ledger's configuration.
func (l *Ledger) Config() *Config { return &l.cfg }

func (l *Ledger) account(user uint32) []messages.Balance {
	a := l.accounts[user]
	if a == nil {
		if n := l.cfg.Assets; len(l.spare) >= n {
			a, l.spare = l.spare[:n:n], l.spare[n:]
		} else {
			a = make([]messages.Balance, n)
		}
		l.accounts[user] = a
	}
	return a
}

// Grow prepares a ledger for a restore of accounts more accounts and keys
// more idempotency keys: an empty account map or key map is made with room
// for them, and the new accounts' balances are carved from one allocation.
// It is a capacity hint only; the state is unchanged.
func (l *Ledger) Grow(accounts, keys int) {
	if accounts > 0 {
		if len(l.accounts) == 0 {
			l.accounts = make(map[uint32][]messages.Balance, accounts)
		}
		l.spare = make([]messages.Balance, accounts*l.cfg.Assets)
	}
	if keys > 0 && len(l.keys) == 0 {
		l.keys = make(map[key]int64, keys)
		l.expiry = slices.Grow(l.expiry, keys)
	}
}

// AddAssets grows the ledger to n assets (nothing if it has n or more):
// every account gets zero balances of the new ones. It serves a restore of
// a snapshot made before assets were appended to the configuration.
func (l *Ledger) AddAssets(n int) {
	if n <= l.cfg.Assets {
		return
	}
	for u, a := range l.accounts {
		l.accounts[u] = append(a[:len(a):len(a)], make([]messages.Balance, n-len(a))...)
	}
	l.cfg.Assets, l.spare = n, nil
}

// Balance returns a user's balance of an asset (zero if none).
func (l *Ledger) Balance(user uint32, asset messages.AssetID) messages.Balance {
	if a := l.accounts[user]; a != nil {
		return a[asset]
	}
	return messages.Balance{}
}

// DecideUpdate checks a balance update in this order and returns the event
// to apply, or the first failure with nothing changed:
//
//  1. shape (code 1): user ≥ 1 owned by this shard, known asset, business
//     at most 30 bytes (empty allowed, as viabtc), detail ≤ 1 KiB;
//  2. repeated key (code 10 "repeat update");
//  3. a withdrawal larger than available (code 11 "balance not enough");
//  4. a deposit that would overflow (code 1).
func (l *Ledger) DecideUpdate(cmd *messages.BalanceUpdate) (*messages.BalanceUpdated, *messages.Error) {
	if cmd.User == 0 || !l.cfg.Owns(cmd.User) || int(cmd.Asset) >= l.cfg.Assets ||
		len(cmd.Business) > MaxBusiness || len(cmd.Detail) > MaxDetail {
		return nil, messages.ErrInvalidArgument
	}
	k := key{cmd.User, cmd.Asset, cmd.Business, cmd.BusinessID}
	if at, seen := l.keys[k]; seen && at >= l.advance(cmd.Time)-l.cfg.WindowMicros {
		return nil, messages.ErrRepeatUpdate
	}
	b := l.Balance(cmd.User, cmd.Asset)
	if cmd.Negative {
		if b.Available.Lt(&cmd.Change) {
			return nil, messages.ErrWithdrawNotEnough
		}
	} else {
		var sum uint256.Int
		if _, over := sum.AddOverflow(&b.Available, &cmd.Change); over {
			return nil, messages.ErrInvalidArgument
		}
	}
	return &messages.BalanceUpdated{
		User: cmd.User, Asset: cmd.Asset, Business: cmd.Business, BusinessID: cmd.BusinessID,
		Change: cmd.Change, Negative: cmd.Negative && !cmd.Change.IsZero(), Detail: cmd.Detail, Time: cmd.Time,
	}, nil
}

// Reserve moves amount of asset from a user's available to frozen for an
// order in flight; code 10 "balance not enough" if available is short.
func (l *Ledger) Reserve(user uint32, asset messages.AssetID, amount *uint256.Int) *messages.Error {
	a := l.accounts[user]
	if a == nil || a[asset].Available.Lt(amount) {
		if amount.IsZero() {
			return nil
		}
		return messages.ErrBalanceNotEnough
	}
	b := &a[asset]
	b.Available.Sub(&b.Available, amount)
	b.Frozen.Add(&b.Frozen, amount)
	return nil
}

// Unreserve returns a reservation whose order the market rejected.
func (l *Ledger) Unreserve(user uint32, asset messages.AssetID, amount *uint256.Int) {
	l.release(user, asset, amount)
}

func (l *Ledger) release(user uint32, asset messages.AssetID, amount *uint256.Int) {
	if amount.IsZero() {
		return
	}
	b := &l.account(user)[asset]
	sub(&b.Frozen, amount, user, asset)
	b.Available.Add(&b.Available, amount)
}

// Mode says whether Apply runs live or on replay.
type Mode uint8

// Apply modes.
const (
	// Live: the shard already reserved the funds of an OrderPlaced.
	Live Mode = iota
	// Replay: OrderPlaced freezes the reservation itself.
	Replay
)

// Apply mutates the ledger by one event, for the users this shard owns.
func (l *Ledger) Apply(ev messages.Event, mode Mode) {
	switch e := ev.(type) {
	case *messages.BalanceUpdated:
		if !l.cfg.Owns(e.User) {
			return
		}
		b := &l.account(e.User)[e.Asset]
		if e.Negative {
			sub(&b.Available, &e.Change, e.User, e.Asset)
		} else {
			b.Available.Add(&b.Available, &e.Change)
		}
		l.remember(key{e.User, e.Asset, e.Business, e.BusinessID}, l.advance(e.Time))
	case *messages.OrderPlaced:
		if mode == Replay && l.cfg.Owns(e.Order.User) {
			b := &l.account(e.Order.User)[e.FrozenAsset]
			sub(&b.Available, &e.Order.Frozen, e.Order.User, e.FrozenAsset)
			b.Frozen.Add(&b.Frozen, &e.Order.Frozen)
		}
	case *messages.Trade:
		l.applyTrade(e)
	case *messages.OrderFinished:
		if l.cfg.Owns(e.User) {
			l.release(e.User, e.Asset, &e.Release)
		}
	case *messages.OrderAmended:
		if l.cfg.Owns(e.User) {
			l.release(e.User, e.Asset, &e.Release)
		}
	}
}

func (l *Ledger) applyTrade(e *messages.Trade) {
	var t uint256.Int
	if l.cfg.Owns(e.AskUser) {
		a := l.account(e.AskUser)
		sub(&a[e.Stock].Frozen, &e.StockQty, e.AskUser, e.Stock)
		t.Sub(&e.Deal, &e.AskFee)
		a[e.Money].Available.Add(&a[e.Money].Available, &t)
	}
	if l.cfg.Owns(e.BidUser) {
		a := l.account(e.BidUser)
		sub(&a[e.Money].Frozen, &e.BidFrozen, e.BidUser, e.Money)
		t.Sub(&e.BidFrozen, &e.Deal)
		a[e.Money].Available.Add(&a[e.Money].Available, &t)
		t.Sub(&e.StockQty, &e.BidFee)
		a[e.Stock].Available.Add(&a[e.Stock].Available, &t)
	}
	if l.cfg.Owns(l.cfg.FeeUser) && !(e.AskFee.IsZero() && e.BidFee.IsZero()) {
		a := l.account(l.cfg.FeeUser)
		a[e.Money].Available.Add(&a[e.Money].Available, &e.AskFee)
		a[e.Stock].Available.Add(&a[e.Stock].Available, &e.BidFee)
	}
}

// Clock returns the idempotency clock: the time, in µs, at which the newest
// key was accepted (0 before the first update). Keys expire by this clock,
// not by the wall clock. It follows the journaled time of the applied
// updates (BalanceUpdated.Time) but is monotone and moves by at most
// WindowMicros/ClockSteps per update: see advance. Being the newest key's
// time, it is part of the state that snapshots keep (RestoreKey).
func (l *Ledger) Clock() int64 { return l.clock }

// advance returns the idempotency clock once an update of time t is
// applied: the first update sets it to t; later ones move it toward t,
// never back and by at most WindowMicros/ClockSteps. A key accepted at
// clock a is a repeat while a ≥ clock − WindowMicros: through the very
// instant a + WindowMicros included.
func (l *Ledger) advance(t int64) int64 {
	c := l.clock
	if c == 0 && len(l.keys) == 0 {
		return t
	}
	if t <= c {
		return c
	}
	step := max(l.cfg.WindowMicros/ClockSteps, 1)
	if t-c > step {
		return c + step
	}
	return t
}

func (l *Ledger) remember(k key, now int64) {
	// Forget the keys that are no longer repeats at now (see advance): the
	// ones accepted strictly before now - window.
	l.clock = now
	cut := now - l.cfg.WindowMicros
	for l.head < len(l.expiry) && l.expiry[l.head].time < cut {
		if e := l.expiry[l.head]; l.keys[e.key] == e.time {
			delete(l.keys, e.key)
		}
		l.expiry[l.head] = keyAt{}
		l.head++
	}
	if l.head > 1024 && l.head > len(l.expiry)/2 {
		l.expiry = append(l.expiry[:0], l.expiry[l.head:]...)
		l.head = 0
	}
	l.keys[k] = now
	l.expiry = append(l.expiry, keyAt{k, now})
}

// sub subtracts y from x; a shortfall means an event was applied to a state
// it was not decided against, which is a bug, never bad input.
func sub(x, y *uint256.Int, user uint32, asset messages.AssetID) {
	if x.Lt(y) {
		panic(fmt.Sprintf("ledger: user %d asset %d: %s < %s", user, asset, x.Dec(), y.Dec()))
	}
	x.Sub(x, y)
}

// Summary sums the shard's balances of the given assets (all if empty).
func (l *Ledger) Summary(assets []messages.AssetID) []messages.AssetSummaryRow {
	if len(assets) == 0 {
		for i := 0; i < l.cfg.Assets; i++ {
			assets = append(assets, messages.AssetID(i))
		}
	}
	rows := make([]messages.AssetSummaryRow, len(assets))
	for i, a := range assets {
		rows[i].Asset = a
	}
	for _, acct := range l.accounts {
		for i, a := range assets {
			b := &acct[a]
			r := &rows[i]
			if !b.Available.IsZero() {
				r.AvailableCount++
				r.Available.Add(&r.Available, &b.Available)
			}
			if !b.Frozen.IsZero() {
				r.FrozenCount++
				r.Frozen.Add(&r.Frozen, &b.Frozen)
			}
		}
	}
	return rows
}

// Each calls f for every account (in map order; callers that need a stable
// order sort).
func (l *Ledger) Each(f func(user uint32, balances []messages.Balance)) {
	for u, a := range l.accounts {
		f(u, a)
	}
}

// EachSorted calls f for every account with a non-zero balance, by user id
// ascending: the deterministic traversal behind the state hash.
func (l *Ledger) EachSorted(f func(user uint32, balances []messages.Balance)) {
	users := make([]uint32, 0, len(l.accounts))
	for u, a := range l.accounts {
		for i := range a {
			if !a[i].Available.IsZero() || !a[i].Frozen.IsZero() {
				users = append(users, u)
				break
			}
		}
	}
	slices.Sort(users)
	for _, u := range users {
		f(u, l.accounts[u])
	}
}

// EachKey calls f for every remembered idempotency key, oldest first.
func (l *Ledger) EachKey(f func(user uint32, asset messages.AssetID, business string, id uint64, time int64)) {
	for _, e := range l.expiry[l.head:] {
		if l.keys[e.key] == e.time {
			f(e.user, e.asset, e.business, e.id, e.time)
		}
	}
}

// Restore sets a user's balances as a snapshot recorded them.
func (l *Ledger) Restore(user uint32, balances []messages.Balance) {
	a := l.account(user)
	copy(a, balances)
}

// RestoreKey remembers an idempotency key as a snapshot recorded it; keys
// must come oldest first (EachKey's order). The idempotency clock becomes
// the newest restored key's time.
func (l *Ledger) RestoreKey(user uint32, asset messages.AssetID, business string, id uint64, time int64) {
	k := key{user, asset, business, id}
	l.clock = max(l.clock, time)
	l.keys[k] = time
	l.expiry = append(l.expiry, keyAt{k, time})
}
