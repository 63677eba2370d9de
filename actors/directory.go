package actors

import (
	"fmt"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
)

// Supervisor names; actor ids are "<supervisor>/<child>".
const (
	MarketsSupervisor = "markets"
	ShardsSupervisor  = "shards"
)

// Directory holds the PIDs of every market and shard actor. PIDs are derived
// from names, so the directory exists before the actors do and never changes
// (a restarted actor keeps its PID). Shared read-only.
type Directory struct {
	Markets []*actor.PID // by MarketID
	Shards  []*actor.PID // by user % len(Shards)
	halted  []atomic.Bool
}

// NewDirectory names the actors of a system with the given markets and
// shard count.
func NewDirectory(system *actor.ActorSystem, markets []string, shards int) *Directory {
	d := &Directory{Markets: make([]*actor.PID, len(markets)), Shards: make([]*actor.PID, shards), halted: make([]atomic.Bool, len(markets))}
	for i, name := range markets {
		d.Markets[i] = system.NewLocalPID(MarketsSupervisor + "/" + name)
	}
	for i := range d.Shards {
		d.Shards[i] = system.NewLocalPID(ShardsSupervisor + "/" + ShardName(i))
	}
	return d
}

// ShardName is the child name of shard i.
func ShardName(i int) string { return fmt.Sprintf("shard-%d", i) }

// Shard returns the PID of user's balance shard.
func (d *Directory) Shard(user uint32) *actor.PID { return d.Shards[int(user%uint32(len(d.Shards)))] }

// Market returns a market's PID, or nil if there is no such market.
func (d *Directory) Market(id messages.MarketID) *actor.PID {
	if int(id) >= len(d.Markets) {
		return nil
	}
	return d.Markets[id]
}

// Halted reports whether a market is halted (market.halt), as its actor
// last said (SetHalted); false for no such market.
func (d *Directory) Halted(id messages.MarketID) bool {
	return int(id) < len(d.halted) && d.halted[id].Load()
}

// SetHalted records whether a market is halted: its actor calls it when it
// starts and when it applies a halt or a resume.
func (d *Directory) SetHalted(id messages.MarketID, halted bool) {
	if int(id) < len(d.halted) {
		d.halted[id].Store(halted)
	}
}

// MaxShards bounds the number of balance shards (reservation ids embed the
// shard index below it).
const MaxShards = 4096
