package coretest

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/shopspring/decimal"
)

// Ref is a plain reference implementation of viabtc's matching (docs/protocol.md "Order object"
// and Order semantics) with Bourse's decisions and order options, written with
// shopspring/decimal only: its own book of sorted slices, balances as
// decimals truncated (ROUND_DOWN) to prec_save on every change. It shares
// nothing with the fixed-point cores but the configuration (and the number
// of market bits in an id), and is written for clarity, not speed.
//
// Decisions followed: fees are credited to the fee account (docs/protocol.md D3), so a fee is
// truncated to prec_save once and that amount is both charged and credited,
// and deal_fee sums the fees actually charged; a market buy's amount is money
// at money_prec (D8); cancel sets mtime (D7); user 0 cannot trade or update
// balances (D9); the taker's funds are reserved up front and released at the
// end, which leaves the same balances as viabtc's spending from available.
//
// Order options (README "Order options"): time in force (IOC cancels what
// is left, FOK is refused with code 12 unless it fills at once), post-only
// (code 13 if it would take), self-trade prevention, client order ids
// (code 14 if one of the user's open orders in the market has it), stop
// orders (held with their funds frozen until a trade prints at or beyond
// the stop price; code 15 if the last price already did; triggered within
// the command whose trades reached them, oldest first, round after round,
// each then handled as a new order of its type whose refusal is a
// cancellation), amend (a smaller amount in place) and the dead-man's
// switch. A command that fails after matching (a remainder that would
// overflow its side, or code 8) is tried on a copy of the state that is
// then thrown away.
type Ref struct {
	Cfg     *config.Config
	markets []*refMarket
	bal     map[uint32][]RefBalance
	keys    map[refKey]bool
	events  []RefEvent // the command's, in journal order
	// Stats counts what the commands reached (see RefStats).
	Stats RefStats
}

// RefStats counts what the commands run so far reached: stop orders
// triggered, commands whose triggers went on for more than one round
// (cascades), triggered stops that were cancelled instead (a refusal at
// trigger), amends, dead-man's switches fired, makers and takers cancelled
// by self-trade prevention, and each refusal code.
type RefStats struct {
	Triggers, Cascades, TriggerCancels, Amends, Fired, STPMakers, STPTakers int
	Codes                                                                   map[int]int
}

// RefBalance is one (user, asset) holding.
type RefBalance struct{ Available, Frozen decimal.Decimal }

type refKey struct {
	user     uint32
	asset    messages.AssetID
	business string
	id       uint64
}

// RefOrder is an order as the reference holds it; Left of a market buy is
// the money it did not spend.
type RefOrder struct {
	ID                                  uint64
	Market                              messages.MarketID
	Type                                messages.OrderType
	Side                                messages.Side
	User                                uint32
	CTime, MTime                        int64
	Price, Amount, TakerFee, MakerFee   decimal.Decimal
	Left, DealStock, DealMoney, DealFee decimal.Decimal
	ClientID                            string
	StopPrice                           decimal.Decimal // zero: not a stop order
	Triggered                           bool
	TIF                                 messages.TimeInForce
	PostOnly                            bool
	STP                                 messages.STP
	freeze                              decimal.Decimal // what the order keeps frozen
}

// held reports a stop order waiting for its trigger.
func (o *RefOrder) held() bool { return !o.StopPrice.IsZero() && !o.Triggered }

// RefDeal is one fill.
type RefDeal struct {
	ID                  uint64
	TakerSide           messages.Side
	Price, Amount, Deal decimal.Decimal
	AskFee, BidFee      decimal.Decimal
	AskOrder, BidOrder  uint64
	AskUser, BidUser    uint32
}

// RefLevel is a depth level.
type RefLevel struct{ Price, Amount decimal.Decimal }

// RefEventKind is the kind of a RefEvent, one per journal event type.
type RefEventKind uint8

// Reference event kinds.
const (
	RefBalanceUpdated RefEventKind = iota
	RefPlaced
	RefTrade
	RefRested
	RefFinished
	RefTriggered
	RefAmended
	RefSwitch // CancelAfterSet
)

var refKindNames = [...]string{"balance_updated", "placed", "trade", "rested", "finished", "triggered", "amended", "switch"}

func (k RefEventKind) String() string { return refKindNames[k] }

// RefEvent is one event as the reference records it; which fields are set
// depends on Kind: Order (placed: as placed, with Frozen its reservation),
// Deal (trade), OrderID (rested, finished, triggered, amended), User,
// Asset and Amount (balance_updated: the signed change; finished and
// amended: Release is what goes back to available), Cancelled (finished),
// Price (triggered: the last price), Amount and Left (amended), Deadline
// (switch), Time.
type RefEvent struct {
	Kind      RefEventKind
	Order     RefOrder
	Frozen    decimal.Decimal
	Deal      RefDeal
	OrderID   uint64
	User      uint32
	Asset     messages.AssetID
	Business  string
	Cancelled bool
	Release   decimal.Decimal
	Price     decimal.Decimal
	Amount    decimal.Decimal
	Left      decimal.Decimal
	Deadline  int64
	Time      int64
}

