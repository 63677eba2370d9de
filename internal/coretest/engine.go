package coretest

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/fixed"
	mkt "github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Engine is the cores glued as the actors glue them: commands are decided
// by the actors' own step functions (balance.Shard.Decide, market.Decide)
// and committed by actors.Commit, whose messages the Engine delivers at
// once instead of through mailboxes.
type Engine struct {
	Cfg    *config.Config
	Books  []*book.Book     // by MarketID
	Shards []*ledger.Ledger // user U in Shards[U % len]
	// Net is Σ deposits − Σ withdrawals per asset, in prec_save units.
	Net []*big.Int
	// Events is every event applied, in journal order (kept with Replay on).
	Events []messages.Event
	// Replay enables the shadow cores (state after replaying Events).
	Replay bool
	// OnAppend, if set, receives the events of every step in the order
	// the actors would journal them (a command's own step, then the steps
	// it causes): internal/clustersim proposes them.
	OnAppend func([]messages.Event)

	cores        []*balance.Shard // the shards' state around Shards
	shadowBooks  []*book.Book
	shadowLedger *ledger.Ledger
	dirty        []bool // books changed since the last Check
	lsn          uint64
	out          outcome
	post         *post
}

// outcome is what the last command's steps answered and appended.
type outcome struct {
	events []messages.Event
	reply  messages.Reply
	order  messages.Order
}

// replyTo stands for the caller in the steps the Engine commits.
var replyTo = &actor.PID{Id: "coretest"}

// DefaultConfig returns the embedded default configuration (bourse.yaml).
func DefaultConfig() *config.Config {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		panic(err)
	}
	return cfg
}

// MustConfig parses a configuration document or panics.
func MustConfig(doc string) *config.Config {
	cfg, err := config.Parse([]byte(doc))
	if err != nil {
		panic(err)
	}
	return cfg
}

// NewEngine returns empty cores for cfg with the given number of balance
// shards; replay enables the shadow replay check.
func NewEngine(cfg *config.Config, shards int, replay bool) *Engine {
	e := &Engine{Cfg: cfg, Replay: replay}
	e.post = &post{e}
	window := cfg.IdempotencyWindow.Microseconds()
	for _, m := range cfg.Markets {
		e.Books = append(e.Books, book.New(actors.BookConfig(m)))
		e.dirty = append(e.dirty, true)
		if replay {
			e.shadowBooks = append(e.shadowBooks, book.New(actors.BookConfig(m)))
		}
	}
	for i := range shards {
		l := ledger.New(ledger.Config{
			Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID, WindowMicros: window, Shard: i, Shards: shards,
		})
		e.Shards = append(e.Shards, l)
		e.cores = append(e.cores, balance.NewShard(l, i))
	}
	if replay {
		e.shadowLedger = ledger.New(ledger.Config{Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID, WindowMicros: window, Shards: 1})
	}
	for range cfg.Assets {
		e.Net = append(e.Net, new(big.Int))
	}
	return e
}

// EngineFrom returns an engine over existing cores — books by MarketID,
// shards whose ledger i owns users u with u % len(shards) == i, and net
// (Σ deposits − Σ withdrawals per asset) — as actors are spawned from a
// recovered state. The engine takes the cores over; shadow replay is off.
func EngineFrom(cfg *config.Config, books []*book.Book, shards []*ledger.Ledger, net []*big.Int) *Engine {
	e := &Engine{Cfg: cfg, Books: books, Shards: shards, Net: net}
	e.post = &post{e}
	for i, l := range shards {
		e.cores = append(e.cores, balance.NewShard(l, i))
	}
	for range books {
		e.dirty = append(e.dirty, true)
	}
	return e
}

// Shard returns the ledger that owns user.
func (e *Engine) Shard(user uint32) *ledger.Ledger {
	return e.Shards[int(user%uint32(len(e.Shards)))]
}

// Balance returns a user's balance of an asset from the owning shard.
func (e *Engine) Balance(user uint32, asset messages.AssetID) messages.Balance {
	return e.Shard(user).Balance(user, asset)
}

// Update runs a balance.update (Change at the asset's prec_save) on the
// user's shard.
func (e *Engine) Update(cmd *messages.BalanceUpdate) (*messages.BalanceUpdated, *messages.Error) {
	events, _, err := e.shardStep(cmd, cmd.User, nil)
	if err != nil {
		return nil, err
	}
	ev := events[0].(*messages.BalanceUpdated)
	n := e.Net[ev.Asset]
	if ev.Negative {
		n.Sub(n, ev.Change.ToBig())
	} else {
		n.Add(n, ev.Change.ToBig())
	}
	return ev, nil
}

