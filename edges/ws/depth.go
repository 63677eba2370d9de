package ws

import (
	"time"

	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// depthUpdateLocked pushes d to a depth channel: a clean snapshot first and
// when the book changed at least cleanEvery after the last one, else the
// diff from the last snapshot (docs/protocol.md "Depth diffs"); nothing when nothing
// changed.
func (h *hub) depthUpdateLocked(ch *channel, d *messages.DepthReply) {
	if !ch.fetched {
		ch.fetched = true
		ch.asks, ch.bids = d.Asks, d.Bids
		ch.clean = time.Now()
		h.pushLocked(ch, h.depthClean(ch))
		return
	}
	asks := diffLevels(ch.asks, d.Asks, ch.key.limit, true)
	bids := diffLevels(ch.bids, d.Bids, ch.key.limit, false)
	if len(asks) == 0 && len(bids) == 0 {
		return
	}
	ch.asks, ch.bids = d.Asks, d.Bids
	if time.Since(ch.clean) >= cleanEvery {
		ch.clean = time.Now()
		h.pushLocked(ch, h.depthClean(ch))
		return
	}
	m := h.s.config().Markets[ch.key.market].Wire()
	b := make([]byte, 0, 64+32*(len(asks)+len(bids)))
	b = append(b, `[false,{`...)
	if len(asks) > 0 {
		b = append(b, `"asks":`...)
		b = wire.AppendDepthLevels(b, &m, asks)
	}
	if len(bids) > 0 {
		if len(asks) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"bids":`...)
		b = wire.AppendDepthLevels(b, &m, bids)
	}
	b = append(b, "},"...)
	b = wire.AppendString(b, m.Name)
	b = append(b, ']')
	h.pushLocked(ch, notification("depth.update", b))
}

// depthClean returns the depth.update notification carrying ch's snapshot.
func (h *hub) depthClean(ch *channel) []byte {
	m := h.s.config().Markets[ch.key.market].Wire()
	b := make([]byte, 0, 64+32*(len(ch.asks)+len(ch.bids)))
	b = append(b, `[true,{"asks":`...)
	b = wire.AppendDepthLevels(b, &m, ch.asks)
	b = append(b, `,"bids":`...)
	b = wire.AppendDepthLevels(b, &m, ch.bids)
	b = append(b, "},"...)
	b = wire.AppendString(b, m.Name)
	b = append(b, ']')
	return notification("depth.update", b)
}

// diffLevels returns the levels a client must change to turn old into new
// (docs/protocol.md "Depth diffs"): walking both in price order (asks ascending, bids
// descending), a level only in new or whose amount changed comes with its
// new amount, a level only in old with amount 0; old levels beyond the end
// of new are zeroed only while new has fewer than limit levels (else the
// client's truncation drops them).
func diffLevels(old, new []messages.DepthLevel, limit int, ask bool) []messages.DepthLevel {
	var out []messages.DepthLevel
	i, j := 0, 0
	for i < len(old) && j < len(new) {
		o, n := old[i], new[j]
		switch {
		case o.Price == n.Price:
			if o.Amount != n.Amount {
				out = append(out, n)
			}
			i++
			j++
		case (ask && n.Price < o.Price) || (!ask && n.Price > o.Price):
			out = append(out, n)
			j++
		default:
			out = append(out, messages.DepthLevel{Price: o.Price})
			i++
		}
	}
	out = append(out, new[j:]...)
	if len(new) < limit {
		for ; i < len(old); i++ {
			out = append(out, messages.DepthLevel{Price: old[i].Price})
		}
	}
	return out
}