// RefResult is what the reference answered.
type RefResult struct {
	Err        *messages.Error
	Order      RefOrder
	Events     []RefEvent
	Asks, Bids []RefLevel
	Total      int
	Orders     []RefOrder
	AskCount   int
	BidCount   int
	AskAmount  decimal.Decimal
	BidAmount  decimal.Decimal
	Count      int       // cancel_all
	Deadline   int64     // cancel_after
	Detail     *RefOrder // detail
}

type refMarket struct {
	m          *config.Market
	asks, bids []*RefOrder // resting, best first
	held       []*RefOrder // stop orders waiting for their trigger, oldest first
	seq, deals uint64
	last       decimal.Decimal  // price of the last trade (zero: none yet)
	lo, hi     decimal.Decimal  // range of the trade prices of the running command (zero: none)
	deadlines  map[uint32]int64 // armed dead-man's switches
}

// NewRef returns an empty reference exchange for cfg.
func NewRef(cfg *config.Config) *Ref {
	r := &Ref{Cfg: cfg, bal: make(map[uint32][]RefBalance), keys: make(map[refKey]bool), Stats: RefStats{Codes: map[int]int{}}}
	for _, m := range cfg.Markets {
		r.markets = append(r.markets, &refMarket{m: m, deadlines: map[uint32]int64{}})
	}
	return r
}

// Balance returns a user's balance of an asset (zero if none).
func (r *Ref) Balance(user uint32, asset messages.AssetID) RefBalance {
	if b := r.bal[user]; b != nil {
		return b[asset]
	}
	return RefBalance{}
}

func (r *Ref) entry(user uint32, asset messages.AssetID) *RefBalance {
	b := r.bal[user]
	if b == nil {
		b = make([]RefBalance, len(r.Cfg.Assets))
		r.bal[user] = b
	}
	return &b[asset]
}

func (r *Ref) save(a messages.AssetID) int32 { return int32(r.Cfg.Assets[a].PrecSave) }

// add and sub change one balance entry and truncate the result to prec_save.
func (r *Ref) add(user uint32, asset messages.AssetID, frozen bool, v decimal.Decimal) {
	b := r.entry(user, asset)
	p := &b.Available
	if frozen {
		p = &b.Frozen
	}
	*p = p.Add(v).Truncate(r.save(asset))
}

func (r *Ref) sub(user uint32, asset messages.AssetID, frozen bool, v decimal.Decimal) {
	b := r.entry(user, asset)
	p := &b.Available
	if frozen {
		p = &b.Frozen
	}
	if p.LessThan(v) {
		panic(fmt.Sprintf("ref: user %d asset %d: %s < %s", user, asset, p, v))
	}
	*p = p.Sub(v).Truncate(r.save(asset))
}

// parse reads a non-negative decimal truncated to prec (ok false: code 1).
func parse(s string, prec int) (decimal.Decimal, bool) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, false
	}
	d = d.Truncate(int32(prec))
	return d, !d.IsNegative()
}

// fits reports whether d is at most int64 units at prec, as every amount,
// price and fee rate of an order must be (code 1 otherwise).
func fits(d decimal.Decimal, prec int) bool {
	return !d.Shift(int32(prec)).GreaterThan(decimal.NewFromInt(math.MaxInt64))
}

func (r *Ref) id(m *refMarket, seq uint64) uint64 { return seq<<book.IDShift | uint64(m.m.ID) }

func (r *Ref) emit(e RefEvent) { r.events = append(r.events, e) }

// Do runs one command.
func (r *Ref) Do(c *Cmd) RefResult {
	r.events = nil
	res := r.do(c)
	if res.Err != nil {
		r.Stats.Codes[res.Err.Code]++
		res.Events = nil
	} else {
		res.Events = r.events
	}
	r.events = nil
	return res
}

func (r *Ref) do(c *Cmd) RefResult {
	if int(c.Market) >= len(r.markets) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	m := r.markets[c.Market]
	switch c.Op {
	case OpUpdate:
		return RefResult{Err: r.update(c)}
	case OpPutLimit, OpPutMarket:
		return r.put(m, c)
	case OpCancel:
		return r.cancel(m, c)
	case OpCancelAll:
		if c.Side != 0 && c.Side != messages.Ask && c.Side != messages.Bid {
			return RefResult{Err: messages.ErrInvalidArgument}
		}
		n := r.cancelUser(m, c.User, c.Side, c.Time)
		return RefResult{Count: n}
	case OpAmend:
		return r.amend(m, c)
	case OpCancelAfter:
		return r.cancelAfter(m, c)
	case OpTick:
		for _, mk := range r.markets {
			r.expire(mk, c.Time)
		}
		return RefResult{}
	case OpDetail:
		o := r.named(m, c)
		if o == nil {
			return RefResult{}
		}
		cp := *o
		return RefResult{Detail: &cp}
	case OpDepth:
		return r.depth(m, c)
	case OpBook:
		if c.Side != messages.Ask && c.Side != messages.Bid {
			return RefResult{Err: messages.ErrInvalidArgument}
		}
		list := m.asks
		if c.Side == messages.Bid {
			list = m.bids
		}
		return RefResult{Total: len(list), Orders: page(list, c.Offset, c.Limit)}
	case OpPending:
		mine := r.openOf(m, c.User)
		slices.Reverse(mine) // newest first
		return RefResult{Total: len(mine), Orders: page(mine, c.Offset, c.Limit)}
	case OpSummary:
		return summary(m)
	}
	panic("ref: unknown op")
}

