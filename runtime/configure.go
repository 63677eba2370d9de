package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// The operator's run-time changes of the durable configuration (asset.add,
// market.add, market.update). One at a time, a change is checked against
// the configuration in force (config.WithAsset, WithMarket, WithRules: a
// refusal is code 1 naming the parameter, and nothing changes), the whole
// new configuration is journaled as a messages.ConfigSet — market.update
// by the market's actor, in order with its orders — and only once that is
// durable is it applied: the shards learn the new asset count and market
// configurations, a new market's actor is spawned under the markets
// supervisor and named in the Directory, and the router puts the new
// configuration in force for the edges. Replay applies the same ConfigSet
// at the same place (State.Apply), and so do the snapshotter and the
// journal followers, in log order.

// configureWait bounds each internal wait of a change (an actor's answer):
// it does not follow the request's deadline, so that a change that is
// durable is also applied when its client has gone.
const configureWait = 30 * time.Second

// configurator applies run-time configuration changes one at a time.
type configurator struct {
	mu      sync.Mutex
	n       *Node
	opts    Options
	rebuild *durable // nil without a journal
	// broken: a change may be durable but is not (all) in force live — its
	// apply failed, or a market's actor did not answer in time. Every
	// later change is refused (code 3) until a restart replays it: one
	// applied over a half-applied one could give a new market the id of a
	// market whose actor already holds it.
	broken bool
}

