package runtime

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Backoff of the one-for-one restart strategy: a child failing again within
// BackoffWindow waits longer (failures × InitialBackoff) before its restart.
const (
	BackoffWindow  = 10 * time.Second
	InitialBackoff = 10 * time.Millisecond
)

// Strategy is the supervision strategy of every supervisor.
func Strategy() actor.SupervisorStrategy {
	return actor.NewExponentialBackoffStrategy(BackoffWindow, InitialBackoff)
}

type child struct {
	name  string
	props *actor.Props
}

// supervisor spawns its children when it starts and answers awaitReady once
// they exist, so the node sends no command to an actor not yet spawned.
type supervisor struct{ children []child }

type awaitReady struct{}

// spawnChild makes the supervisor spawn one more child (a market listed
// at run time); it answers a *spawned.
type spawnChild struct{ child child }

type spawned struct{ err error }

func (s *supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		for _, c := range s.children {
			if _, err := ctx.SpawnNamed(c.props, c.name); err != nil {
				panic(err)
			}
		}
	case *awaitReady:
		ctx.Respond(len(ctx.Children()))
	case *spawnChild:
		_, err := ctx.SpawnNamed(m.child.props, m.child.name)
		ctx.Respond(&spawned{err})
	}
}

func supervisorProps(children []child) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &supervisor{children: children} },
		actor.WithSupervisor(Strategy()))
}
