package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
	"github.com/bourse-exchange/bourse/benchmarks/internal/workload"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/holiman/uint256"
)

// actorTarget drives a node started in process with runtime.Start: each
// command goes with Send (no future) where the router would send it — the
// user's balance shard for orders, the market for cancels — with ReplyTo a
// collector actor.
//
// Attribution of replies: every command carries Time = its global index + 1.
// A placement's reply carries the order with MTime = that Time, so the
// collector knows the command and stores the order id in ids (cancels look
// it up when they are sent). A cancel's reply carries the cancelled order
// unchanged (docs/protocol.md "order.cancel": mtime not updated), so the sender registers the
// order id in cancels before sending and the collector takes it from there.
// An ErrorReply carries nothing: it is counted but not timed.
type actorTarget struct {
	cfg  *config.Config
	node *runtime.Node
	dir  *actors.Directory
	coll *collector
	pidC *actor.PID
	ids  []atomic.Uint64 // global command index → engine order id
}

func newActorTarget(cfg *config.Config, mode, tmp string) (*actorTarget, error) {
	opts := runtime.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mode != "inproc" {
		m, err := journal.ParseMode(mode)
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp(tmp, "data-"+mode+"-")
		if err != nil {
			return nil, err
		}
		opts.DataDir = filepath.Clean(dir)
		opts.Journal = journal.Options{Mode: m}
	}
	node, err := runtime.Start(cfg, opts)
	if err != nil {
		return nil, err
	}
	t := &actorTarget{cfg: cfg, node: node, dir: node.Router.Directory()}
	t.coll = &collector{t: t, cancels: map[uint64]int{}}
	root := node.System.Root
	t.pidC = root.Spawn(actor.PropsFromProducer(func() actor.Actor { return t.coll }))
	return t, nil
}

func (t *actorTarget) pid() int { return 0 }

func (t *actorTarget) close() error {
	t.node.System.Root.Stop(t.pidC)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return t.node.Shutdown(ctx)
}

// depositAmount is what every user gets in every asset: 10⁹ whole units at
// prec_save 12, far more than the workload can spend.
func depositAmount() uint256.Int {
	var a uint256.Int
	a.Mul(uint256.NewInt(1_000_000_000), uint256.NewInt(1_000_000_000_000))
	return a
}

func (t *actorTarget) setup(ctx context.Context, prefill []workload.Cmd) error {
	if err := t.deposit(ctx); err != nil {
		return err
	}
	// The prefill: everything sent at once, untimed.
	res, err := t.step(ctx, prefill, 0, 0, nil, &progress{})
	if err != nil {
		return err
	}
	if len(res.errs) > 0 || res.unmatched > 0 {
		return fmt.Errorf("prefill: errors %v, %d unmatched replies", res.errs, res.unmatched)
	}
	return nil
}

