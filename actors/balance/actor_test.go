package balance_test

import (
	"context"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/holiman/uint256"
)

// recording is a journal backend that keeps the events written to it.
type recording struct {
	pj.Discard
	mu     sync.Mutex
	events []messages.Event
}

func (r *recording) Write(rs []pj.Record) error {
	r.mu.Lock()
	for _, rec := range rs {
		r.events = append(r.events, rec.Events...)
	}
	r.mu.Unlock()
	return r.Discard.Write(rs)
}

func (r *recording) updates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if _, ok := ev.(*messages.BalanceUpdated); ok {
			n++
		}
	}
	return n
}

// shards is two real balance shard actors behind a router, with a journal
// that records what they append and market stubs that hold on to the
// orders forwarded to them (answering their callers at once).
type shards struct {
	t       *testing.T
	cfg     *config.Config
	system  *actor.ActorSystem
	router  *actors.Router
	dir     *actors.Directory
	backend *recording
	orders  chan messages.Command // as the markets received them
	// moved is what every accepted balance.update added, per asset (a
	// withdrawal subtracts): the sum of all balances must equal it.
	moved map[messages.AssetID]int64
}

const nShards = 2

func newShards(t *testing.T) *shards {
	t.Helper()
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BalanceShards = nShards
	s := &shards{t: t, cfg: cfg, backend: &recording{}, orders: make(chan messages.Command, 16), moved: map[messages.AssetID]int64{}}
	s.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return testenv.Quiet() }))
	t.Cleanup(s.system.Shutdown)
	j := journal.Start(s.backend, s.system.Root, journal.Options{Mode: journal.Sync, Log: testenv.Quiet()})
	t.Cleanup(func() { j.Close() })
	s.dir = &actors.Directory{}
	books := make([]book.Config, len(cfg.Markets))
	for i, m := range cfg.Markets {
		books[i] = actors.BookConfig(m)
		s.dir.Markets = append(s.dir.Markets, s.system.Root.Spawn(actor.PropsFromFunc(s.market)))
	}
	env := &balance.Env{Journal: j, Markets: books, Dir: s.dir}
	for i := range nShards {
		l := ledger.New(ledger.Config{Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID, WindowMicros: 1e12, Shard: i, Shards: nShards})
		s.dir.Shards = append(s.dir.Shards, s.system.Root.Spawn(balance.Props(l, i, env)))
	}
	s.router = actors.NewRouter(cfg, s.system, s.dir, 5*time.Second)
	return s
}

// market is a market stub: it keeps each order and answers it with a
// StatusReply, leaving the reservation in flight.
func (s *shards) market(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.PutLimit:
		s.orders <- m
		ctx.Send(replyTo(m), &messages.StatusReply{})
	case *messages.PutMarket:
		s.orders <- m
		ctx.Send(replyTo(m), &messages.StatusReply{})
	}
}

func (s *shards) do(cmd messages.Command) messages.Reply {
	s.t.Helper()
	rep, err := s.router.Do(context.Background(), cmd)
	if err != nil {
		s.t.Fatalf("%T: %v", cmd, err)
	}
	return rep
}

// code is the error code of a reply, 0 for a success.
func code(rep messages.Reply) int {
	if e, ok := rep.(*messages.ErrorReply); ok {
		return e.Err.Code
	}
	return 0
}

// units is v whole units of an asset at its prec_save.
func (s *shards) units(a messages.AssetID, v int64) uint256.Int {
	var u uint256.Int
	u.Mul(uint256.NewInt(uint64(v)), new(uint256.Int).Exp(uint256.NewInt(10), uint256.NewInt(uint64(s.cfg.Assets[a].PrecSave))))
	return u
}

// update sends a balance.update of v whole units (negative: a withdrawal)
// and returns the reply's code; an accepted one is counted in moved.
func (s *shards) update(user uint32, a messages.AssetID, business string, id uint64, v int64) int {
	s.t.Helper()
	abs := v
	if v < 0 {
		abs = -v
	}
	c := code(s.do(&messages.BalanceUpdate{User: user, Asset: a, Business: business, BusinessID: id,
		Change: s.units(a, abs), Negative: v < 0, Detail: []byte("{}"), Time: 1}))
	if c == 0 {
		s.moved[a] += v
	}
	return c
}

func (s *shards) balance(user uint32, a messages.AssetID) messages.Balance {
	s.t.Helper()
	rep, ok := s.do(&messages.BalanceQuery{User: user, Assets: []messages.AssetID{a}}).(*messages.BalanceQueryReply)
	if !ok || len(rep.Balances) != 1 {
		s.t.Fatalf("balance query: %#v", rep)
	}
	return rep.Balances[0]
}

// want checks a user's available and frozen, in whole units.
func (s *shards) want(user uint32, a messages.AssetID, available, frozen int64) {
	s.t.Helper()
	b := s.balance(user, a)
	if wa, wf := s.units(a, available), s.units(a, frozen); !b.Available.Eq(&wa) || !b.Frozen.Eq(&wf) {
		s.t.Fatalf("user %d %s: available %s frozen %s; want %d and %d units", user, s.cfg.Assets[a].Name,
			b.Available.Dec(), b.Frozen.Dec(), available, frozen)
	}
}

// conserved checks that the shards' balances, available plus frozen and
// summed over every user by the router, equal what the accepted updates
// moved.
func (s *shards) conserved() {
	s.t.Helper()
	rep, ok := s.do(&messages.AssetSummary{}).(*messages.AssetSummaryReply)
	if !ok {
		s.t.Fatalf("asset summary: %#v", rep)
	}
	for _, row := range rep.Rows {
		var total uint256.Int
		total.Add(&row.Available, &row.Frozen)
		if want := s.units(row.Asset, s.moved[row.Asset]); !total.Eq(&want) {
			s.t.Fatalf("%s: balances sum to %s; the updates moved %s", s.cfg.Assets[row.Asset].Name, total.Dec(), want.Dec())
		}
	}
}

