package coretest

import (
	"fmt"
	"math"
	"slices"

	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/shopspring/decimal"
)

// Ref is a plain reference implementation of viabtc's matching (PROTOCOL §3
// and §4) with Bourse's decisions, written with shopspring/decimal only: its
// own book of sorted slices, balances as decimals truncated (ROUND_DOWN) to
// prec_save on every change. It shares nothing with the fixed-point cores
// but the configuration, and is written for clarity, not speed.
//
// Decisions followed: fees are credited to the fee account (D3), so a fee is
// truncated to prec_save once and that amount is both charged and credited,
// and deal_fee sums the fees actually charged; a market buy's amount is money
// at money_prec (D8); cancel sets mtime (D7); user 0 cannot trade or update
// balances (D9); the taker's funds are reserved up front and released at the
// end, which leaves the same balances as viabtc's spending from available.
type Ref struct {
	Cfg     *config.Config
	markets []*refMarket
	bal     map[uint32][]RefBalance
	keys    map[refKey]bool
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
	freeze                              decimal.Decimal
}

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

// RefResult is what the reference answered.
type RefResult struct {
	Err        *messages.Error
	Order      RefOrder
	Deals      []RefDeal
	Asks, Bids []RefLevel
	Total      int
	Orders     []RefOrder
	AskCount   int
	BidCount   int
	AskAmount  decimal.Decimal
	BidAmount  decimal.Decimal
}

type refMarket struct {
	m          *config.Market
	asks, bids []*RefOrder // best first
	seq, deals uint64
}

