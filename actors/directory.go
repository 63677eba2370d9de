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
// from names, so the directory exists before the actors do (a restarted
// actor keeps its PID). Markets listed at run time (market.add) are added
// with AddMarket, copy-on-write: readers never lock.
type Directory struct {
	// Markets are the markets at start, by MarketID: set before the
	// directory is shared (tests build one by hand), never changed after.
	Markets []*actor.PID
	Shards  []*actor.PID // by user % len(Shards)
	system  *actor.ActorSystem
	halted  []*atomic.Bool
	added   atomic.Pointer[markets] // nil until AddMarket
}

// markets is the market list in force once one was added.
type markets struct {
	pids   []*actor.PID
	halted []*atomic.Bool
}

// NewDirectory names the actors of a system with the given markets and
// shard count.
func NewDirectory(system *actor.ActorSystem, names []string, shards int) *Directory {
	d := &Directory{Markets: make([]*actor.PID, len(names)), Shards: make([]*actor.PID, shards), system: system}
	for i, name := range names {
		d.Markets[i] = system.NewLocalPID(MarketsSupervisor + "/" + name)
		d.halted = append(d.halted, new(atomic.Bool))
	}
	for i := range d.Shards {
		d.Shards[i] = system.NewLocalPID(ShardsSupervisor + "/" + ShardName(i))
	}
	return d
}

// list is the market list in force.
func (d *Directory) list() ([]*actor.PID, []*atomic.Bool) {
	if m := d.added.Load(); m != nil {
		return m.pids, m.halted
	}
	return d.Markets, d.halted
}

// AllMarkets returns every market's PID by MarketID (read-only).
func (d *Directory) AllMarkets() []*actor.PID {
	pids, _ := d.list()
	return pids
}

// AddMarket names the actor of a market listed at run time, whose id is
// the next one, and returns its PID. Calls are serialized by the caller.
func (d *Directory) AddMarket(name string) *actor.PID {
	pids, halted := d.list()
	pid := d.system.NewLocalPID(MarketsSupervisor + "/" + name)
	d.added.Store(&markets{
		pids:   append(pids[:len(pids):len(pids)], pid),
		halted: append(halted[:len(halted):len(halted)], new(atomic.Bool)),
	})
	return pid
}

// ShardName is the child name of shard i.
func ShardName(i int) string { return fmt.Sprintf("shard-%d", i) }

// Shard returns the PID of user's balance shard.
func (d *Directory) Shard(user uint32) *actor.PID { return d.Shards[int(user%uint32(len(d.Shards)))] }

// Market returns a market's PID, or nil if there is no such market.
func (d *Directory) Market(id messages.MarketID) *actor.PID {
	pids, _ := d.list()
	if int(id) >= len(pids) {
		return nil
	}
	return pids[id]
}

// Halted reports whether a market is halted (market.halt), as its actor
// last said (SetHalted); false for no such market.
func (d *Directory) Halted(id messages.MarketID) bool {
	_, halted := d.list()
	return int(id) < len(halted) && halted[id].Load()
}

// SetHalted records whether a market is halted: its actor calls it when it
// starts and when it applies a halt or a resume.
func (d *Directory) SetHalted(id messages.MarketID, halted bool) {
	if _, h := d.list(); int(id) < len(h) {
		h[id].Store(halted)
	}
}

// MaxShards bounds the number of balance shards (reservation ids embed the
// shard index below it).
const MaxShards = 4096