// put places a limit or market order. It is decided on a copy: a refusal
// after matching leaves nothing.
func (r *Ref) put(m *refMarket, c *Cmd) RefResult {
	saved := r.copyState(m)
	var res RefResult
	if c.Op == OpPutLimit {
		res = r.putLimit(m, c)
	} else {
		res = r.putMarket(m, c)
	}
	if res.Err != nil {
		r.restoreState(m, saved)
	}
	return res
}

// summary counts a market's resting orders and sums their remainders.
func summary(m *refMarket) RefResult {
	res := RefResult{AskCount: len(m.asks), BidCount: len(m.bids)}
	for _, o := range m.asks {
		res.AskAmount = res.AskAmount.Add(o.Left)
	}
	for _, o := range m.bids {
		res.BidAmount = res.BidAmount.Add(o.Left)
	}
	return res
}

func page(list []*RefOrder, offset, limit int) []RefOrder {
	out := []RefOrder{}
	for i := offset; i < len(list) && len(out) < limit; i++ {
		out = append(out, *list[i])
	}
	return out
}

// open returns every open order of the market: resting and held.
func (m *refMarket) open() []*RefOrder {
	return slices.Concat(m.asks, m.bids, m.held)
}

// openOf returns user's open orders in m, oldest (lowest id) first.
func (r *Ref) openOf(m *refMarket, user uint32) []*RefOrder {
	var mine []*RefOrder
	for _, o := range m.open() {
		if o.User == user {
			mine = append(mine, o)
		}
	}
	slices.SortFunc(mine, func(a, b *RefOrder) int { return cmpU64(a.ID, b.ID) })
	return mine
}

func (r *Ref) byID(m *refMarket, id uint64) *RefOrder {
	for _, o := range m.open() {
		if o.ID == id {
			return o
		}
	}
	return nil
}

func (r *Ref) byClient(m *refMarket, user uint32, clientID string) *RefOrder {
	for _, o := range m.open() {
		if o.User == user && o.ClientID == clientID {
			return o
		}
	}
	return nil
}

// refState is what copyState keeps of the state an order command may
// change: the market and every balance.
type refState struct {
	m   refMarket
	bal map[uint32][]RefBalance
}

func (r *Ref) copyState(m *refMarket) refState {
	copyList := func(list []*RefOrder) []*RefOrder {
		out := make([]*RefOrder, len(list))
		for i, o := range list {
			c := *o
			out[i] = &c
		}
		return out
	}
	s := refState{m: *m, bal: make(map[uint32][]RefBalance, len(r.bal))}
	s.m.asks, s.m.bids, s.m.held = copyList(m.asks), copyList(m.bids), copyList(m.held)
	for u, b := range r.bal {
		s.bal[u] = slices.Clone(b)
	}
	return s
}

func (r *Ref) restoreState(m *refMarket, s refState) {
	*m = s.m
	r.bal = s.bal
	r.events = nil
}

func (r *Ref) update(c *Cmd) *messages.Error {
	if int(c.Asset) >= len(r.Cfg.Assets) || c.User == 0 || len(c.Business) > 30 {
		return messages.ErrInvalidArgument
	}
	a := r.Cfg.Assets[c.Asset]
	d, err := decimal.NewFromString(c.Change)
	if err != nil {
		return messages.ErrInvalidArgument
	}
	d = d.Truncate(int32(a.Show()))
	k := refKey{c.User, c.Asset, c.Business, c.BusinessID}
	if r.keys[k] {
		return messages.ErrRepeatUpdate
	}
	if d.IsNegative() {
		if r.Balance(c.User, c.Asset).Available.LessThan(d.Neg()) {
			return messages.ErrWithdrawNotEnough
		}
		r.sub(c.User, c.Asset, false, d.Neg())
	} else {
		r.add(c.User, c.Asset, false, d)
	}
	r.keys[k] = true
	r.emit(RefEvent{Kind: RefBalanceUpdated, User: c.User, Asset: c.Asset, Business: c.Business, Amount: d, Time: c.Time})
	return nil
}

func (r *Ref) feeRate(s string, m *config.Market) (decimal.Decimal, bool) {
	d, ok := parse(s, m.Fee)
	return d, ok && d.LessThan(decimal.New(1, 0))
}

// validClientID: 1 to 32 bytes of ASCII letters, digits and . _ : -
func validClientID(id string) bool {
	if len(id) < 1 || len(id) > 32 {
		return false
	}
	for _, ch := range []byte(id) {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == '.' || ch == '_' || ch == ':' || ch == '-'
		if !ok {
			return false
		}
	}
	return true
}

// options checks the options every order takes (code 1) and returns the
// stop price (zero: none).
func (r *Ref) options(c *Cmd, cm *config.Market) (decimal.Decimal, bool) {
	if c.STP > messages.STPCancelBoth || (c.ClientID != "" && !validClientID(c.ClientID)) {
		return decimal.Decimal{}, false
	}
	if c.StopPrice == "" {
		return decimal.Decimal{}, true
	}
	stop, ok := parse(c.StopPrice, cm.MoneyPrec)
	return stop, ok && stop.IsPositive() && fits(stop, cm.MoneyPrec)
}

