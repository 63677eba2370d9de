// Package workload is the seeded order-flow generator shared by every mode of
// the benchmark harness (benchmarks/cmd/harness), so that the book, the
// in-process actors, the journaled node and the HTTP server all see the same
// commands.
//
// A Generator first pre-fills every market with Options.Prefill resting
// orders spread over 2×Options.Levels price levels (asks at mid+1 … mid+Levels
// ticks, bids at mid−1 … mid−Levels, the remaining orders as a second order on
// some levels), then produces a stream of commands:
//
//   - Rest: a limit order priced 1..Levels ticks away from the mid on its own
//     side (never through the opposite best), so it rests;
//   - Cross: a limit order priced 0..4 ticks through the opposite best, so it
//     trades with one or a few makers (and rests if it is not filled);
//   - Market: a market order against a non-empty opposite side;
//   - Cancel: the cancellation of a resting order, by its owner.
//
// Markets and users are drawn from Zipf (discrete Pareto) distributions over a
// seeded permutation, so a few markets and users carry most of the activity.
//
// To know which orders rest, and so which can be cancelled, the generator runs
// its own copy of every book (actors/market/book) and executes each command
// as it produces it. The count of resting orders per market is held near
// Prefill: a Cancel becomes a Rest when a market has fallen below 90 % of it,
// and a Rest becomes a Cancel above 110 %. Rest orders go to the thinner
// side with probability 3/4. Funds are not modelled: the harness deposits
// enough for every user that no order is refused for balance.
//
// A Cancel names the command that placed its order (Ref), because the engine
// under test assigns the ids: the harness learns each placement's id from its
// reply. SimID is the id the generator's own book assigned; it equals the
// engine's id whenever the engine saw the same commands in the same order.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// Kind is what a command does.
type Kind uint8

// The command kinds.
const (
	Rest Kind = iota
	Cross
	Market
	Cancel
	nKinds
)