// TestUpdateIdempotent: a deposit or withdrawal is applied once per
// business id; a repeat gets code 10, a withdrawal over the available
// balance code 11, and neither changes a balance or reaches the journal.
func TestUpdateIdempotent(t *testing.T) {
	s := newShards(t)
	const btc, user = messages.AssetID(0), uint32(5)
	steps := []struct {
		business string
		id       uint64
		v        int64
		code     int
	}{
		{"deposit", 1, 10, 0},
		{"deposit", 1, 10, messages.ErrRepeatUpdate.Code},
		{"deposit", 1, 3, messages.ErrRepeatUpdate.Code}, // the key is the business id, not the amount
		{"deposit", 2, 10, 0},
		{"withdraw", 1, -4, 0},
		{"withdraw", 1, -4, messages.ErrRepeatUpdate.Code},
		{"withdraw", 2, -17, messages.ErrWithdrawNotEnough.Code},
		{"withdraw", 2, -16, 0},
	}
	journaled := 0
	for i, st := range steps {
		if c := s.update(user, btc, st.business, st.id, st.v); c != st.code {
			t.Fatalf("step %d %s/%d %d: code %d; want %d", i, st.business, st.id, st.v, c, st.code)
		}
		if st.code == 0 {
			journaled++
		}
		if got := s.backend.updates(); got != journaled {
			t.Fatalf("step %d: %d updates journaled; want %d", i, got, journaled)
		}
		s.conserved()
	}
	s.want(user, btc, 0, 0)
	if c := s.update(user+1, btc, "deposit", 1, 1); c != 0 {
		t.Fatalf("the same business id for another user: code %d", c)
	}
	if c := s.update(0, btc, "deposit", 9, 1); c != messages.ErrInvalidArgument.Code {
		t.Fatalf("user 0: code %d; want %d", c, messages.ErrInvalidArgument.Code)
	}
	s.conserved()
}

// TestReserveAndRelease: an order freezes its funds before it reaches the
// market; a rejection (Unreserve) or the order's end (Settle with its
// release) makes them available again; an order over the available
// balance gets code 10 and freezes nothing. Balances always sum to what
// was deposited.
func TestReserveAndRelease(t *testing.T) {
	s := newShards(t)
	m := messages.MarketID(0) // BTCUSDT
	bc := actors.BookConfig(s.cfg.Markets[m])
	const user = uint32(3)
	if c := s.update(user, bc.Money, "deposit", 1, 1000); c != 0 {
		t.Fatalf("deposit: code %d", c)
	}
	// buy 2 BTC at 100 USDT: 200 USDT frozen
	buy := &messages.PutLimit{User: user, Market: m, Side: messages.Bid, Amount: 2 * pow10(bc.StockPrec),
		Price: 100 * pow10(bc.MoneyPrec), Source: "test"}
	if c := code(s.do(buy)); c != 0 {
		t.Fatalf("put_limit: code %d", c)
	}
	first := (<-s.orders).(*messages.PutLimit)
	if first.Reservation == 0 || first.User != user {
		t.Fatalf("forwarded order %+v: no reservation", first)
	}
	s.want(user, bc.Money, 800, 200)
	s.conserved()

	over := *buy
	over.Price = 401 * pow10(bc.MoneyPrec) // 802 > 800 available
	if c := code(s.do(&over)); c != messages.ErrBalanceNotEnough.Code {
		t.Fatalf("order over the balance: code %d; want %d", c, messages.ErrBalanceNotEnough.Code)
	}
	s.want(user, bc.Money, 800, 200)

	second := *buy
	if c := code(s.do(&second)); c != 0 {
		t.Fatalf("second put_limit: code %d", c)
	}
	fwd := (<-s.orders).(*messages.PutLimit)
	s.want(user, bc.Money, 600, 400)

	// the market rejects the second order: its reservation comes back once
	shard := s.dir.Shard(user)
	un := &messages.Unreserve{Reservation: fwd.Reservation, User: user} // the shard knows what it reserved
	s.system.Root.Send(shard, un)
	s.system.Root.Send(shard, un)
	s.want(user, bc.Money, 800, 200)

	// the first order is cancelled: its settle releases the frozen funds
	s.system.Root.Send(shard, &messages.Settle{LSN: 1, Reservation: first.Reservation, Events: []messages.Event{
		&messages.OrderFinished{Market: m, User: user, Asset: bc.Money, Release: s.units(bc.Money, 200), Cancelled: true},
	}})
	s.want(user, bc.Money, 1000, 0)
	s.conserved()

	if c := code(s.do(&messages.PutLimit{User: user, Market: messages.MarketID(len(s.cfg.Markets)), Side: messages.Bid,
		Amount: 1, Price: 1, Source: "test"})); c != messages.ErrInvalidArgument.Code {
		t.Fatalf("unknown market: code %d; want %d", c, messages.ErrInvalidArgument.Code)
	}
	select {
	case o := <-s.orders:
		t.Fatalf("a refused order reached its market: %+v", o)
	default:
	}
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// replyTo returns the process a command's ReplyTo field names, whatever
// the field's declared type (a process id or an address wrapping one).
func replyTo(cmd messages.Command) *actor.PID {
	f := reflect.ValueOf(cmd).Elem().FieldByName("ReplyTo")
	if f.Kind() == reflect.Interface {
		f = f.Elem()
	}
	pidType := reflect.TypeFor[*actor.PID]()
	if !f.IsValid() || !f.Type().ConvertibleTo(pidType) {
		return nil
	}
	return f.Convert(pidType).Interface().(*actor.PID)
}