// stpOf is the self-trade prevention mode an order applies: its own, or
// the market's.
func stpOf(o *RefOrder, cm *config.Market) messages.STP {
	if o.STP == messages.STPDefault {
		return cm.STPMode
	}
	return o.STP
}

// preventsSelfTrade reports whether mode stp keeps a user from trading
// with itself (none and the market default of none do not).
func preventsSelfTrade(stp messages.STP) bool {
	return stp == messages.STPCancelTaker || stp == messages.STPCancelMaker || stp == messages.STPCancelBoth
}

// reservation is what open order o keeps frozen, and in which asset: an
// ask its stock left, a limit bid price × left, a market bid (a held
// stop-market buy) its money left.
func (r *Ref) reservation(cm *config.Market, o *RefOrder) (messages.AssetID, decimal.Decimal) {
	switch {
	case o.Side == messages.Ask:
		return cm.StockAsset.ID, o.Left
	case o.Type == messages.Limit:
		return cm.MoneyAsset.ID, o.Left.Mul(o.Price)
	default:
		return cm.MoneyAsset.ID, o.Left
	}
}

// freeze makes o's reservation frozen (o is becoming open).
func (r *Ref) freeze(cm *config.Market, o *RefOrder) {
	a, v := r.reservation(cm, o)
	o.freeze = v
	r.sub(o.User, a, false, v)
	r.add(o.User, a, true, v)
}

// unfreeze gives back what o keeps frozen and returns it.
func (r *Ref) unfreeze(cm *config.Market, o *RefOrder) (messages.AssetID, decimal.Decimal) {
	a := cm.StockAsset.ID
	if o.Side == messages.Bid {
		a = cm.MoneyAsset.ID
	}
	v := o.freeze
	r.sub(o.User, a, true, v)
	r.add(o.User, a, false, v)
	o.freeze = decimal.Decimal{}
	return a, v
}

// finish records that o, no longer open, is done: the release is what its
// reservation would still be (nothing for a filled order).
func (r *Ref) finish(cm *config.Market, o *RefOrder, now int64, cancelled bool) {
	a, v := r.reservation(cm, o)
	if cancelled {
		o.MTime = now
	}
	r.emit(RefEvent{Kind: RefFinished, OrderID: o.ID, User: o.User, Asset: a, Release: v, Cancelled: cancelled, Time: now})
}

// remove takes o out of whichever list holds it.
func (m *refMarket) remove(o *RefOrder) {
	for _, list := range []*[]*RefOrder{&m.asks, &m.bids, &m.held} {
		if i := slices.Index(*list, o); i >= 0 {
			*list = slices.Delete(*list, i, i+1)
			return
		}
	}
	panic("ref: removing an order that is not open")
}

// cancelOpen cancels open order o: out of the book, its funds back.
func (r *Ref) cancelOpen(m *refMarket, o *RefOrder, now int64) {
	m.remove(o)
	r.unfreeze(m.m, o)
	r.finish(m.m, o, now, true)
}

// rest puts o (a limit order with something left) in the book, after every
// order of its price or better, and freezes what it reserves.
func (r *Ref) rest(m *refMarket, o *RefOrder, now int64) {
	r.freeze(m.m, o)
	if o.Side == messages.Ask {
		m.asks = insert(m.asks, o, func(a, b *RefOrder) bool { return a.Price.LessThan(b.Price) })
	} else {
		m.bids = insert(m.bids, o, func(a, b *RefOrder) bool { return a.Price.GreaterThan(b.Price) })
	}
	r.emit(RefEvent{Kind: RefRested, OrderID: o.ID, Time: now})
}

// insert places o after every order of equal or better priority.
func insert(list []*RefOrder, o *RefOrder, better func(a, b *RefOrder) bool) []*RefOrder {
	i := 0
	for i < len(list) && !better(o, list[i]) {
		i++
	}
	return slices.Insert(list, i, o)
}

// crosses reports whether limit order o accepts price.
func crosses(o *RefOrder, price decimal.Decimal) bool {
	if o.Side == messages.Bid {
		return o.Price.GreaterThanOrEqual(price)
	}
	return o.Price.LessThanOrEqual(price)
}

// sideTooLarge reports whether resting left more on o's side would take
// the side's Σ left past int64 units (Bourse's limit, docs/design.md "Money": code 1).
func (m *refMarket) sideTooLarge(o *RefOrder) bool {
	own := m.asks
	if o.Side == messages.Bid {
		own = m.bids
	}
	total := o.Left
	for _, x := range own {
		total = total.Add(x.Left)
	}
	return !fits(total, m.m.StockPrec)
}

