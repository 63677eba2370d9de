package actors_test

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// received is one command a stub actor got.
type received struct {
	actor string
	cmd   messages.Command
}

// stubs stands in for the market and shard actors: each records what it
// receives and answers at the command's reply address — with the rows
// given for an asset summary, else with a StatusReply.
type stubs struct {
	got  chan received
	rows map[string][]messages.AssetSummaryRow // by shard name
}

// replyPID returns the process a command's ReplyTo field names, whatever
// the field's declared type (a process id or an address wrapping one).
func replyPID(cmd messages.Command) *actor.PID {
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

func (s *stubs) props(name string) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		cmd, ok := ctx.Message().(messages.Command)
		if !ok {
			return
		}
		s.got <- received{name, cmd}
		var rep messages.Reply = &messages.StatusReply{}
		if _, sum := cmd.(*messages.AssetSummary); sum {
			rep = &messages.AssetSummaryReply{Rows: s.rows[name]}
		}
		if pid := replyPID(cmd); pid != nil {
			ctx.Send(pid, rep)
		}
	})
}

// newRouter starts a stub per market and shard of cfg and a router over
// them.
func newRouter(t *testing.T, cfg *config.Config, s *stubs) *actors.Router {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return testenv.Quiet() }))
	dir := &actors.Directory{}
	for _, m := range cfg.Markets {
		dir.Markets = append(dir.Markets, system.Root.Spawn(s.props("market "+m.Name)))
	}
	for i := range cfg.BalanceShards {
		dir.Shards = append(dir.Shards, system.Root.Spawn(s.props(actors.ShardName(i))))
	}
	t.Cleanup(system.Shutdown)
	return actors.NewRouter(cfg, system, dir, 5*time.Second)
}

func defaultConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BalanceShards < 2 || len(cfg.Markets) < 2 {
		t.Fatalf("bourse.yaml has %d shards and %d markets; the test needs 2 of each", cfg.BalanceShards, len(cfg.Markets))
	}
	return cfg
}

// TestRouterRoutes: every command kind reaches the actor that owns its
// state — balance commands and new orders the user's shard, the other
// order and market commands the market — and its reply comes back.
func TestRouterRoutes(t *testing.T) {
	cfg := defaultConfig(t)
	s := &stubs{got: make(chan received, 1)}
	r := newRouter(t, cfg, s)
	const user = 7
	shard := actors.ShardName(user % cfg.BalanceShards)
	m := messages.MarketID(1)
	market := "market " + cfg.Markets[m].Name
	for _, tc := range []struct {
		cmd  messages.Command
		want string
	}{
		{&messages.BalanceQuery{User: user}, shard},
		{&messages.BalanceUpdate{User: user, Business: "deposit", BusinessID: 1}, shard},
		{&messages.PutLimit{User: user, Market: m}, shard},
		{&messages.PutMarket{User: user, Market: m}, shard},
		{&messages.Cancel{User: user, Market: m}, market},
		{&messages.CancelAll{User: user, Market: m}, market},
		{&messages.Amend{User: user, Market: m}, market},
		{&messages.CancelAfter{User: user, Market: m}, market},
		{&messages.MarketHalt{Market: m}, market},
		{&messages.OrderBook{Market: m}, market},
		{&messages.OrderDepth{Market: m}, market},
		{&messages.OrderPending{User: user, Market: m}, market},
		{&messages.OrderPendingDetail{User: user, Market: m}, market},
		{&messages.MarketSummary{Market: m}, market},
	} {
		name := fmt.Sprintf("%T", tc.cmd)
		rep, err := r.Do(context.Background(), tc.cmd)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := rep.(*messages.StatusReply); !ok {
			t.Errorf("%s: reply %#v; want the stub's StatusReply", name, rep)
		}
		select {
		case got := <-s.got:
			if got.actor != tc.want || got.cmd != tc.cmd {
				t.Errorf("%s went to %s (%T); want %s", name, got.actor, got.cmd, tc.want)
			}
		default:
			t.Errorf("%s reached no actor", name)
		}
	}
}

