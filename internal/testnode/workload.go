package testnode

import (
	"context"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime"
)

// Workload says what Play plays.
type Workload struct {
	Seed  uint64
	Steps int
	Users int // traders are users 1..Users; 0: 8
	// Plain keeps to what the first journal version could record (see
	// coretest.Gen.Plain).
	Plain bool
}

// Play plays w through n's router, one command at a time, and returns
// the replies in order (nil for a command the edge would refuse, and for a
// tick). The commands are the shared generator's (coretest.Gen, drawing
// its targets from a reference model of its own that follows the stream
// from an empty exchange): deposits and withdrawals with business ids
// unique to the seed, limit and market orders with and without options,
// cancels, amends, cancel-alls, dead-man's switches, queries and ticks,
// some of them invalid. A tick tells every market the command's time
// (Node.Tick); the node should be started with a negative TickInterval, so
// that switches fire at the same commands in every run.
//
// When the test fails, the commands are written as an op log; with
// $BOURSE_OPLOG naming that log, the same test and seed play its commands
// instead of generating them.
func Play(t testing.TB, n *runtime.Node, w Workload) []messages.Reply {
	t.Helper()
	if w.Users == 0 {
		w.Users = 8
	}
	var stream coretest.Stream
	var ref *coretest.Ref
	logged, err := coretest.LoggedOpLog(t.Name(), w.Seed)
	if err != nil {
		t.Fatal(err)
	}
	if logged != nil {
		t.Logf("playing the %d commands of $%s", len(logged.Cmds), coretest.OpLogVar)
		stream, w.Steps = coretest.NewReplay(logged), len(logged.Cmds)
	} else {
		ref = coretest.NewRef(n.Config)
		g := coretest.NewGen(n.Config, coretest.NewRandSource(w.Seed), ref, w.Users)
		g.Plain = w.Plain
		g.StartIDs(w.Seed << 32)
		stream = g
	}
	log := &coretest.OpLog{Name: t.Name(), Seed: w.Seed}
	t.Cleanup(func() {
		if t.Failed() && logged == nil {
			t.Log(log.SaveFailed())
		}
	})
	replies := make([]messages.Reply, 0, w.Steps)
	for range w.Steps {
		c := stream.Next()
		if c == nil {
			break
		}
		log.Cmds = append(log.Cmds, c)
		if ref != nil {
			ref.Do(c) // the generator's view of the book
		}
		replies = append(replies, play(t, n, c))
	}
	return replies
}

// play sends one command, or ticks every market for OpTick.
func play(t testing.TB, n *runtime.Node, c *coretest.Cmd) messages.Reply {
	t.Helper()
	if c.Op == coretest.OpTick {
		Tick(t, n, c.Time)
		return nil
	}
	cmd, perr := c.Message(n.Config)
	if perr != nil {
		return nil
	}
	rep, err := n.Router.Do(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%s: %v", c, err)
	}
	return rep
}

// Tick tells every market the time now (µs), as the node's ticker does,
// and waits until each has handled it.
func Tick(t testing.TB, n *runtime.Node, now int64) {
	t.Helper()
	n.Tick(time.UnixMicro(now))
	for _, m := range n.Config.Markets {
		// a market answers this after the tick
		if _, err := n.Router.Do(context.Background(), &messages.MarketSummary{Market: m.ID}); err != nil {
			t.Fatal(err)
		}
	}
}