func (r *Ref) putLimit(m *refMarket, c *Cmd) RefResult {
	cm := m.m
	amount, ok1 := parse(c.Amount, cm.StockPrec)
	price, ok2 := parse(c.Price, cm.MoneyPrec)
	taker, ok3 := r.feeRate(c.TakerFee, cm)
	maker, ok4 := r.feeRate(c.MakerFee, cm)
	stop, ok5 := r.options(c, cm)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) || c.User == 0 || (c.Side != messages.Ask && c.Side != messages.Bid) ||
		!amount.IsPositive() || !price.IsPositive() || !fits(amount, cm.StockPrec) || !fits(price, cm.MoneyPrec) ||
		c.TIF > messages.FOK || (c.PostOnly && c.TIF != messages.GTC) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	stock, money := cm.StockAsset.ID, cm.MoneyAsset.ID
	if c.Side == messages.Ask {
		if r.Balance(c.User, stock).Available.LessThan(amount) {
			return RefResult{Err: messages.ErrBalanceNotEnough}
		}
	} else if r.Balance(c.User, money).Available.LessThan(amount.Mul(price)) {
		return RefResult{Err: messages.ErrBalanceNotEnough}
	}
	if amount.LessThan(decimal.New(cm.MinUnits, -int32(cm.StockPrec))) {
		return RefResult{Err: messages.ErrAmountTooSmall}
	}
	if c.ClientID != "" && r.byClient(m, c.User, c.ClientID) != nil {
		return RefResult{Err: messages.ErrClientIDInUse}
	}
	o := &RefOrder{
		ID: r.id(m, m.seq+1), Market: cm.ID, Type: messages.Limit, Side: c.Side, User: c.User,
		CTime: c.Time, MTime: c.Time, Price: price, Amount: amount, TakerFee: taker, MakerFee: maker,
		Left: amount, ClientID: c.ClientID, StopPrice: stop, TIF: c.TIF, PostOnly: c.PostOnly, STP: c.STP,
	}
	if o.held() {
		return r.hold(m, o)
	}
	stp := stpOf(o, cm)
	if c.PostOnly && r.wouldTake(m, o) {
		return RefResult{Err: messages.ErrWouldTake}
	}
	if c.TIF == messages.FOK && !r.fillable(m, o, stp) {
		return RefResult{Err: messages.ErrNoEnoughTrader}
	}
	openBefore := len(r.openOf(m, c.User))
	m.seq++
	r.placed(m, o)
	m.lo, m.hi = decimal.Decimal{}, decimal.Decimal{}
	stopped := r.match(m, o, c.Time, stp)
	switch {
	case o.Left.IsZero():
		r.finish(cm, o, c.Time, false)
	case stopped || c.TIF != messages.GTC:
		r.finish(cm, o, c.Time, true)
	case m.sideTooLarge(o):
		return RefResult{Err: messages.ErrInvalidArgument}
	case cm.MaxOpenOrders > 0 && openBefore >= cm.MaxOpenOrders:
		return RefResult{Err: messages.ErrLimitExceeded}
	default:
		r.rest(m, o, c.Time)
	}
	res := RefResult{Order: *o}
	r.cascade(m, c.Time)
	return res
}

// placed records the placement of o.
func (r *Ref) placed(m *refMarket, o *RefOrder) {
	_, v := r.reservation(m.m, o)
	r.emit(RefEvent{Kind: RefPlaced, Order: *o, Frozen: v})
}

// wouldTake reports whether limit order o would trade with the best order
// on the other side, whoever's it is.
func (r *Ref) wouldTake(m *refMarket, o *RefOrder) bool {
	opp := m.bids
	if o.Side == messages.Bid {
		opp = m.asks
	}
	return len(opp) > 0 && crosses(o, opp[0].Price)
}

// fillable reports whether limit order o would fill its whole left at
// once: the liquidity at prices it accepts, without the makers of its own
// user that stp cancels, up to the first one that stops it.
func (r *Ref) fillable(m *refMarket, o *RefOrder, stp messages.STP) bool {
	opp := m.bids
	if o.Side == messages.Bid {
		opp = m.asks
	}
	var have decimal.Decimal
	for _, mk := range opp {
		if !crosses(o, mk.Price) {
			break
		}
		if preventsSelfTrade(stp) && mk.User == o.User {
			if stp == messages.STPCancelMaker {
				continue
			}
			break
		}
		have = have.Add(mk.Left)
	}
	return have.GreaterThanOrEqual(o.Left)
}

// hold places stop order o: refused (code 15) if the last price already
// reached its stop price, or (code 8) at the user's limit of open orders;
// else held with its funds frozen.
func (r *Ref) hold(m *refMarket, o *RefOrder) RefResult {
	if !m.last.IsZero() && reached(o, m.last, m.last) {
		return RefResult{Err: messages.ErrStopWouldTrigger}
	}
	if m.m.MaxOpenOrders > 0 && len(r.openOf(m, o.User)) >= m.m.MaxOpenOrders {
		return RefResult{Err: messages.ErrLimitExceeded}
	}
	m.seq++
	r.placed(m, o)
	r.freeze(m.m, o)
	m.held = append(m.held, o)
	r.emit(RefEvent{Kind: RefRested, OrderID: o.ID, Time: o.CTime})
	return RefResult{Order: *o}
}

// reached reports whether trades at prices from lo to hi reach stop order
// o: a buy stop at or above its stop price, a sell stop at or below.
func reached(o *RefOrder, lo, hi decimal.Decimal) bool {
	if o.Side == messages.Bid {
		return hi.GreaterThanOrEqual(o.StopPrice)
	}
	return lo.LessThanOrEqual(o.StopPrice)
}

// cascade triggers the held stops that the trades of the running command
// reached, in rounds: every stop reached by the trades so far, oldest
// first; then those the trades of that round reached; until a round
// triggers none.
func (r *Ref) cascade(m *refMarket, now int64) {
	rounds := 0
	for !m.hi.IsZero() {
		var due []*RefOrder
		for _, o := range m.held {
			if reached(o, m.lo, m.hi) {
				due = append(due, o)
			}
		}
		if len(due) == 0 {
			break
		}
		rounds++
		for _, o := range due {
			r.trigger(m, o, now)
		}
	}
	if rounds > 1 {
		r.Stats.Cascades++
	}
}