// PutLimit runs a limit order as shard and market would: arguments (1),
// balance (10) and min_amount (11) at the shard, which reserves; then the
// book.
func (e *Engine) PutLimit(cmd *messages.PutLimit) ([]messages.Event, messages.Order, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.Order{}, messages.ErrInvalidArgument
	}
	return e.shardStep(cmd, cmd.User, e.Books[cmd.Market].Config())
}

// PutMarket runs a market order: arguments (1) and balance (10) at the
// shard, which reserves; then the book (12 empty book, 11 min_amount).
func (e *Engine) PutMarket(cmd *messages.PutMarket) ([]messages.Event, messages.Order, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.Order{}, messages.ErrInvalidArgument
	}
	return e.shardStep(cmd, cmd.User, e.Books[cmd.Market].Config())
}

// shardStep decides cmd at user's shard (c: the order's market, nil for a
// balance update) and commits the step; an order goes on to its market
// (post.Forward).
func (e *Engine) shardStep(cmd messages.Command, user uint32, c *book.Config) ([]messages.Event, messages.Order, *messages.Error) {
	e.out = outcome{}
	s := actors.Step{ReplyTo: replyTo}
	e.cores[int(user%uint32(len(e.cores)))].Decide(cmd, c, &s)
	actors.Commit(e.post, &s)
	return e.result()
}

// result is what the last command answered: its events and order, or its
// error.
func (e *Engine) result() ([]messages.Event, messages.Order, *messages.Error) {
	if r, ok := e.out.reply.(*messages.ErrorReply); ok {
		return nil, messages.Order{}, r.Err
	}
	return e.out.events, e.out.order, nil
}

// Cancel runs order.cancel at the market.
func (e *Engine) Cancel(cmd *messages.Cancel) ([]messages.Event, messages.Order, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.Order{}, messages.ErrInvalidArgument
	}
	return e.execute(cmd, cmd.Market)
}

// CancelAll runs order.cancel_all at the market.
func (e *Engine) CancelAll(cmd *messages.CancelAll) ([]messages.Event, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.ErrInvalidArgument
	}
	events, _, err := e.execute(cmd, cmd.Market)
	return events, err
}

// Amend runs order.amend at the market.
func (e *Engine) Amend(cmd *messages.Amend) ([]messages.Event, messages.Order, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.Order{}, messages.ErrInvalidArgument
	}
	return e.execute(cmd, cmd.Market)
}

// CancelAfter runs order.cancel_all_after at the market.
func (e *Engine) CancelAfter(cmd *messages.CancelAfter) ([]messages.Event, *messages.Error) {
	if int(cmd.Market) >= len(e.Books) {
		return nil, messages.ErrInvalidArgument
	}
	events, _, err := e.execute(cmd, cmd.Market)
	return events, err
}

// Tick tells every market the time, as the runtime's ticks do: the
// dead-man's switches due fire.
func (e *Engine) Tick(now int64) []messages.Event {
	var all []messages.Event
	for m, b := range e.Books {
		s := actors.Step{Events: b.Expire(now)}
		e.dirty[m] = true
		actors.Commit(e.post, &s)
		all = append(all, s.Events...)
	}
	return all
}

// execute decides and commits cmd at its market.
func (e *Engine) execute(cmd messages.Command, market messages.MarketID) ([]messages.Event, messages.Order, *messages.Error) {
	e.out = outcome{}
	e.marketStep(cmd, market)
	return e.result()
}

// marketStep decides cmd on the live book (market.Decide) and commits the
// step. With Replay on, the shadow book (state rebuilt from events only)
// must decide cmd exactly as the live book does.
func (e *Engine) marketStep(cmd messages.Command, market messages.MarketID) {
	var shadow []messages.Event
	var serr *messages.Error
	if e.Replay {
		shadow, serr = e.shadowDecide(cmd, market)
	}
	s := mkt.NewStep(cmd, replyTo)
	mkt.Decide(e.Books[market], cmd, &s)
	e.dirty[market] = true
	var err *messages.Error
	if r, ok := s.Reply.(*messages.ErrorReply); ok {
		err = r.Err
	}
	events := s.Events
	// The shadow decides the command's own events; those of the stops they
	// triggered follow (checked through the replayed state).
	if e.Replay && (len(shadow) > len(events) || !reflect.DeepEqual(shadow, events[:len(shadow)]) || serr != err) {
		panic(fmt.Sprintf("coretest: replayed book decides %T differently:\nlive   %v %s\nreplay %v %s",
			cmd, err, FormatEvents(e.Cfg, events), serr, FormatEvents(e.Cfg, shadow)))
	}
	actors.Commit(e.post, &s)
}

