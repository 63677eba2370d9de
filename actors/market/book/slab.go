package book

import (
	"unsafe"

	"github.com/bourse-exchange/bourse/messages"
)

// slab hands out the event structs a command produces, and the backing
// arrays of the event slices the book returns, from chunks of about
// slabBytes (68 Trades, 81 OrderPlaced, 227 OrderFinished, 682
// OrderRested, 1,024 slice entries). The events leave the book and are
// shared (journal, shards), so nothing handed out is ever reused or written
// again: a chunk is dropped when its last struct has been handed out, and the
// GC frees it once no event in it is referenced. The cost is therefore
// amortized, one allocation per chunk, not zero; and a chunk stays alive
// while any of its events does.
//
// Chunks stay below 32 KiB so that they come from the allocator's per-P
// size classes: larger ones are allocated and swept under the heap lock.
type slab struct {
	placed   []messages.OrderPlaced
	trades   []messages.Trade
	rested   []messages.OrderRested
	finished []messages.OrderFinished
	events   []messages.Event
}

const slabBytes = 16 << 10

// Chunk lengths, in structs.
const (
	placedChunk   = slabBytes / int(unsafe.Sizeof(messages.OrderPlaced{}))
	tradeChunk    = slabBytes / int(unsafe.Sizeof(messages.Trade{}))
	restedChunk   = slabBytes / int(unsafe.Sizeof(messages.OrderRested{}))
	finishedChunk = slabBytes / int(unsafe.Sizeof(messages.OrderFinished{}))
	eventsChunk   = slabBytes / int(unsafe.Sizeof(messages.Event(nil)))
	// A command with more events than this gets a slice of its own.
	slabMaxSlice = eventsChunk / 8
)

// take hands out the next struct of *chunk, starting a chunk of n when it is
// used up.
func take[T any](chunk *[]T, n int) *T {
	if len(*chunk) == 0 {
		*chunk = make([]T, n)
	}
	p := &(*chunk)[0]
	*chunk = (*chunk)[1:]
	return p
}

func (s *slab) orderPlaced() *messages.OrderPlaced { return take(&s.placed, placedChunk) }
func (s *slab) trade() *messages.Trade             { return take(&s.trades, tradeChunk) }
func (s *slab) orderRested() *messages.OrderRested { return take(&s.rested, restedChunk) }
func (s *slab) orderFinished() *messages.OrderFinished {
	return take(&s.finished, finishedChunk)
}

// seal returns a copy of evs (the book's scratch buffer) with a capacity of
// exactly its length, so that an append by the receiver cannot write into
// another command's events, and clears evs.
func (s *slab) seal(evs []messages.Event) []messages.Event {
	n := len(evs)
	var out []messages.Event
	if n > slabMaxSlice {
		out = make([]messages.Event, n)
	} else {
		if len(s.events) < n {
			s.events = make([]messages.Event, eventsChunk)
		}
		out = s.events[:n:n]
		s.events = s.events[n:]
	}
	copy(out, evs)
	clear(evs)
	return out
}