// configure is the router's Configure.
func (c *configurator) configure(_ context.Context, cmd messages.ConfigCommand) (messages.Reply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	if c.broken {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	cur := n.Router.Config()
	next, err := change(cur, cmd)
	if err != nil {
		return &messages.ErrorReply{Err: refusal(err)}, nil
	}
	spec := next.Spec()
	if config.SameSpec(cur.Spec(), spec) {
		return &messages.StatusReply{}, nil // market.update to what is in force: nothing to journal
	}
	if up, ok := cmd.(*messages.MarketUpdate); ok {
		rep := c.ask(n.Router.Directory().Market(up.Market),
			&actors.MarketRules{Spec: spec, Config: actors.BookConfig(next.Markets[up.Market])}, true)
		if rep == nil {
			// The step may still be journaled and in force in the
			// book: the outcome is unknown until a restart.
			c.broken = true
			n.log.Error("market.update: the market's actor did not answer; further configuration changes are refused until a restart", "market", up.Market)
			return &messages.ErrorReply{Err: messages.ErrServiceTimeout}, nil
		}
		if _, ok := rep.(*messages.StatusReply); !ok {
			return orInternal(rep), nil
		}
	} else {
		n.Journal.Append([]messages.Event{spec})
	}
	if _, err := n.Journal.Barrier(); err != nil {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	err = c.apply(cur, next)
	if f := c.opts.Faults; err == nil && f != nil && f("configurator", "apply", cmd) {
		err = errors.New("injected fault")
	}
	if err != nil {
		// Durable, and replayed at the next start, but not (all) applied
		// live: say so loudly.
		c.broken = true
		n.log.Error("configuration change journaled but not applied: restart the node; further changes are refused until then", "err", err)
		return &messages.ErrorReply{Err: messages.ErrInternal}, nil
	}
	n.log.Warn("configuration changed at run time", "lsn", n.Journal.LastLSN(),
		"changes", strings.Join(next.DescribeSpecChange(cur.Spec()), "; "))
	return &messages.StatusReply{}, nil
}

// change is cur with cmd applied, or the refusal.
func change(cur *config.Config, cmd messages.ConfigCommand) (*config.Config, error) {
	switch c := cmd.(type) {
	case *messages.AssetAdd:
		a := config.Asset{Name: c.Name, PrecSave: c.PrecSave}
		if c.PrecShow >= 0 {
			show := c.PrecShow
			a.PrecShow = &show
		}
		return cur.WithAsset(a)
	case *messages.MarketAdd:
		m := config.Market{Name: c.Name, Stock: c.Stock, Money: c.Money, StockPrec: c.StockPrec, MoneyPrec: c.MoneyPrec,
			MaxOpenOrders: c.MaxOpenOrders, STP: c.STP}
		if c.FeePrec >= 0 {
			fee := c.FeePrec
			m.FeePrec = &fee
		}
		if c.MinAmount != "" {
			min := c.MinAmount
			m.MinAmount = &min
		}
		if c.MakerFee != "" {
			maker := c.MakerFee
			m.MakerFee = &maker
		}
		if c.TakerFee != "" {
			taker := c.TakerFee
			m.TakerFee = &taker
		}
		return cur.WithMarket(m)
	case *messages.MarketUpdate:
		if int(c.Market) >= len(cur.Markets) {
			return nil, &config.FieldError{Field: "market", Rule: "must be the name of a listed market (market.list; case-sensitive)"}
		}
		return cur.WithRules(cur.Markets[c.Market].Name, config.Rules{MinAmount: c.MinAmount, MaxOpenOrders: c.MaxOpenOrders, STP: c.STP,
			MakerFee: c.MakerFee, TakerFee: c.TakerFee})
	}
	return nil, fmt.Errorf("runtime: %T is not a configuration change", cmd)
}

// refusal is code 1 naming the parameter and the rule a refused change
// broke: "invalid argument: stock_prec must be between 0 and 18, got 20".
func refusal(err error) *messages.Error {
	fe, ok := config.AsFieldError(err)
	if !ok {
		return messages.ErrInvalidArgument
	}
	text := fe.Param() + ": " + fe.Rule
	switch p := fe.Param(); {
	case strings.HasPrefix(fe.Rule, p+" "):
		text = fe.Rule // "stock_prec (8) + money_prec (6) must be …"
	case strings.HasPrefix(fe.Rule, "must"), strings.HasPrefix(fe.Rule, "at most"):
		text = p + " " + fe.Rule
	}
	return &messages.Error{Code: messages.ErrInvalidArgument.Code, Message: "invalid argument: " + text}
}

func orInternal(rep any) messages.Reply {
	if e, ok := rep.(*messages.ErrorReply); ok && e.Err != nil {
		return e
	}
	return &messages.ErrorReply{Err: messages.ErrInternal}
}

// ask sends msg to pid and returns the answer (nil if none came in time).
// A messages.MarketRules is answered through its ReplyTo (the journal
// releases it), anything else by Respond.
func (c *configurator) ask(pid *actor.PID, msg any, viaReplyTo bool) any {
	root := c.n.System.Root
	if !viaReplyTo {
		res, err := root.RequestFuture(pid, msg, configureWait).Result()
		if err != nil {
			return nil
		}
		return res
	}
	fut := actor.NewFuture(c.n.System, configureWait)
	msg.(*actors.MarketRules).ReplyTo = fut.PID()
	root.Send(pid, msg)
	res, err := fut.Result()
	if err != nil {
		return nil
	}
	return res
}

// apply puts next, durable now, in force live: new markets' actors, the
// shards' asset count and market configurations, the rebuilds'
// configuration, then the router's.
func (c *configurator) apply(cur, next *config.Config) error {
	n := c.n
	dir := n.Router.Directory()
	for _, m := range next.Markets[len(cur.Markets):] {
		if err := c.spawnMarket(next, m); err != nil {
			return err
		}
		dir.AddMarket(m.Name)
	}
	sc := &actors.ShardConfig{Assets: len(next.Assets), Markets: make([]book.Config, len(next.Markets))}
	for i, m := range next.Markets {
		sc.Markets[i] = actors.BookConfig(m)
	}
	if c.rebuild != nil {
		c.rebuild.live.Store(next) // before the shards: one rebuilt meanwhile gets next's assets
	}
	for i, pid := range dir.Shards {
		if _, ok := c.ask(pid, sc, false).(*actors.ShardConfig); !ok {
			return fmt.Errorf("shard %d did not take the configuration", i)
		}
	}
	n.Router.SetConfig(next)
	return nil
}

// spawnMarket starts the actor of m, a market listed at run time, with an
// empty book, under the markets supervisor.
func (c *configurator) spawnMarket(cfg *config.Config, m *config.Market) error {
	n := c.n
	env := &market.Env{Journal: n.Journal, Dir: n.Router.Directory(), FeeUser: cfg.FeeUserID, Faults: c.opts.Faults,
		Metrics: n.mmetrics.market(m.Name)}
	if c.rebuild != nil {
		env.Durable = c.rebuild
	}
	props := market.Props(book.New(actors.BookConfig(m)), env, n.tuning.marketProps(m.Tuning, c.opts.MarketProps)...)
	res := c.ask(n.System.NewLocalPID(actors.MarketsSupervisor), &spawnChild{child{m.Name, props}}, false)
	if s, ok := res.(*spawned); !ok || s.err != nil {
		return fmt.Errorf("spawn market %s: %v", m.Name, res)
	}
	return nil
}