func (e *Engine) shadowDecide(cmd messages.Command, market messages.MarketID) ([]messages.Event, *messages.Error) {
	sb := e.shadowBooks[market]
	switch c := cmd.(type) {
	case *messages.PutLimit:
		return sb.PutLimit(c)
	case *messages.PutMarket:
		return sb.PutMarket(c)
	case *messages.Cancel:
		return sb.Cancel(c)
	case *messages.CancelAll:
		return sb.CancelAll(c)
	case *messages.Amend:
		return sb.Amend(c)
	case *messages.CancelAfter:
		return sb.CancelAfter(c)
	}
	return nil, nil
}

// post is the Engine as the actors' outbox: what a step appends goes to
// the shadow cores, settlements and reservations to the shard cores at
// once, forwarded orders to their market's step, answers to the caller.
type post struct{ e *Engine }

func (p *post) Append(events []messages.Event) uint64 {
	e := p.e
	e.lsn++
	e.out.events = events
	if e.OnAppend != nil {
		e.OnAppend(events)
	}
	if e.Replay {
		for _, ev := range events {
			for _, b := range e.shadowBooks {
				b.Apply(ev)
			}
			e.shadowLedger.Apply(ev, ledger.Replay)
		}
		e.Events = append(e.Events, events...)
	}
	return e.lsn
}

func (p *post) Settle(shard int, m messages.Settle)       { p.e.cores[shard].Settle(&m) }
func (p *post) Unreserve(shard int, m messages.Unreserve) { p.e.cores[shard].Unreserve(&m) }
func (p *post) Forward(market messages.MarketID, cmd messages.Command) {
	p.e.marketStep(cmd, market)
}
func (p *post) Reply(_ *actor.PID, reply messages.Reply, _ bool) { p.e.out.reply = reply }
func (p *post) ReplyOrder(_ *actor.PID, o messages.Order)        { p.e.out.order = o }
func (p *post) Shards() int                                      { return len(p.e.cores) }
func (p *post) FeeUser() uint32                                  { return p.e.Cfg.FeeUserID }

// Reservation is what an open order keeps frozen: an ask its Left stock,
// a limit bid price × Left money, a held stop-market bid its Amount money,
// at the asset's prec_save.
func Reservation(c *book.Config, o *messages.Order) (messages.AssetID, uint256.Int) {
	if o.Side == messages.Ask {
		return c.Stock, fixed.FromInt64(o.Left, c.StockPrec, c.StockSave)
	}
	if o.Type == messages.Market {
		return c.Money, fixed.FromInt64(o.Amount, c.MoneyPrec, c.MoneySave)
	}
	d := fixed.Mul64(o.Price, o.Left)
	return c.Money, fixed.Rescale(&d, c.StockPrec+c.MoneyPrec, c.MoneySave)
}

type userAsset struct {
	user  uint32
	asset messages.AssetID
}

// Check verifies the invariants that hold between commands:
//
//   - conservation: for each asset, Σ(available+frozen) over every account
//     of every shard, fee account included, equals Net;
//   - frozen = reservations: for each user and asset, frozen equals the sum
//     of the reservations of the user's resting orders (and each resting
//     order's own Frozen equals its reservation);
//   - each shard holds only accounts it owns;
//   - each book's listings (Orders, Pending, Depth, Summary) agree with
//     EachOrder, in priority order;
//   - with Replay on, the state rebuilt from the events equals the live state.
//
// Listings and replayed books are compared for the books that changed since
// the last Check only.
func (e *Engine) Check() error {
	want, err := e.checkBooks()
	if err != nil {
		return err
	}
	total, err := e.checkShards(want)
	if err != nil {
		return err
	}
	for k, w := range want {
		if b := e.Balance(k.user, k.asset); !b.Frozen.Eq(w) {
			return fmt.Errorf("user %d asset %d: frozen %s; resting orders reserve %s", k.user, k.asset, b.Frozen.Dec(), w.Dec())
		}
	}
	for a := range total {
		if total[a].Cmp(e.Net[a]) != 0 {
			return fmt.Errorf("%s: Σ balances %s; Σ deposits − withdrawals %s", e.Cfg.Assets[a].Name, total[a], e.Net[a])
		}
	}
	if e.Replay {
		if err := e.checkReplay(); err != nil {
			return err
		}
	}
	clear(e.dirty)
	return nil
}