var kindNames = [...]string{"rest", "cross", "market", "cancel"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Fee rates of every order, at fee_prec 4: 0.002 taker, 0.001 maker.
const (
	TakerFee = 20
	MakerFee = 10
)

// Cmd is one generated command.
type Cmd struct {
	Kind   Kind
	Market int // index into the generator's markets
	User   uint32
	Side   messages.Side
	Price  int64 // limit price at money_prec; 0 for market orders and cancels
	// Amount is at stock_prec, except for a market bid: money at money_prec.
	Amount int64
	// Ref (Cancel only) is the index of the command that placed the order.
	Ref int
	// SimID is the id of the placed (or cancelled) order in the generator's
	// own books.
	SimID uint64
}

// Placement reports whether c places an order (everything but Cancel).
func (c *Cmd) Placement() bool { return c.Kind != Cancel }

// Message returns c as the engine command for market m (the market at index
// c.Market), with the given time; id is the order to cancel for a Cancel.
func (c *Cmd) Message(m *config.Market, id uint64, time int64) messages.Command {
	switch c.Kind {
	case Market:
		return &messages.PutMarket{User: c.User, Market: m.ID, Side: c.Side, Amount: c.Amount,
			TakerFee: TakerFee, Source: "harness", Time: time}
	case Cancel:
		return &messages.Cancel{User: c.User, Market: m.ID, OrderID: id, Time: time}
	default:
		return &messages.PutLimit{User: c.User, Market: m.ID, Side: c.Side, Amount: c.Amount, Price: c.Price,
			TakerFee: TakerFee, MakerFee: MakerFee, Source: "harness", Time: time}
	}
}

// Options tune a Generator. Zero fields take the defaults of Defaults.
type Options struct {
	Seed    uint64
	Users   int // user ids 1..Users
	Prefill int // resting orders per market before the stream
	Levels  int // price levels per side, from the mid
	// Mix is the percentage of each Kind in the stream (before the
	// rebalancing described in the package comment); it must sum to 100.
	Mix [nKinds]int
	// MarketSkew and UserSkew are the Zipf exponents s (> 1) of market and
	// user activity.
	MarketSkew, UserSkew float64
	// Mid is the mid price of every market at money_prec.
	Mid int64
	// MinAge is the least number of commands between a placement and its
	// cancel, so that a client would know the order's id by then: a Cancel
	// finding no resting order placed that long ago becomes a Rest.
	MinAge int
}

// Defaults are the harness's workload parameters.
var Defaults = Options{
	Seed: 1, Users: 1000, Prefill: 1000, Levels: 375,
	Mix:        [nKinds]int{Rest: 45, Cross: 20, Market: 10, Cancel: 25},
	MarketSkew: 1.2, UserSkew: 1.1,
	Mid:    100 * 10000,
	MinAge: 2000,
}

func (o *Options) fill() error {
	d := Defaults
	if o.Users == 0 {
		o.Users = d.Users
	}
	if o.Prefill == 0 {
		o.Prefill = d.Prefill
	}
	if o.Levels == 0 {
		o.Levels = d.Levels
	}
	if o.Mix == ([nKinds]int{}) {
		o.Mix = d.Mix
	}
	if o.MarketSkew == 0 {
		o.MarketSkew = d.MarketSkew
	}
	if o.UserSkew == 0 {
		o.UserSkew = d.UserSkew
	}
	if o.Mid == 0 {
		o.Mid = d.Mid
	}
	if o.MinAge == 0 {
		o.MinAge = d.MinAge
	}
	sum := 0
	for _, p := range o.Mix {
		if p < 0 {
			return fmt.Errorf("workload: negative mix %v", o.Mix)
		}
		sum += p
	}
	switch {
	case sum != 100:
		return fmt.Errorf("workload: mix %v sums to %d, not 100", o.Mix, sum)
	case o.Users < 1:
		return fmt.Errorf("workload: %d users", o.Users)
	case o.Levels < 1 || int64(o.Levels) >= o.Mid:
		return fmt.Errorf("workload: %d levels around mid %d", o.Levels, o.Mid)
	case o.MarketSkew <= 1 || o.UserSkew <= 1:
		return fmt.Errorf("workload: Zipf exponents must be > 1 (%v, %v)", o.MarketSkew, o.UserSkew)
	}
	return nil
}

// Generator produces the command stream. It is not safe for concurrent use.
type Generator struct {
	o       Options
	markets []*config.Market
	books   []*book.Book
	rng     *rand.Rand
	mz, uz  *rand.Zipf
	mperm   []int
	uperm   []uint32
	n       int                // commands produced so far (the next index)
	placed  map[uint64]int     // sim order id → index of the placing command
	counts  [nKinds]int        // commands per kind
	rejects map[string]int     // sim book refusals by message (should stay empty)
	perM    []int              // commands per market
	perU    map[uint32]int     // commands per user
	prefill []Cmd              // the prefill, once made
	scratch *messages.PutLimit // reused for Rest/Cross in the sim
}

// New returns a generator over markets (all with the same mid price).
func New(markets []*config.Market, o Options) (*Generator, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	if len(markets) == 0 {
		return nil, fmt.Errorf("workload: no markets")
	}
	g := &Generator{
		o: o, markets: markets, rng: rand.New(rand.NewPCG(o.Seed, 0x3a7e_b0c5)),
		placed: map[uint64]int{}, rejects: map[string]int{},
		perM: make([]int, len(markets)), perU: map[uint32]int{},
	}
	for _, m := range markets {
		g.books = append(g.books, book.New(actors.BookConfig(m)))
	}
	g.mz = rand.NewZipf(g.rng, o.MarketSkew, 1, uint64(len(markets)-1))
	g.uz = rand.NewZipf(g.rng, o.UserSkew, 1, uint64(o.Users-1))
	g.mperm = g.rng.Perm(len(markets))
	for _, u := range g.rng.Perm(o.Users) {
		g.uperm = append(g.uperm, uint32(u+1))
	}
	return g, nil
}

// Markets are the generator's markets; Cmd.Market indexes them.
func (g *Generator) Markets() []*config.Market { return g.markets }

// Options returns the options in use (defaults filled in).
func (g *Generator) Options() Options { return g.o }

// Produced is the number of commands produced so far, prefill included: the
// index the next command will have.
func (g *Generator) Produced() int { return g.n }

// Counts returns the number of stream commands of each kind so far.
func (g *Generator) Counts() [nKinds]int { return g.counts }

// PerMarket returns the number of stream commands per market index.
func (g *Generator) PerMarket() []int { return append([]int(nil), g.perM...) }

// PerUser returns the number of stream commands per user.
func (g *Generator) PerUser() map[uint32]int { return g.perU }

// Rejects returns the generator's own books' refusals by message; the
// workload is built so that it stays empty.
func (g *Generator) Rejects() map[string]int { return g.rejects }

// Resting returns the number of orders resting in market i of the
// generator's own book.
func (g *Generator) Resting(i int) int {
	s := g.books[i].Summary()
	return s.AskCount + s.BidCount
}

// Prefill returns the pre-fill commands of every market (all Rest, none
// crossing), in order; they take indexes 0..len-1. It must be called before
// Next, and returns the same slice when called again.
func (g *Generator) Prefill() []Cmd {
	if g.prefill != nil || g.n > 0 {
		return g.prefill
	}
	o := &g.o
	var out []Cmd
	for mi := range g.markets {
		for i := range o.Prefill {
			lvl := int64(i % o.Levels)
			if i >= 2*o.Levels {
				lvl = int64(i*7) % int64(o.Levels) // a second order on some levels
			}
			c := Cmd{Kind: Rest, Market: mi, User: uint32(1 + (i*7919+mi*104729)%o.Users),
				Amount: g.amount(mi)}
			if i%2 == 0 {
				c.Side, c.Price = messages.Ask, o.Mid+1+lvl
			} else {
				c.Side, c.Price = messages.Bid, o.Mid-1-lvl
			}
			g.exec(&c)
			out = append(out, c)
		}
	}
	g.prefill = out
	return out
}

// Next appends the next n stream commands to dst.
func (g *Generator) Next(dst []Cmd, n int) []Cmd {
	if g.prefill == nil && g.n == 0 {
		g.Prefill()
	}
	for range n {
		dst = append(dst, g.next())
	}
	return dst
}

// amount is 1..10 × min_amount of market mi.
func (g *Generator) amount(mi int) int64 {
	return int64(1+g.rng.IntN(10)) * g.markets[mi].MinUnits
}

func (g *Generator) next() Cmd {
	mi := g.mperm[g.mz.Uint64()]
	u := g.uperm[g.uz.Uint64()]
	b := g.books[mi]
	sum := b.Summary()
	bestAsk, bestBid := best(b, messages.Ask), best(b, messages.Bid)
	kind := g.pickKind(sum.AskCount+sum.BidCount, bestAsk, bestBid)

	c := Cmd{Kind: kind, Market: mi, User: u}
	switch kind {
	case Rest:
		g.rest(&c, sum, bestAsk, bestBid)
	case Cross:
		c.Side = messages.Side(1 + g.rng.IntN(2))
		through := g.rng.Int64N(5)
		if c.Side == messages.Bid {
			c.Price = cmp0(bestAsk, g.o.Mid) + through
		} else {
			c.Price = cmp0(bestBid, g.o.Mid) - through
		}
		c.Amount = g.amount(mi)
	case Market:
		g.marketOrder(&c, bestAsk, bestBid)
	case Cancel:
		g.cancel(&c, b, sum, bestAsk, bestBid)
		kind = c.Kind
	}
	g.counts[kind]++
	g.perM[mi]++
	g.perU[c.User]++
	g.exec(&c)
	return c
}

// pickKind draws a command kind by Options.Mix, then keeps the book near
// its prefill size (±10%) and turns what cannot apply (a market order on
// an empty book, a cancel with nothing resting) into a rest.
func (g *Generator) pickKind(resting int, bestAsk, bestBid int64) Kind {
	o := &g.o
	r := g.rng.IntN(100)
	kind := Rest
	for k, acc := Kind(0), 0; k < nKinds; k++ {
		acc += o.Mix[k]
		if r < acc {
			kind = k
			break
		}
	}
	switch {
	case kind == Cancel && resting*10 < o.Prefill*9:
		kind = Rest
	case kind == Rest && resting*10 > o.Prefill*11:
		kind = Cancel
	}
	if kind == Market && bestAsk == 0 && bestBid == 0 {
		kind = Rest
	}
	if kind == Cancel && resting == 0 {
		kind = Rest
	}
	return kind
}

// rest fills in a limit order that rests: on the thinner side with
// probability 3/4, up to Options.Levels ticks from the mid, never crossing.
func (g *Generator) rest(c *Cmd, sum messages.MarketSummaryReply, bestAsk, bestBid int64) {
	o := &g.o
	thin := messages.Ask
	if sum.BidCount < sum.AskCount {
		thin = messages.Bid
	}
	c.Side = thin
	if g.rng.IntN(4) == 0 {
		c.Side = thin.Opposite()
	}
	k := 1 + g.rng.Int64N(int64(o.Levels))
	if c.Side == messages.Bid {
		c.Price = o.Mid - k
		if bestAsk != 0 && c.Price >= bestAsk {
			c.Price = bestAsk - 1
		}
	} else {
		c.Price = o.Mid + k
		if bestBid != 0 && c.Price <= bestBid {
			c.Price = bestBid + 1
		}
	}
	c.Amount = g.amount(c.Market)
}

// marketOrder fills in a market order on a side that has a best price: a
// quantity of 2 to 11 minimum units, a bid's as money at the best ask.
func (g *Generator) marketOrder(c *Cmd, bestAsk, bestBid int64) {
	mi := c.Market
	c.Side = messages.Side(1 + g.rng.IntN(2))
	if (c.Side == messages.Bid && bestAsk == 0) || (c.Side == messages.Ask && bestBid == 0) {
		c.Side = c.Side.Opposite()
	}
	qty := int64(2+g.rng.IntN(10)) * g.markets[mi].MinUnits
	if c.Side == messages.Ask {
		c.Amount = qty
	} else {
		// Money for qty at the best ask: ≥ best ask × min_amount.
		c.Amount = qty * bestAsk / pow10(g.markets[mi].StockPrec)
	}
}

// cancel fills in the cancel of a victim order (its owner becomes the
// command's user), or, with nothing old enough to cancel, a rest instead.
func (g *Generator) cancel(c *Cmd, b *book.Book, sum messages.MarketSummaryReply, bestAsk, bestBid int64) {
	o := &g.o
	victim, ok := g.victim(b, c.User, sum)
	if !ok {
		c.Kind = Rest
		c.Side = messages.Side(1 + g.rng.IntN(2))
		k := 1 + g.rng.Int64N(int64(o.Levels))
		if c.Side == messages.Bid {
			c.Price = min(o.Mid-k, cmp0(bestAsk, o.Mid+1)-1)
		} else {
			c.Price = max(o.Mid+k, bestBid+1)
		}
		c.Amount = g.amount(c.Market)
		return
	}
	c.User, c.Side, c.SimID = victim.User, victim.Side, victim.ID
	c.Ref = g.placed[victim.ID]
	delete(g.placed, victim.ID)
}

// victim picks the order to cancel in book b: one of user u's resting
// orders at random, else the oldest of them, else a random order of the
// market, provided it was placed at least MinAge commands ago.
func (g *Generator) victim(b *book.Book, u uint32, sum messages.MarketSummaryReply) (messages.Order, bool) {
	old := func(o messages.Order) bool { return g.placed[o.ID] <= g.n-g.o.MinAge }
	if total, _ := b.Pending(u, 0, 0); total > 0 {
		if _, l := b.Pending(u, g.rng.IntN(total), 1); old(l[0]) {
			return l[0], true
		}
		if _, l := b.Pending(u, total-1, 1); old(l[0]) {
			return l[0], true
		}
	}
	s, n := messages.Ask, sum.AskCount
	if r := g.rng.IntN(sum.AskCount + sum.BidCount); r >= sum.AskCount {
		s, n = messages.Bid, sum.BidCount
	}
	_, l := b.Orders(s, g.rng.IntN(n), 1)
	return l[0], old(l[0])
}

// exec runs c on the generator's own book and numbers it.
func (g *Generator) exec(c *Cmd) {
	idx := g.n
	g.n++
	b := g.books[c.Market]
	events, ord, err := b.Execute(c.Message(g.markets[c.Market], c.SimID, int64(idx+1)))
	if err != nil {
		g.rejects[err.Message]++
		return
	}
	for _, ev := range events {
		if f, ok := ev.(*messages.OrderFinished); ok {
			delete(g.placed, f.OrderID)
		}
	}
	if c.Placement() {
		c.SimID = ord.ID
		if ord.Left > 0 && c.Kind != Market {
			g.placed[ord.ID] = idx
		}
	}
}

// best is the best price of side s, 0 if it is empty.
func best(b *book.Book, s messages.Side) int64 {
	_, l := b.Orders(s, 0, 1)
	if len(l) == 0 {
		return 0
	}
	return l[0].Price
}

func cmp0(v, alt int64) int64 {
	if v == 0 {
		return alt
	}
	return v
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// Config returns a configuration document with n markets M000…, each
// trading its own stock asset S000… against one money asset USD, with stock
// and money precision 4, fee precision 4 and min_amount 0.001 (prec_save 12,
// so 4+4 ≤ 12 holds for every rule of docs/protocol.md "Precision rules"), and balance_shards
// shards.
func Config(n, shards int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "fee_user_id: 0\nbalance_shards: %d\nassets:\n  - { name: USD, prec_save: 12, prec_show: 8 }\n", shards)
	for i := range n {
		fmt.Fprintf(&b, "  - { name: S%03d, prec_save: 12, prec_show: 8 }\n", i)
	}
	// max_open_orders: -1, no limit, as when these figures were first taken.
	b.WriteString("markets:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - { name: M%03d, stock: S%03d, money: USD, stock_prec: 4, money_prec: 4, fee_prec: 4, min_amount: \"0.001\", max_open_orders: -1 }\n", i, i)
	}
	return []byte(b.String())
}