// trigger turns held stop o into a new order of its type, placed now with
// its funds already reserved; what would refuse a new order cancels it.
func (r *Ref) trigger(m *refMarket, o *RefOrder, now int64) {
	cm := m.m
	r.Stats.Triggers++
	r.emit(RefEvent{Kind: RefTriggered, OrderID: o.ID, Price: m.last, Time: now})
	m.remove(o)
	r.unfreeze(cm, o) // the taker spends from available, as a new order
	o.Triggered, o.MTime = true, now
	stp := stpOf(o, cm)
	opp := m.bids
	if o.Side == messages.Bid {
		opp = m.asks
	}
	cancel := func() {
		r.Stats.TriggerCancels++
		r.finish(cm, o, now, true)
	}
	if o.Type == messages.Limit {
		if o.PostOnly && r.wouldTake(m, o) || o.TIF == messages.FOK && !r.fillable(m, o, stp) {
			cancel()
			return
		}
		stopped := r.match(m, o, now, stp)
		switch {
		case o.Left.IsZero():
			r.finish(cm, o, now, false)
		case stopped || o.TIF != messages.GTC || m.sideTooLarge(o):
			cancel()
		default:
			r.rest(m, o, now)
		}
		return
	}
	if len(opp) == 0 || o.Side == messages.Bid && o.Amount.LessThan(opp[0].Price.Mul(decimal.New(cm.MinUnits, -int32(cm.StockPrec)))) {
		cancel()
		return
	}
	stopped := r.match(m, o, now, stp)
	r.finish(cm, o, now, stopped)
}

// match runs taker o against the opposite side, spending from available
// (the taker phase freezes nothing), as docs/protocol.md "Matching" and "Market orders". A maker of
// the taker's own user is handled by self-trade prevention mode stp: it
// reports true if the taker's remainder is to be cancelled.
func (r *Ref) match(m *refMarket, o *RefOrder, now int64, stp messages.STP) (stopped bool) {
	opp := &m.bids
	if o.Side == messages.Bid {
		opp = &m.asks
	}
	marketBuy := o.Type == messages.Market && o.Side == messages.Bid
	for i := 0; i < len(*opp); {
		if !marketBuy && !o.Left.IsPositive() {
			break
		}
		mk := (*opp)[i]
		price := mk.Price
		if o.Type == messages.Limit && !crosses(o, price) {
			break
		}
		amount := decimal.Min(o.Left, mk.Left)
		if marketBuy {
			amount = marketBuyAmount(o.Left, price, mk.Left, m.m.StockPrec)
			if !amount.IsPositive() {
				break
			}
		}
		if handled, stop := r.selfTrade(m, o, mk, now, stp); stop {
			return true
		} else if handled {
			continue
		}
		r.trade(m, o, mk, amount, now, marketBuy)
		if !mk.Left.IsPositive() {
			*opp = slices.Delete(*opp, i, i+1)
			if mk.freeze.IsPositive() {
				r.unfreeze(m.m, mk)
			}
			r.finish(m.m, mk, now, false)
		}
	}
	return false
}

// marketBuyAmount is the stock that money left buys at price, truncated to
// prec places, and no more than the maker's left.
func marketBuyAmount(left, price, makerLeft decimal.Decimal, prec int) decimal.Decimal {
	unit := decimal.New(1, -int32(prec))
	amount, _ := left.QuoRem(price, int32(prec))
	for amount.Mul(price).GreaterThan(left) {
		amount = amount.Sub(unit)
	}
	return decimal.Min(amount, makerLeft)
}

// selfTrade applies stp to maker mk of taker o: handled reports that mk is
// the taker's own (cancelled or not), stop that the taker is to stop.
func (r *Ref) selfTrade(m *refMarket, o, mk *RefOrder, now int64, stp messages.STP) (handled, stop bool) {
	if !preventsSelfTrade(stp) || mk.User != o.User {
		return false, false
	}
	if stp == messages.STPCancelMaker || stp == messages.STPCancelBoth {
		r.Stats.STPMakers++
		r.cancelOpen(m, mk, now)
	}
	if stp == messages.STPCancelTaker || stp == messages.STPCancelBoth {
		r.Stats.STPTakers++
		return true, true
	}
	return true, false
}