// checkBooks checks every open order's fields and reservation, and the
// listings of the books changed since the last Check; it returns what the
// open orders reserve per user and asset.
func (e *Engine) checkBooks() (map[userAsset]*uint256.Int, error) {
	want := make(map[userAsset]*uint256.Int)
	for m, b := range e.Books {
		c := b.Config()
		var err error
		b.EachOrder(func(o *messages.Order) {
			asset, r := Reservation(c, o)
			if (o.Type != messages.Limit && !o.Held()) || o.Left <= 0 || o.Left > o.Amount || o.DealStock != o.Amount-o.Left {
				err = fmt.Errorf("open order %d: type %d amount %d left %d deal_stock %d", o.ID, o.Type, o.Amount, o.Left, o.DealStock)
			}
			if !o.Frozen.Eq(&r) && err == nil {
				err = fmt.Errorf("open order %d: frozen %s; want reservation %s", o.ID, o.Frozen.Dec(), r.Dec())
			}
			k := userAsset{o.User, asset}
			if want[k] == nil {
				want[k] = new(uint256.Int)
			}
			want[k].Add(want[k], &r)
		})
		if err != nil {
			return nil, err
		}
		if !e.dirty[m] {
			continue
		}
		if err := checkListings(b); err != nil {
			return nil, fmt.Errorf("market %d: %w", c.Market, err)
		}
	}
	return want, nil
}

// checkShards checks that each shard holds only its users and that every
// frozen balance is what the open orders reserve (want); it returns the
// total of each asset over all balances.
func (e *Engine) checkShards(want map[userAsset]*uint256.Int) ([]*big.Int, error) {
	total := make([]*big.Int, len(e.Cfg.Assets))
	for i := range total {
		total[i] = new(big.Int)
	}
	var err error
	for si, sh := range e.Shards {
		sh.Each(func(user uint32, bals []messages.Balance) {
			if !sh.Config().Owns(user) && err == nil {
				err = fmt.Errorf("shard %d holds user %d", si, user)
			}
			for a := range bals {
				b := &bals[a]
				total[a].Add(total[a], b.Available.ToBig())
				total[a].Add(total[a], b.Frozen.ToBig())
				w := want[userAsset{user, messages.AssetID(a)}]
				if w == nil {
					w = new(uint256.Int)
				}
				if !b.Frozen.Eq(w) && err == nil {
					err = fmt.Errorf("user %d %s: frozen %s; resting orders reserve %s", user, e.Cfg.Assets[a].Name,
						fixed.Format(&b.Frozen, e.Cfg.Assets[a].PrecSave), fixed.Format(w, e.Cfg.Assets[a].PrecSave))
				}
			}
		})
	}
	return total, err
}

func (e *Engine) checkReplay() error {
	for m, b := range e.Books {
		if !e.dirty[m] {
			continue
		}
		var live, replayed []messages.Order
		b.EachOrder(func(o *messages.Order) { live = append(live, *o) })
		e.shadowBooks[m].EachOrder(func(o *messages.Order) { replayed = append(replayed, *o) })
		if !slices.Equal(live, replayed) {
			return fmt.Errorf("market %d: replayed book differs:\nlive   %+v\nreplay %+v", m, live, replayed)
		}
	}
	var err error
	for _, sh := range e.Shards {
		sh.Each(func(user uint32, bals []messages.Balance) {
			for a := range bals {
				if r := e.shadowLedger.Balance(user, messages.AssetID(a)); r != bals[a] && err == nil {
					err = fmt.Errorf("user %d asset %d: live %s/%s, replayed %s/%s", user, a,
						bals[a].Available.Dec(), bals[a].Frozen.Dec(), r.Available.Dec(), r.Frozen.Dec())
				}
			}
		})
	}
	if err != nil {
		return err
	}
	e.shadowLedger.Each(func(user uint32, bals []messages.Balance) {
		for a := range bals {
			if l := e.Balance(user, messages.AssetID(a)); l != bals[a] && err == nil {
				err = fmt.Errorf("user %d asset %d: replayed %s/%s, live %s/%s", user, a,
					bals[a].Available.Dec(), bals[a].Frozen.Dec(), l.Available.Dec(), l.Frozen.Dec())
			}
		}
	})
	return err
}