// deposit funds users 1..harnessUsers in every asset through Router.Do, from
// 64 goroutines (the journal groups them).
func (t *actorTarget) deposit(ctx context.Context) error {
	amount := depositAmount()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				u := next.Add(1)
				if u > int64(harnessUsers) {
					return
				}
				for _, a := range t.cfg.Assets {
					r, err := t.node.Router.Do(ctx, &messages.BalanceUpdate{User: uint32(u), Asset: a.ID,
						Business: "deposit", BusinessID: uint64(u), Change: amount, Time: 1})
					if err == nil {
						if e, ok := r.(*messages.ErrorReply); ok {
							err = e.Err
						}
					}
					if err != nil {
						errc <- fmt.Errorf("deposit user %d %s: %w", u, a.Name, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// harnessUsers is -users, set by run before any target is made.
var harnessUsers = 1000

func (t *actorTarget) dest(cmd messages.Command) *actor.PID {
	switch c := cmd.(type) {
	case *messages.Cancel:
		return t.dir.Market(c.Market)
	case *messages.PutLimit:
		return t.dir.Shard(c.User)
	case *messages.PutMarket:
		return t.dir.Shard(c.User)
	}
	return nil
}

// step sends cmds open loop at rate (rate 0: all at once, untimed) and waits
// for every reply.
func (t *actorTarget) step(ctx context.Context, cmds []workload.Cmd, first int, rate float64, pace pacer, p *progress) (*result, error) {
	if need := first + len(cmds); need > len(t.ids) {
		ids := make([]atomic.Uint64, max(need, 2*len(t.ids)))
		for i := range t.ids {
			ids[i].Store(t.ids[i].Load())
		}
		t.ids = ids
	}
	c := t.coll
	st := &stepState{cmds: cmds, first: first, rate: rate, p: p, hist: hist.New(),
		errs: map[string]int64{}, done: make(chan struct{})}
	// The collector picks up st with the first reply: the mailbox hands
	// it over (happens-before through Send).
	c.cur.Store(st)
	root := t.node.System.Root
	var unresolved int64
	lag := hist.New()
	st.t0 = time.Now()
	for i := range cmds {
		cmd := &cmds[i]
		if rate > 0 {
			if i%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			due := dueAt(i, rate)
			lag.Record(int64(pace(st.t0, due) - due))
		}
		m := t.cfg.Markets[cmd.Market]
		var id uint64
		if cmd.Kind == workload.Cancel {
			if id = t.ids[cmd.Ref].Load(); id == 0 {
				id = cmd.SimID
				unresolved++
			}
			c.mu.Lock()
			c.cancels[id] = first + i
			c.mu.Unlock()
		}
		msg := cmd.Message(m, id, int64(first+i+1))
		switch x := msg.(type) {
		case *messages.PutLimit:
			x.ReplyTo = actors.Addr(t.pidC)
		case *messages.PutMarket:
			x.ReplyTo = actors.Addr(t.pidC)
		case *messages.Cancel:
			x.ReplyTo = actors.Addr(t.pidC)
		}
		root.Send(t.dest(msg), msg)
		p.sent.Store(int64(i + 1))
	}
	select {
	case <-st.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5*time.Minute + 10*time.Duration(float64(len(cmds))/max(rate, 1))*time.Second):
		return nil, errors.New("replies missing after the step's timeout")
	}
	return &result{n: len(cmds), elapsed: st.last, hist: st.hist, lag: lag, errs: st.errs,
		unresolved: unresolved, unmatched: st.unmatched}, nil
}

// stepState is one step's bookkeeping, owned by the collector until done is
// closed.
type stepState struct {
	cmds      []workload.Cmd
	first     int
	rate      float64
	p         *progress
	t0        time.Time
	hist      *hist.Histogram
	errs      map[string]int64
	unmatched int64
	n         int
	last      time.Duration
	done      chan struct{}
}

type collector struct {
	t       *actorTarget
	cur     atomic.Pointer[stepState]
	mu      sync.Mutex
	cancels map[uint64]int // order id → index of the cancel in flight
}

func (c *collector) Receive(ctx actor.Context) {
	var idx = -1
	switch r := ctx.Message().(type) {
	case *messages.OrderReply:
		st := c.cur.Load()
		o := &r.Order
		// A placement's reply: the order with MTime = its command's Time.
		if i := int(o.MTime) - 1; i >= st.first && i < st.first+len(st.cmds) {
			if cmd := &st.cmds[i-st.first]; cmd.Placement() && cmd.User == o.User && cmd.Market == int(o.Market) &&
				cmd.Side == o.Side && cmd.Amount == o.Amount {
				idx = i
				c.t.ids[i].Store(o.ID)
			}
		}
		if idx < 0 {
			// A cancel's reply: the cancelled order, unchanged.
			c.mu.Lock()
			if i, ok := c.cancels[o.ID]; ok {
				idx = i
				delete(c.cancels, o.ID)
			}
			c.mu.Unlock()
		}
		if idx < 0 {
			st.unmatched++
		}
		c.count(st, idx)
	case *messages.ErrorReply:
		st := c.cur.Load()
		st.errs[r.Err.Message]++
		c.count(st, -1)
	}
}

func (c *collector) count(st *stepState, idx int) {
	now := time.Since(st.t0)
	if idx >= 0 && st.rate > 0 {
		st.hist.Record(int64(now - dueAt(idx-st.first, st.rate)))
	}
	st.n++
	st.p.done.Store(int64(st.n))
	if st.n == len(st.cmds) {
		st.last = now
		close(st.done)
	}
}