// NewRef returns an empty reference exchange for cfg.
func NewRef(cfg *config.Config) *Ref {
	r := &Ref{Cfg: cfg, bal: make(map[uint32][]RefBalance), keys: make(map[refKey]bool)}
	for _, m := range cfg.Markets {
		r.markets = append(r.markets, &refMarket{m: m})
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

func (r *Ref) id(m *refMarket, seq uint64) uint64 { return seq<<book.IDShift | uint64(m.m.ID) }

// Do runs one command.
func (r *Ref) Do(c *Cmd) RefResult {
	if int(c.Market) >= len(r.markets) {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	m := r.markets[c.Market]
	switch c.Op {
	case OpUpdate:
		return RefResult{Err: r.update(c)}
	case OpPutLimit:
		return r.putLimit(m, c)
	case OpPutMarket:
		return r.putMarket(m, c)
	case OpCancel:
		return r.cancel(m, c)
	case OpDepth:
		return r.depth(m, c)
	case OpBook:
		list := m.asks
		if c.Side == messages.Bid {
			list = m.bids
		}
		return RefResult{Total: len(list), Orders: page(list, c.Offset, c.Limit)}
	case OpPending:
		var mine []*RefOrder
		for _, o := range append(slices.Clone(m.asks), m.bids...) {
			if o.User == c.User {
				mine = append(mine, o)
			}
		}
		slices.SortFunc(mine, func(a, b *RefOrder) int { return -cmpU64(a.ID, b.ID) })
		return RefResult{Total: len(mine), Orders: page(mine, c.Offset, c.Limit)}
	case OpSummary:
		res := RefResult{AskCount: len(m.asks), BidCount: len(m.bids)}
		for _, o := range m.asks {
			res.AskAmount = res.AskAmount.Add(o.Left)
		}
		for _, o := range m.bids {
			res.BidAmount = res.BidAmount.Add(o.Left)
		}
		return res
	}
	panic("ref: unknown op")
}

func page(list []*RefOrder, offset, limit int) []RefOrder {
	out := []RefOrder{}
	for i := offset; i < len(list) && len(out) < limit; i++ {
		out = append(out, *list[i])
	}
	return out
}

func (r *Ref) update(c *Cmd) *messages.Error {
	if int(c.Asset) >= len(r.Cfg.Assets) || c.User == 0 || len(c.Business) == 0 || len(c.Business) > 30 {
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
	return nil
}

func (r *Ref) feeRate(s string, m *config.Market) (decimal.Decimal, bool) {
	d, ok := parse(s, m.Fee)
	return d, ok && d.LessThan(decimal.New(1, 0))
}

func (r *Ref) putLimit(m *refMarket, c *Cmd) RefResult {
	cm := m.m
	amount, ok1 := parse(c.Amount, cm.StockPrec)
	price, ok2 := parse(c.Price, cm.MoneyPrec)
	taker, ok3 := r.feeRate(c.TakerFee, cm)
	maker, ok4 := r.feeRate(c.MakerFee, cm)
	if !(ok1 && ok2 && ok3 && ok4) || c.User == 0 || (c.Side != messages.Ask && c.Side != messages.Bid) ||
		!amount.IsPositive() || !price.IsPositive() {
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
	// Bourse's limit (DESIGN §2): a remainder that would rest must keep its
	// side's Σ left within int64 units, else code 1.
	own, opp := m.asks, m.bids
	if c.Side == messages.Bid {
		own, opp = m.bids, m.asks
	}
	left := amount
	for _, mk := range opp {
		if c.Side == messages.Ask && price.GreaterThan(mk.Price) || c.Side == messages.Bid && price.LessThan(mk.Price) {
			break
		}
		left = left.Sub(decimal.Min(left, mk.Left))
	}
	if left.IsPositive() {
		total := left
		for _, o := range own {
			total = total.Add(o.Left)
		}
		if total.Shift(int32(cm.StockPrec)).GreaterThan(decimal.NewFromInt(math.MaxInt64)) {
			return RefResult{Err: messages.ErrInvalidArgument}
		}
	}
	m.seq++
	o := &RefOrder{
		ID: r.id(m, m.seq), Market: cm.ID, Type: messages.Limit, Side: c.Side, User: c.User,
		CTime: c.Time, MTime: c.Time, Price: price, Amount: amount, TakerFee: taker, MakerFee: maker,
		Left: amount,
	}
	deals := r.match(m, o, c.Time)
	if o.Left.IsPositive() {
		// rest and freeze the remainder
		if o.Side == messages.Ask {
			o.freeze = o.Left
			r.sub(o.User, stock, false, o.freeze)
			r.add(o.User, stock, true, o.freeze)
			m.asks = insert(m.asks, o, func(a, b *RefOrder) bool { return a.Price.LessThan(b.Price) })
		} else {
			o.freeze = o.Left.Mul(o.Price)
			r.sub(o.User, money, false, o.freeze)
			r.add(o.User, money, true, o.freeze)
			m.bids = insert(m.bids, o, func(a, b *RefOrder) bool { return a.Price.GreaterThan(b.Price) })
		}
	}
	return RefResult{Order: *o, Deals: deals}
}

// insert places o after every order of equal or better priority.
func insert(list []*RefOrder, o *RefOrder, better func(a, b *RefOrder) bool) []*RefOrder {
	i := 0
	for i < len(list) && !better(o, list[i]) {
		i++
	}
	return slices.Insert(list, i, o)
}

// match runs taker o against the opposite side, spending from available
// (the taker phase freezes nothing), as PROTOCOL §4.3 and §4.4.
func (r *Ref) match(m *refMarket, o *RefOrder, now int64) []RefDeal {
	cm := m.m
	stock, money := cm.StockAsset.ID, cm.MoneyAsset.ID
	opp := &m.bids
	if o.Side == messages.Bid {
		opp = &m.asks
	}
	marketBuy := o.Type == messages.Market && o.Side == messages.Bid
	var deals []RefDeal
	for len(*opp) > 0 && o.Left.IsPositive() {
		mk := (*opp)[0]
		price := mk.Price
		if o.Type == messages.Limit {
			if o.Side == messages.Ask && o.Price.GreaterThan(price) || o.Side == messages.Bid && o.Price.LessThan(price) {
				break
			}
		}
		var amount decimal.Decimal
		if marketBuy {
			amount, _ = o.Left.QuoRem(price, int32(cm.StockPrec))
			unit := decimal.New(1, -int32(cm.StockPrec))
			for amount.Mul(price).GreaterThan(o.Left) {
				amount = amount.Sub(unit)
			}
			amount = decimal.Min(amount, mk.Left)
			if !amount.IsPositive() {
				break
			}
		} else {
			amount = decimal.Min(o.Left, mk.Left)
		}
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
		deals = append(deals, RefDeal{
			ID: r.id(m, m.deals), TakerSide: o.Side, Price: price, Amount: amount, Deal: deal,
			AskFee: askFee, BidFee: bidFee, AskOrder: ask.ID, BidOrder: bid.ID, AskUser: ask.User, BidUser: bid.User,
		})
		// taker, from available
		if o.Side == messages.Ask {
			r.sub(o.User, stock, false, amount)
			r.add(o.User, money, false, deal)
			r.sub(o.User, money, false, askFee)
		} else {
			r.sub(o.User, money, false, deal)
			r.add(o.User, stock, false, amount)
			r.sub(o.User, stock, false, bidFee)
		}
		// maker, from frozen
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
		if !mk.Left.IsPositive() {
			*opp = (*opp)[1:]
			if mk.freeze.IsPositive() {
				a := stock
				if mk.Side == messages.Bid {
					a = money
				}
				r.sub(mk.User, a, true, mk.freeze)
				r.add(mk.User, a, false, mk.freeze)
			}
		}
	}
	return deals
}

func (r *Ref) putMarket(m *refMarket, c *Cmd) RefResult {
	cm := m.m
	prec := cm.StockPrec
	if c.Side == messages.Bid {
		prec = cm.MoneyPrec
	}
	amount, ok1 := parse(c.Amount, prec)
	taker, ok2 := r.feeRate(c.TakerFee, cm)
	if !(ok1 && ok2) || c.User == 0 || (c.Side != messages.Ask && c.Side != messages.Bid) || !amount.IsPositive() {
		return RefResult{Err: messages.ErrInvalidArgument}
	}
	stock, money := cm.StockAsset.ID, cm.MoneyAsset.ID
	min := decimal.New(cm.MinUnits, -int32(cm.StockPrec))
	if c.Side == messages.Ask {
		if r.Balance(c.User, stock).Available.LessThan(amount) {
			return RefResult{Err: messages.ErrBalanceNotEnough}
		}
		if len(m.bids) == 0 {
			return RefResult{Err: messages.ErrNoEnoughTrader}
		}
		if amount.LessThan(min) {
			return RefResult{Err: messages.ErrAmountTooSmall}
		}
	} else {
		if r.Balance(c.User, money).Available.LessThan(amount) {
			return RefResult{Err: messages.ErrBalanceNotEnough}
		}
		if len(m.asks) == 0 {
			return RefResult{Err: messages.ErrNoEnoughTrader}
		}
		if amount.LessThan(m.asks[0].Price.Mul(min)) {
			return RefResult{Err: messages.ErrAmountTooSmall}
		}
	}
	m.seq++
	o := &RefOrder{
		ID: r.id(m, m.seq), Market: cm.ID, Type: messages.Market, Side: c.Side, User: c.User,
		CTime: c.Time, MTime: c.Time, Amount: amount, TakerFee: taker, Left: amount,
	}
	deals := r.match(m, o, c.Time)
	return RefResult{Order: *o, Deals: deals}
}

func (r *Ref) cancel(m *refMarket, c *Cmd) RefResult {
	for _, list := range []*[]*RefOrder{&m.asks, &m.bids} {
		for i, o := range *list {
			if o.ID != c.OrderID {
				continue
			}
			if o.User != c.User {
				return RefResult{Err: messages.ErrUserNotMatch}
			}
			*list = slices.Delete(*list, i, i+1)
			a := m.m.StockAsset.ID
			if o.Side == messages.Bid {
				a = m.m.MoneyAsset.ID
			}
			r.sub(o.User, a, true, o.freeze)
			r.add(o.User, a, false, o.freeze)
			o.MTime = c.Time
			return RefResult{Order: *o}
		}
	}
	return RefResult{Err: messages.ErrOrderNotFound}
}

func (r *Ref) depth(m *refMarket, c *Cmd) RefResult {
	iv, ok := parse(c.Interval, m.m.MoneyPrec)
	if !ok {
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