// checkListings cross-checks a book's query functions against EachOrder.
func checkListings(b *book.Book) error {
	var all []messages.Order
	b.EachOrder(func(o *messages.Order) { all = append(all, *o) })
	var asks, bids []messages.Order
	var askAmt, bidAmt int64
	var over bool // the book's int64 totals must not wrap
	for _, o := range all {
		if o.Held() {
			continue // open, but not in the book
		}
		if o.Side == messages.Ask {
			asks = append(asks, o)
			askAmt, over = addInt64(askAmt, o.Left, over)
		} else {
			bids = append(bids, o)
			bidAmt, over = addInt64(bidAmt, o.Left, over)
		}
	}
	if over {
		return fmt.Errorf("Σ left of a side overflows int64")
	}
	s := b.Summary()
	if s.AskCount != len(asks) || s.BidCount != len(bids) || s.AskAmount != askAmt || s.BidAmount != bidAmt {
		return fmt.Errorf("summary %+v; orders: %d asks Σ %d, %d bids Σ %d", s, len(asks), askAmt, len(bids), bidAmt)
	}
	if err := checkSide(b, messages.Ask, asks); err != nil {
		return err
	}
	if err := checkSide(b, messages.Bid, bids); err != nil {
		return err
	}
	if err := checkUserListings(b, all); err != nil {
		return err
	}
	da, db := b.Depth(len(all)+1, 0)
	var sa, sb int64
	for _, l := range da {
		sa, over = addInt64(sa, l.Amount, over)
	}
	for _, l := range db {
		sb, over = addInt64(sb, l.Amount, over)
	}
	if over || sa != askAmt || sb != bidAmt {
		return fmt.Errorf("depth sums %d/%d (overflow %v); orders %d/%d", sa, sb, over, askAmt, bidAmt)
	}
	return nil
}

// checkSide checks the order of one side's resting orders and that
// Book.Orders lists them so. Best price first; within a price, the orders
// that rested when placed in id order. A stop order rests when it
// triggers, behind whatever rested before: its place is the
// differential's to check.
func checkSide(b *book.Book, side messages.Side, orders []messages.Order) error {
	var lastID uint64 // of the last order at this price not triggered from a stop
	for i, o := range orders {
		if i > 0 {
			p := orders[i-1]
			better := p.Price < o.Price
			if side == messages.Bid {
				better = p.Price > o.Price
			}
			if !better && p.Price != o.Price {
				return fmt.Errorf("side %d: order %d (price %d) before order %d (price %d)", side, p.ID, p.Price, o.ID, o.Price)
			}
			if better {
				lastID = 0
			}
		}
		if !o.Triggered {
			if o.ID <= lastID {
				return fmt.Errorf("side %d: order %d before order %d at price %d", side, lastID, o.ID, o.Price)
			}
			lastID = o.ID
		}
	}
	total, list := b.Orders(side, 0, len(orders)+1)
	if total != len(orders) || !slices.Equal(list, orders) {
		return fmt.Errorf("Orders(%d) = %d %v; EachOrder has %v", side, total, list, orders)
	}
	return nil
}

// checkUserListings checks the lookups by client id and each user's
// pending list (newest first) against all the open orders.
func checkUserListings(b *book.Book, all []messages.Order) error {
	byUser := make(map[uint32][]messages.Order)
	for _, o := range all {
		byUser[o.User] = append(byUser[o.User], o)
		if o.ClientID != "" {
			if c := b.OrderByClientID(o.User, o.ClientID); c == nil || *c != o {
				return fmt.Errorf("OrderByClientID(%d, %q) = %v; want order %d", o.User, o.ClientID, c, o.ID)
			}
		}
	}
	for u, list := range byUser {
		slices.SortFunc(list, func(a, b messages.Order) int { return -cmpU64(a.ID, b.ID) })
		total, got := b.Pending(u, 0, len(list)+1)
		if total != len(list) || !slices.Equal(got, list) {
			return fmt.Errorf("Pending(%d) = %d %v; want %v", u, total, got, list)
		}
	}
	return nil
}

// addInt64 adds non-negative values, noting overflow.
func addInt64(a, b int64, over bool) (int64, bool) {
	if b < 0 || a > math.MaxInt64-b {
		return a + b, true
	}
	return a + b, over
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