// trade fills taker o and maker mk by amount at the maker's price: the
// trade event, the market's prices, the balances and both orders.
func (r *Ref) trade(m *refMarket, o, mk *RefOrder, amount decimal.Decimal, now int64, marketBuy bool) {
	stock, money := m.m.StockAsset.ID, m.m.MoneyAsset.ID
	price := mk.Price
	deal := price.Mul(amount)
	ask, bid := mk, o
	if o.Side == messages.Ask {
		ask, bid = o, mk
	}
	askRate, bidRate := ask.MakerFee, bid.TakerFee
	if o.Side == messages.Ask {
		askRate, bidRate = ask.TakerFee, bid.MakerFee
	}
	askFee := deal.Mul(askRate).Truncate(r.save(money))
	bidFee := amount.Mul(bidRate).Truncate(r.save(stock))
	m.deals++
	r.emit(RefEvent{Kind: RefTrade, Time: now, Deal: RefDeal{
		ID: r.id(m, m.deals), TakerSide: o.Side, Price: price, Amount: amount, Deal: deal,
		AskFee: askFee, BidFee: bidFee, AskOrder: ask.ID, BidOrder: bid.ID, AskUser: ask.User, BidUser: bid.User,
	}})
	m.last = price
	if m.lo.IsZero() || price.LessThan(m.lo) {
		m.lo = price
	}
	if price.GreaterThan(m.hi) {
		m.hi = price
	}
	r.settleTrade(m, o, mk, amount, deal, askFee, bidFee)
	for _, x := range []*RefOrder{o, mk} {
		if marketBuy && x == o {
			x.Left = x.Left.Sub(deal)
		} else {
			x.Left = x.Left.Sub(amount)
		}
		x.DealStock = x.DealStock.Add(amount)
		x.DealMoney = x.DealMoney.Add(deal)
		if x.Side == messages.Ask {
			x.DealFee = x.DealFee.Add(askFee)
		} else {
			x.DealFee = x.DealFee.Add(bidFee)
		}
		x.MTime = now
	}
}

// settleTrade moves a trade's stock, money and fees: the taker's from
// available, the maker's from frozen, the fees to the fee account.
func (r *Ref) settleTrade(m *refMarket, o, mk *RefOrder, amount, deal, askFee, bidFee decimal.Decimal) {
	stock, money := m.m.StockAsset.ID, m.m.MoneyAsset.ID
	if o.Side == messages.Ask {
		r.sub(o.User, stock, false, amount)
		r.add(o.User, money, false, deal)
		r.sub(o.User, money, false, askFee)
	} else {
		r.sub(o.User, money, false, deal)
		r.add(o.User, stock, false, amount)
		r.sub(o.User, stock, false, bidFee)
	}
	if mk.Side == messages.Ask {
		r.sub(mk.User, stock, true, amount)
		mk.freeze = mk.freeze.Sub(amount)
		r.add(mk.User, money, false, deal)
		r.sub(mk.User, money, false, askFee)
	} else {
		r.sub(mk.User, money, true, deal)
		mk.freeze = mk.freeze.Sub(deal)
		r.add(mk.User, stock, false, amount)
		r.sub(mk.User, stock, false, bidFee)
	}
	fee := r.Cfg.FeeUserID
	r.add(fee, money, false, askFee)
	r.add(fee, stock, false, bidFee)
}

