package coretest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/shopspring/decimal"
)

// Source supplies the generator's choices: a seeded PRNG, or a fuzzer's
// bytes.
type Source interface {
	// Intn returns a value in [0, n).
	Intn(n int) int
	// Done reports that the source ran dry (a byte source).
	Done() bool
}

// RandSource is a seeded PCG.
type RandSource struct{ r *rand.Rand }

// NewRandSource returns a source seeded with seed.
func NewRandSource(seed uint64) *RandSource {
	return &RandSource{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Intn implements Source.
func (s *RandSource) Intn(n int) int { return s.r.IntN(n) }

// Done implements Source.
func (s *RandSource) Done() bool { return false }

// ByteSource draws choices from a byte string; when it runs dry every choice
// is 0 and Done is true.
type ByteSource struct {
	b   []byte
	dry bool
}

// NewByteSource returns a source reading b.
func NewByteSource(b []byte) *ByteSource { return &ByteSource{b: b} }

// Intn implements Source: one byte for n ≤ 256, two bytes above.
func (s *ByteSource) Intn(n int) int {
	if n <= 1 {
		return 0
	}
	need := 1
	if n > 256 {
		need = 2
	}
	if len(s.b) < need {
		s.b, s.dry = nil, true
		return 0
	}
	v := int(s.b[0])
	if need == 2 {
		v = v<<8 | int(s.b[1])
	}
	s.b = s.b[need:]
	return v % n
}

// Done implements Source.
func (s *ByteSource) Done() bool { return s.dry }

// Left is how many bytes are still to be read.
func (s *ByteSource) Left() int { return len(s.b) }

// Gen makes random but plausible command streams: a few users trading
// around a drifting price in every market of the configuration, with
// deposits, withdrawals (some too large), repeated business ids, limit and
// market orders (some below min_amount, over balance, with bad arguments or
// extra decimals to truncate), cancels (some of missing orders or by the
// wrong user) and queries; and the order options: time in force,
// post-only, self-trade prevention modes (with users often trading against
// their own orders), client order ids from a small pool (so that some are
// in use), stop orders with stop prices a few steps from the last price
// (so that triggers and cascades happen; some already reached), cancels
// and amends by id or client id, cancel-all, dead-man's switches with
// short timeouts, ticks that fire them, and pending_detail.
type Gen struct {
	cfg   *config.Config
	src   Source
	ref   *Ref
	Users int // traders are users 1..Users
	// Extreme makes a few deposits, amounts and prices huge (up to the
	// int64 limits of the book), to exercise overflow guards.
	Extreme bool
	// Plain keeps to what the first journal version could record:
	// updates, limit and market orders without options, cancels by id and
	// queries. It draws other choices than the full stream.
	Plain  bool
	time   int64
	bizID  uint64
	keys   []refKey
	center []int64 // per market, price units
}

// NewGen returns a generator over cfg; ref is consulted for resting orders
// to cancel.
func NewGen(cfg *config.Config, src Source, ref *Ref, users int) *Gen {
	g := &Gen{cfg: cfg, src: src, ref: ref, Users: users}
	for _, m := range cfg.Markets {
		c := int64(500)
		for range m.MoneyPrec - 2 {
			c *= 10
		}
		if m.MoneyPrec < 2 {
			c = 500
		}
		g.center = append(g.center, c)
	}
	return g
}

// StartIDs makes the business ids of updates follow base (NewGen: 0), so
// that streams played one after the other on the same exchange do not
// repeat each other's.
func (g *Gen) StartIDs(base uint64) { g.bizID = base }

func (g *Gen) n(n int) int { return g.src.Intn(n) }

func (g *Gen) pct(p int) bool { return g.n(100) < p }

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// dec renders v units at prec as a decimal string, sometimes with extra
// digits to be truncated or in scientific notation.
func (g *Gen) dec(v int64, prec int) string {
	s := decimal.New(v, -int32(prec)).String()
	switch g.n(10) {
	case 0: // digits beyond the precision, to be truncated
		s = decimal.New(v, -int32(prec)).StringFixed(int32(prec))
		if prec == 0 {
			s += "."
		}
		s += fmt.Sprint(g.n(1000))
	case 1: // scientific
		s = fmt.Sprintf("%de-%d", v, prec)
	case 2: // trailing zeros
		if !strings.Contains(s, ".") {
			s += "."
		}
		s += "00"
	}
	return s
}

func (g *Gen) user() uint32 {
	if g.pct(1) {
		return 0 // refused: D9
	}
	return uint32(1 + g.n(g.Users))
}

func (g *Gen) fee(prec int) string {
	switch g.n(20) {
	case 0, 1, 2, 3, 4, 5:
		return "0"
	case 6, 7, 8:
		return "0.001"
	case 9, 10:
		return "0.002"
	case 11:
		return "0.9999"
	case 12:
		if g.pct(20) {
			return "1" // code 1
		}
		return "0.0005"
	default: // random, with digits beyond fee_prec
		return fmt.Sprintf("0.00%d", g.n(100000))
	}
}

// Next returns the next command, or nil when the source ran dry.
func (g *Gen) Next() *Cmd {
	g.time += 1000
	c := &Cmd{Time: g.time, Market: messages.MarketID(g.n(len(g.cfg.Markets)))}
	m := g.cfg.Markets[c.Market]
	k := g.n(100)
	if g.Plain && k >= 72 && k < 90 {
		k = 90 // a query instead of cancel_all, amend, switch, tick or detail
	}
	switch {
	case k < 11:
		g.update(c)
	case k < 51:
		g.putLimit(c, m)
	case k < 60:
		g.putMarket(c, m)
	case k < 72:
		g.cancel(c, m)
	case k < 74:
		g.cancelAll(c)
	case k < 80:
		g.amend(c, m)
	case k < 83:
		g.cancelAfter(c)
	case k < 87:
		g.time += int64(g.n(20)) * 1000
		c.Op, c.Time = OpTick, g.time
	case k < 90:
		g.detail(c)
	default:
		g.query(c, m)
	}
	if g.src.Done() {
		return nil
	}
	return c
}

func (g *Gen) update(c *Cmd) {
	c.Op = OpUpdate
	if len(g.keys) > 0 && g.pct(3) {
		k := g.keys[g.n(len(g.keys))]
		c.User, c.Asset, c.Business, c.BusinessID = k.user, k.asset, k.business, k.id
		c.Change = "1"
		return
	}
	c.User = g.user()
	c.Asset = messages.AssetID(g.n(len(g.cfg.Assets)))
	a := g.cfg.Assets[c.Asset]
	g.bizID++
	c.BusinessID = g.bizID
	if g.Extreme && g.pct(10) {
		c.Business = "deposit"
		c.Change = decimal.New(int64(1+g.n(1<<16)), int32(g.n(20))).String()
	} else if g.pct(70) {
		c.Business = "deposit"
		c.Change = g.dec(int64(g.n(50))*pow10(a.Show())+int64(g.n(int(min(pow10(a.Show()), 1<<30)))), a.Show())
	} else {
		c.Business = "withdraw"
		c.Change = "-" + g.dec(int64(g.n(20))*pow10(a.Show())+int64(g.n(int(min(pow10(a.Show()), 1<<30)))), a.Show())
	}
	g.keys = append(g.keys, refKey{c.User, c.Asset, c.Business, c.BusinessID})
}

func (g *Gen) price(c *Cmd, m *config.Market) string {
	mi := c.Market
	step := int64(1)
	switch g.n(10) {
	case 0:
		step = 7
	case 1:
		step = pow10(m.MoneyPrec / 2)
	}
	if g.pct(10) {
		g.center[mi] += step * int64(g.n(3)-1)
		g.center[mi] = max(g.center[mi], 50)
	}
	p := g.center[mi] + step*int64(g.n(21)-10)
	if g.Extreme && g.pct(3) {
		p = g.huge()
	}
	if g.pct(1) {
		p = 0 // code 1
	}
	return g.dec(max(p, 0), m.MoneyPrec)
}

// huge is a value near the int64 limit.
func (g *Gen) huge() int64 { return math.MaxInt64>>g.n(8) - int64(g.n(1<<16)) }

func (g *Gen) amount(m *config.Market) int64 {
	if g.Extreme && g.pct(5) {
		return g.huge()
	}
	base := pow10(m.StockPrec)
	switch g.n(10) {
	case 0: // around min_amount, sometimes zero (code 1)
		return int64(g.n(int(min(2*m.MinUnits+2, 1<<30))))
	case 1: // round
		return int64(1+g.n(10)) * max(base/10, 1)
	default:
		return 1 + int64(g.n(int(min(3*base, 1<<30))))
	}
}

func (g *Gen) putLimit(c *Cmd, m *config.Market) {
	c.Op = OpPutLimit
	c.Side = messages.Side(1 + g.n(2))
	c.User = g.trader(c)
	c.Amount = g.dec(g.amount(m), m.StockPrec)
	c.Price = g.price(c, m)
	c.TakerFee = g.fee(m.Fee)
	c.MakerFee = g.fee(m.Fee)
	if g.Plain {
		return
	}
	if g.pct(30) { // order.put_limit_ex
		c.TIF = messages.TimeInForce(g.n(3))
		c.PostOnly = g.pct(30) && (c.TIF == messages.GTC || g.pct(10)) // else code 1
		c.STP = g.stp()
	}
	if g.pct(25) {
		c.ClientID = g.clientID()
	}
	if g.pct(20) { // order.put_stop_limit: a limit price near the stop price
		stop := g.stop(c, m)
		c.StopPrice = g.dec(stop, m.MoneyPrec)
		step := g.step(m)
		c.Price = g.dec(max(stop+step*int64(g.n(7)-3), 1), m.MoneyPrec)
		if g.pct(2) {
			c.StopPrice = "0" // code 1
		}
	}
}

// trader is the user of an order on side c.Side: often the owner of the
// best order on the other side, to trade with oneself.
func (g *Gen) trader(c *Cmd) uint32 {
	rm := g.ref.markets[c.Market]
	opp := rm.bids
	if c.Side == messages.Bid {
		opp = rm.asks
	}
	if len(opp) > 0 && g.pct(15) {
		return opp[0].User
	}
	return g.user()
}

func (g *Gen) stp() messages.STP {
	if g.pct(2) {
		return messages.STPCancelBoth + 1 // code 1
	}
	return messages.STP(g.n(5))
}

var clientIDs = []string{"a", "b", "c.1", "X_y:z-9", "0"}

// clientID draws a client order id: mostly from a small pool, so that some
// are in use; sometimes invalid (code 1) or of the longest valid length.
func (g *Gen) clientID() string {
	switch g.n(25) {
	case 0:
		return "bad id" // code 1
	case 1:
		return strings.Repeat("k", 33) // code 1
	case 2:
		return strings.Repeat("q", 32)
	}
	return clientIDs[g.n(len(clientIDs))]
}

// step is a price step of the market: mostly one unit of money_prec.
func (g *Gen) step(m *config.Market) int64 {
	switch g.n(10) {
	case 0:
		return 7
	case 1:
		return pow10(m.MoneyPrec / 2)
	}
	return 1
}

// stop draws a stop price (money_prec units) a few steps from the
// market's last price (the drifting center before the first trade): on the
// side where it has not been reached yet, sometimes on the other (code 15)
// or at the last price itself (code 15).
func (g *Gen) stop(c *Cmd, m *config.Market) int64 {
	last := g.center[c.Market]
	if l := g.ref.markets[c.Market].last; l.IsPositive() {
		last = l.Shift(int32(m.MoneyPrec)).IntPart()
	}
	off := int64(1+g.n(4)) * g.step(m)
	switch g.n(20) {
	case 0:
		off = 0
	case 1, 2:
		off = -off
	}
	if c.Side == messages.Ask {
		off = -off
	}
	return max(last+off, 1)
}

func (g *Gen) putMarket(c *Cmd, m *config.Market) {
	c.Op = OpPutMarket
	c.Side = messages.Side(1 + g.n(2))
	c.User = g.trader(c)
	if c.Side == messages.Ask {
		c.Amount = g.dec(g.amount(m), m.StockPrec)
	} else {
		// money: mostly a few orders' worth, sometimes dust
		v := int64(g.n(int(min(3*g.center[c.Market]*4, 1<<30))))
		if g.pct(15) {
			v = int64(g.n(int(min(g.center[c.Market], 1<<30))) / 100)
		}
		if g.Extreme && g.pct(10) {
			v = g.huge()
		}
		c.Amount = g.dec(v, m.MoneyPrec)
	}
	c.TakerFee = g.fee(m.Fee)
	if g.Plain {
		return
	}
	if g.pct(30) { // order.put_market_ex
		c.STP = g.stp()
		if g.pct(3) {
			c.TIF = messages.IOC // code 1: not an option of a market order
		}
	}
	if g.pct(15) {
		c.ClientID = g.clientID()
	}
	if g.pct(30) { // order.put_stop_market
		c.StopPrice = g.dec(g.stop(c, m), m.MoneyPrec)
	}
}

// open picks one of the market's open orders (resting or held), or nil.
func (g *Gen) open(mi messages.MarketID) *RefOrder {
	all := g.ref.markets[mi].open()
	if len(all) == 0 {
		return nil
	}
	return all[g.n(len(all))]
}

// name makes c name order o (nil: a missing one): by id or by client id,
// mostly as its owner.
func (g *Gen) name(c *Cmd, o *RefOrder) {
	c.User = g.user()
	if o == nil {
		if !g.Plain && g.pct(30) {
			c.ClientID = g.clientID()
		} else {
			c.OrderID = uint64(g.n(1000))<<book.IDShift | uint64(c.Market)
		}
		return
	}
	if g.n(10) > 0 {
		c.User = o.User
	}
	if o.ClientID != "" && g.pct(40) {
		c.ClientID = o.ClientID
	} else {
		c.OrderID = o.ID
	}
}

func (g *Gen) cancelAll(c *Cmd) {
	c.Op = OpCancelAll
	c.User = g.user()
	c.Side = messages.Side(g.n(3))
	if g.pct(3) {
		c.Side = 3 // code 1
	}
}

// amend draws an amend of an open order, mostly to a valid amount.
func (g *Gen) amend(c *Cmd, m *config.Market) {
	c.Op = OpAmend
	var o *RefOrder
	if g.pct(90) {
		o = g.open(c.Market)
	}
	g.name(c, o)
	if o == nil {
		c.Amount = g.dec(g.amount(m), m.StockPrec)
		return
	}
	prec := int32(m.StockPrec)
	dealt, amount := o.DealStock.Shift(prec).IntPart(), o.Amount.Shift(prec).IntPart()
	v := amount - 1
	switch k := g.n(20); {
	case k == 0:
		v = dealt // code 1
	case k == 1:
		v = amount // code 1
	case k == 2:
		v = amount + 1 // code 1
	case amount-dealt > 2:
		v = dealt + 1 + int64(g.n(int(min(amount-dealt-1, 1<<30))))
	}
	c.Amount = g.dec(v, m.StockPrec)
}

// cancelAfter draws a dead-man's switch: mostly armed for a few commands'
// time, sometimes disarmed or out of range (code 1).
func (g *Gen) cancelAfter(c *Cmd) {
	c.Op = OpCancelAfter
	c.User = g.user()
	switch g.n(12) {
	case 0, 1:
		c.Timeout = 0
	case 2:
		c.Timeout = 86400 * 1000 * 1000
	case 3:
		c.Timeout = 86400*1000*1000 + 1 // code 1
	case 4:
		c.Timeout = -1000 // code 1
	default:
		c.Timeout = int64(1+g.n(30)) * 1000
	}
}

func (g *Gen) detail(c *Cmd) {
	c.Op = OpDetail
	var o *RefOrder
	if g.pct(80) {
		o = g.open(c.Market)
	}
	g.name(c, o)
}

func (g *Gen) cancel(c *Cmd, m *config.Market) {
	c.Op = OpCancel
	c.User = g.user()
	rm := g.ref.markets[c.Market]
	switch k := g.n(10); {
	case k < 8 && len(rm.open()) > 0:
		g.name(c, g.open(c.Market))
	case k == 8 && len(g.cfg.Markets) > 1:
		// an order of another market: not found here
		other := g.ref.markets[(int(c.Market)+1)%len(g.cfg.Markets)]
		if len(other.asks) > 0 {
			c.OrderID = other.asks[0].ID
		} else {
			c.OrderID = uint64(1)<<book.IDShift | uint64(other.m.ID)
		}
	default:
		c.OrderID = uint64(g.n(1000))<<book.IDShift | uint64(c.Market)
	}
}

func (g *Gen) query(c *Cmd, m *config.Market) {
	switch g.n(4) {
	case 0:
		c.Op = OpDepth
		c.Limit = g.n(8)
		switch g.n(4) {
		case 0, 1:
			c.Interval = "0"
		case 2:
			c.Interval = g.dec(int64(1+g.n(10)), m.MoneyPrec)
		default:
			c.Interval = g.dec(int64(1+g.n(int(pow10(min(m.MoneyPrec, 4))))), m.MoneyPrec)
		}
		if g.Extreme && g.pct(20) {
			c.Interval = g.dec(g.huge(), m.MoneyPrec)
		}
	case 1:
		c.Op = OpBook
		c.Side = messages.Side(1 + g.n(2))
		c.Offset, c.Limit = g.n(5), g.n(12)
	case 2:
		c.Op = OpPending
		c.User = uint32(g.n(g.Users + 1))
		c.Offset, c.Limit = g.n(3), g.n(12)
	default:
		c.Op = OpSummary
	}
}