// TestRouterUnknownMarket: a command naming a market that does not exist
// gets code 1 and reaches no actor.
func TestRouterUnknownMarket(t *testing.T) {
	cfg := defaultConfig(t)
	s := &stubs{got: make(chan received, 1)}
	r := newRouter(t, cfg, s)
	bad := messages.MarketID(len(cfg.Markets))
	for _, cmd := range []messages.Command{
		&messages.PutLimit{User: 1, Market: bad},
		&messages.PutMarket{User: 1, Market: bad},
		&messages.Cancel{User: 1, Market: bad},
		&messages.CancelAll{User: 1, Market: bad},
		&messages.Amend{User: 1, Market: bad},
		&messages.CancelAfter{User: 1, Market: bad},
		&messages.MarketHalt{Market: bad},
		&messages.OrderBook{Market: bad},
		&messages.OrderDepth{Market: bad},
		&messages.OrderPending{User: 1, Market: bad},
		&messages.OrderPendingDetail{User: 1, Market: bad},
		&messages.MarketSummary{Market: bad},
		&messages.AssetSummary{Assets: []messages.AssetID{messages.AssetID(len(cfg.Assets))}},
	} {
		rep, err := r.Do(context.Background(), cmd)
		if e, ok := rep.(*messages.ErrorReply); err != nil || !ok || e.Err.Code != messages.ErrInvalidArgument.Code {
			t.Errorf("%T: %#v, %v; want code %d", cmd, rep, err, messages.ErrInvalidArgument.Code)
		}
	}
	select {
	case got := <-s.got:
		t.Errorf("%T reached %s", got.cmd, got.actor)
	default:
	}
}

// TestRouterFailedJournal: once the journal has failed, commands for the
// actors get code 3 without reaching them; history and market-data
// commands without a store get code 3 too.
func TestRouterFailedJournal(t *testing.T) {
	cfg := defaultConfig(t)
	s := &stubs{got: make(chan received, 1)}
	r := newRouter(t, cfg, s)
	r.Failed = func() bool { return true }
	for _, cmd := range []messages.Command{
		&messages.BalanceQuery{User: 1},
		&messages.PutLimit{User: 1},
		&messages.OrderBook{},
		&messages.AssetSummary{},
		&messages.BalanceHistory{User: 1},
		&messages.MarketLast{},
	} {
		rep, err := r.Do(context.Background(), cmd)
		if e, ok := rep.(*messages.ErrorReply); err != nil || !ok || e.Err.Code != messages.ErrUnavailable.Code {
			t.Errorf("%T: %#v, %v; want code %d", cmd, rep, err, messages.ErrUnavailable.Code)
		}
	}
	select {
	case got := <-s.got:
		t.Errorf("%T reached %s", got.cmd, got.actor)
	default:
	}
}

// TestRouterAssetSummary: the summary asks every shard and sums their
// rows per asset, counts and amounts alike.
func TestRouterAssetSummary(t *testing.T) {
	cfg := defaultConfig(t)
	s := &stubs{got: make(chan received, cfg.BalanceShards), rows: map[string][]messages.AssetSummaryRow{}}
	assets := []messages.AssetID{0, 2}
	want := make([]messages.AssetSummaryRow, len(assets))
	for i := range cfg.BalanceShards {
		rows := make([]messages.AssetSummaryRow, len(assets))
		for j, a := range assets {
			rows[j] = messages.AssetSummaryRow{
				Asset: a, AvailableCount: i + j + 1, FrozenCount: 2*i + j,
				Available: *uint256.NewInt(uint64(1000*(i+1) + j)), Frozen: *uint256.NewInt(uint64(7*i + 3*j)),
			}
			w := &want[j]
			w.Asset = a
			w.AvailableCount += rows[j].AvailableCount
			w.FrozenCount += rows[j].FrozenCount
			w.Available.Add(&w.Available, &rows[j].Available)
			w.Frozen.Add(&w.Frozen, &rows[j].Frozen)
		}
		s.rows[actors.ShardName(i)] = rows
	}
	r := newRouter(t, cfg, s)
	rep, err := r.Do(context.Background(), &messages.AssetSummary{Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	sum, ok := rep.(*messages.AssetSummaryReply)
	if !ok {
		t.Fatalf("reply %#v", rep)
	}
	if !reflect.DeepEqual(sum.Rows, want) {
		t.Fatalf("summed rows %+v; want %+v", sum.Rows, want)
	}
	asked := map[string]bool{}
	for range cfg.BalanceShards {
		got := <-s.got
		if c, ok := got.cmd.(*messages.AssetSummary); !ok || !reflect.DeepEqual(c.Assets, assets) {
			t.Errorf("%s got %#v", got.actor, got.cmd)
		}
		asked[got.actor] = true
	}
	if len(asked) != cfg.BalanceShards {
		t.Errorf("asked %v; want every one of %d shards", asked, cfg.BalanceShards)
	}
}