func (r *Ref) putMarket(m *refMarket, c *Cmd) RefResult {
	cm := m.m
	prec := cm.StockPrec
	if c.Side == messages.Bid {
		prec = cm.MoneyPrec
	}
	amount, ok1 := parse(c.Amount, prec)
	taker, ok2 := r.feeRate(c.TakerFee, cm)
	stop, ok3 := r.options(c, cm)
	if !(ok1 && ok2 && ok3) || c.User == 0 || (c.Side != messages.Ask && c.Side != messages.Bid) ||
		!amount.IsPositive() || !fits(amount, prec) || c.TIF != messages.GTC || c.PostOnly {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	stock, money := cm.StockAsset.ID, cm.MoneyAsset.ID
	min := decimal.New(cm.MinUnits, -int32(cm.StockPrec))
	have := r.Balance(c.User, stock).Available
	if c.Side == messages.Bid {
		have = r.Balance(c.User, money).Available
	}
	if have.LessThan(amount) {
		return RefResult{Err: messages.ErrBalanceNotEnough}
	}
	if c.ClientID != "" && r.byClient(m, c.User, c.ClientID) != nil {
		return RefResult{Err: messages.ErrClientIDInUse}
	}
	o := &RefOrder{
		ID: r.id(m, m.seq+1), Market: cm.ID, Type: messages.Market, Side: c.Side, User: c.User,
		CTime: c.Time, MTime: c.Time, Amount: amount, TakerFee: taker, Left: amount,
		ClientID: c.ClientID, StopPrice: stop, STP: c.STP,
	}
	if o.held() {
		// a sell's amount is stock, checked now; a buy's money is checked
		// against the book when it triggers
		if c.Side == messages.Ask && amount.LessThan(min) {
			return RefResult{Err: messages.ErrAmountTooSmall}
		}
		return r.hold(m, o)
	}
	if c.Side == messages.Ask {
		if len(m.bids) == 0 {
			return RefResult{Err: messages.ErrNoEnoughTrader}
		}
		if amount.LessThan(min) {
			return RefResult{Err: messages.ErrAmountTooSmall}
		}
	} else {
		if len(m.asks) == 0 {
			return RefResult{Err: messages.ErrNoEnoughTrader}
		}
		if amount.LessThan(m.asks[0].Price.Mul(min)) {
			return RefResult{Err: messages.ErrAmountTooSmall}
		}
	}
	m.seq++
	r.placed(m, o)
	m.lo, m.hi = decimal.Decimal{}, decimal.Decimal{}
	stopped := r.match(m, o, c.Time, stpOf(o, cm))
	r.finish(cm, o, c.Time, stopped)
	res := RefResult{Order: *o}
	r.cascade(m, c.Time)
	return res
}

// named returns the open order c names by client id (if it has one) or by
// id, or nil.
func (r *Ref) named(m *refMarket, c *Cmd) *RefOrder {
	if c.ClientID != "" {
		return r.byClient(m, c.User, c.ClientID)
	}
	return r.byID(m, c.OrderID)
}

// target finds the open order a cancel or amend names: code 10 if there is
// none, 11 if it is another user's.
func (r *Ref) target(m *refMarket, c *Cmd) (*RefOrder, *messages.Error) {
	o := r.named(m, c)
	if o == nil {
		return nil, messages.ErrOrderNotFound
	}
	if o.User != c.User {
		return nil, messages.ErrUserNotMatch
	}
	return o, nil
}

func (r *Ref) cancel(m *refMarket, c *Cmd) RefResult {
	o, err := r.target(m, c)
	if err != nil {
		return RefResult{Err: err}
	}
	r.cancelOpen(m, o, c.Time)
	return RefResult{Order: *o}
}

// cancelUser cancels user's open orders in m on side s (0: both), oldest
// first, and returns how many.
func (r *Ref) cancelUser(m *refMarket, user uint32, s messages.Side, now int64) int {
	n := 0
	for _, o := range r.openOf(m, user) {
		if s == 0 || o.Side == s {
			r.cancelOpen(m, o, now)
			n++
		}
	}
	return n
}

func (r *Ref) amend(m *refMarket, c *Cmd) RefResult {
	cm := m.m
	amount, ok := parse(c.Amount, cm.StockPrec)
	if !ok || !fits(amount, cm.StockPrec) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	o, err := r.target(m, c)
	if err != nil {
		return RefResult{Err: err}
	}
	if o.Type != messages.Limit || !amount.GreaterThan(o.DealStock) || !amount.LessThan(o.Amount) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	a, before := r.reservation(cm, o)
	o.Amount, o.Left, o.MTime = amount, amount.Sub(o.DealStock), c.Time
	_, after := r.reservation(cm, o)
	release := before.Sub(after)
	r.sub(o.User, a, true, release)
	r.add(o.User, a, false, release)
	o.freeze = o.freeze.Sub(release)
	r.Stats.Amends++
	r.emit(RefEvent{Kind: RefAmended, OrderID: o.ID, User: o.User, Asset: a, Release: release, Amount: o.Amount, Left: o.Left, Time: c.Time})
	return RefResult{Order: *o}
}

// maxCancelAfter is the longest dead-man's switch timeout: one day, in µs.
const maxCancelAfter = 86400 * 1000 * 1000

func (r *Ref) cancelAfter(m *refMarket, c *Cmd) RefResult {
	if c.User == 0 || c.Timeout < 0 || c.Timeout > maxCancelAfter {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	_, armed := m.deadlines[c.User]
	switch {
	case c.Timeout > 0:
		m.deadlines[c.User] = c.Time + c.Timeout
		r.emit(RefEvent{Kind: RefSwitch, User: c.User, Deadline: c.Time + c.Timeout, Time: c.Time})
	case armed:
		delete(m.deadlines, c.User)
		r.emit(RefEvent{Kind: RefSwitch, User: c.User, Time: c.Time})
	}
	return RefResult{Deadline: m.deadlines[c.User]}
}

// expire fires the dead-man's switches of m due at now, earliest deadline
// first (then by user): each goes off and cancels its user's open orders.
func (r *Ref) expire(m *refMarket, now int64) {
	var due []uint32
	for u, d := range m.deadlines {
		if d <= now {
			due = append(due, u)
		}
	}
	slices.SortFunc(due, func(a, b uint32) int {
		return cmp.Or(cmp.Compare(m.deadlines[a], m.deadlines[b]), cmp.Compare(a, b))
	})
	for _, u := range due {
		delete(m.deadlines, u)
		r.Stats.Fired++
		r.emit(RefEvent{Kind: RefSwitch, User: u, Time: now})
		r.cancelUser(m, u, 0, now)
	}
}

func (r *Ref) depth(m *refMarket, c *Cmd) RefResult {
	iv, ok := parse(c.Interval, m.m.MoneyPrec)
	if !ok || !fits(iv, m.m.MoneyPrec) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	levels := func(list []*RefOrder, up bool) []RefLevel {
		out := []RefLevel{}
		for _, o := range list {
			p := o.Price
			if iv.IsPositive() {
				q, rem := p.QuoRem(iv, 0) // exact: q = ⌊p/iv⌋ for positive p, iv
				if up && !rem.IsZero() {
					q = q.Add(decimal.New(1, 0))
				}
				p = q.Mul(iv)
				// Bourse's limit: an ask bucket beyond int64 units is clamped.
				if maxPrice := decimal.New(math.MaxInt64, -int32(m.m.MoneyPrec)); p.GreaterThan(maxPrice) {
					p = maxPrice
				}
			}
			if n := len(out); n > 0 && out[n-1].Price.Equal(p) {
				out[n-1].Amount = out[n-1].Amount.Add(o.Left)
				continue
			}
			if len(out) == c.Limit {
				break
			}
			out = append(out, RefLevel{Price: p, Amount: o.Left})
		}
		return out
	}
	return RefResult{Asks: levels(m.asks, true), Bids: levels(m.bids, false)}
}
