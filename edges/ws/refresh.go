package ws

import (
	"context"
	"fmt"
	"time"

	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// A refresh asks the exchange (and through it market data) for a channel's
// current value with a typed command, compares the answer with the value
// pushed last, and pushes what changed, encoded as the HTTP edge answers
// the matching query (package internal/wire). It reports false when the
// answer did not come and the channel should be retried.

func (h *hub) backend() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), h.s.set.BackendTimeout)
}

// refresh asks the channel's current value and pushes what changed.
func (h *hub) refresh(ch *channel) bool {
	ctx, cancel := h.backend()
	defer cancel()
	switch ch.key.kind {
	case kDepth:
		return h.refreshDepth(ctx, ch)
	case kDeals:
		return h.refreshDeals(ctx, ch)
	case kKline:
		return h.refreshKline(ctx, ch)
	case kPrice:
		return h.refreshPrice(ctx, ch)
	case kState:
		return h.refreshState(ctx, ch)
	case kToday:
		return h.refreshToday(ctx, ch)
	case kAsset:
		return h.refreshAsset(ctx, ch)
	}
	return true
}

// ask sends cmd to the exchange. It returns the reply, or nil and whether
// to retry: yes when the exchange did not answer, failed (code 2), was
// unavailable or answered nothing usable; no for another error reply,
// which asking again will not change.
func (h *hub) ask(ctx context.Context, cmd messages.Command) (rep messages.Reply, retry bool) {
	rep, err := h.s.ex.Do(ctx, cmd)
	if err != nil || rep == nil {
		return nil, true
	}
	if e, ok := rep.(*messages.ErrorReply); ok {
		if e == nil || e.Err == nil {
			return nil, true
		}
		switch e.Err.Code {
		case messages.ErrServiceTimeout.Code, messages.ErrInternal.Code, messages.ErrUnavailable.Code:
			return nil, true
		}
		h.s.log.Debug("ws: push query failed", "command", fmt.Sprintf("%T", cmd), "err", e.Err)
		return nil, false
	}
	return rep, false
}

func (h *hub) refreshDepth(ctx context.Context, ch *channel) bool {
	k := ch.key
	rep, err := h.s.ex.Do(ctx, &messages.OrderDepth{Market: k.market, Limit: k.limit, Interval: k.interval})
	d, ok := rep.(*messages.DepthReply)
	if err != nil || !ok || d == nil {
		return err == nil // an error reply will not get better
	}
	h.mu.Lock()
	defer h.unlock()
	h.depthUpdateLocked(ch, d)
	return true
}

// refreshKline pushes the candles of the last interval when the newest
// one changed.
func (h *hub) refreshKline(ctx context.Context, ch *channel) bool {
	k := ch.key
	now := time.Now().Unix()
	rep, retry := h.ask(ctx, &messages.MarketKline{Market: k.market, Start: now - k.interval, End: now, Interval: k.interval, Now: now})
	if rep == nil {
		return !retry
	}
	r, ok := rep.(*messages.MarketKlineReply)
	if !ok || r == nil {
		return false
	}
	if len(r.Candles) == 0 {
		return true
	}
	h.mu.Lock()
	defer h.unlock()
	newest := r.Candles[len(r.Candles)-1]
	if ch.fetched && newest == ch.candle {
		return true
	}
	ch.fetched, ch.candle = true, newest
	m := h.s.config().Markets[k.market].Wire()
	h.pushLocked(ch, notification("kline.update", wire.AppendCandles(nil, &m, r.Candles)))
	return true
}

// refreshPrice pushes the last price when it changed; a market that never
// traded (price 0) is not pushed first.
func (h *hub) refreshPrice(ctx context.Context, ch *channel) bool {
	k := ch.key
	rep, retry := h.ask(ctx, &messages.MarketLast{Market: k.market})
	if rep == nil {
		return !retry
	}
	r, ok := rep.(*messages.MarketLastReply)
	if !ok || r == nil || r.Price < 0 {
		return false
	}
	h.mu.Lock()
	defer h.unlock()
	if ch.fetched && r.Price == ch.price {
		return true
	}
	first := !ch.fetched
	ch.fetched, ch.price = true, r.Price
	if first && r.Price == 0 {
		return true
	}
	m := h.s.config().Markets[k.market]
	h.pushLocked(ch, h.marketNote("price.update", k.market, wire.AppendPrice(nil, r.Price, m.MoneyPrec)))
	return true
}

// statusPeriod is the period of the state channel: the last 24 hours.
const statusPeriod = 86400

func (h *hub) refreshState(ctx context.Context, ch *channel) bool {
	k := ch.key
	rep, retry := h.ask(ctx, &messages.MarketStatus{Market: k.market, Period: statusPeriod, Now: time.Now().Unix()})
	if rep == nil {
		return !retry
	}
	r, ok := rep.(*messages.MarketStatusReply)
	if !ok || r == nil {
		return false
	}
	h.mu.Lock()
	defer h.unlock()
	if ch.fetched && *r == ch.status {
		return true
	}
	ch.fetched, ch.status = true, *r
	m := h.s.config().Markets[k.market].Wire()
	h.pushLocked(ch, h.marketNote("state.update", k.market, wire.AppendStatus(nil, &m, r)))
	return true
}

func (h *hub) refreshToday(ctx context.Context, ch *channel) bool {
	k := ch.key
	rep, retry := h.ask(ctx, &messages.MarketStatusToday{Market: k.market, Now: time.Now().Unix()})
	if rep == nil {
		return !retry
	}
	r, ok := rep.(*messages.MarketStatusTodayReply)
	if !ok || r == nil {
		return false
	}
	h.mu.Lock()
	defer h.unlock()
	if ch.fetched && *r == ch.today {
		return true
	}
	ch.fetched, ch.today = true, *r
	m := h.s.config().Markets[k.market].Wire()
	h.pushLocked(ch, h.marketNote("today.update", k.market, wire.AppendStatusToday(nil, &m, r)))
	return true
}

// refreshAsset pushes the user's balance of the asset: asset.update
// [{"NAME":{"available","freeze"}}], as balance.query answers it.
func (h *hub) refreshAsset(ctx context.Context, ch *channel) bool {
	k := ch.key
	rep, retry := h.ask(ctx, &messages.BalanceQuery{User: k.user, Assets: []messages.AssetID{k.asset}})
	if rep == nil {
		return !retry
	}
	r, ok := rep.(*messages.BalanceQueryReply)
	if !ok || r == nil || len(r.Assets) != len(r.Balances) {
		return false
	}
	b := append(make([]byte, 0, 128), '[', '{')
	for i, id := range r.Assets {
		if int(id) >= len(h.s.config().Assets) {
			return false
		}
		if i > 0 {
			b = append(b, ',')
		}
		a := h.s.config().Assets[id].Wire()
		b = wire.AppendBalance(b, &a, &r.Balances[i])
	}
	b = append(b, '}', ']')
	h.mu.Lock()
	defer h.unlock()
	h.pushLocked(ch, notification("asset.update", b))
	return true
}

// refreshDeals pushes the deals the bus delivered since the last push,
// newest first; the first refresh of a channel also asks market data for
// the latest ones (docs/protocol.md "WebSocket pushes": up to 100).
func (h *hub) refreshDeals(ctx context.Context, ch *channel) bool {
	k := ch.key
	h.mu.Lock()
	fetched := ch.fetched
	h.mu.Unlock()
	var queried []messages.MarketDeal
	if !fetched {
		rep, err := h.s.ex.Do(ctx, &messages.MarketDeals{Market: k.market, Limit: maxRecentDeals})
		r, ok := rep.(*messages.MarketDealsReply)
		if err != nil || !ok || r == nil {
			return false
		}
		queried = r.Deals
	}
	h.mu.Lock()
	defer h.unlock()
	fresh := ch.takeFreshDeals(queried)
	if len(fresh) == 0 {
		return true
	}
	recent := make([]messages.MarketDeal, 0, maxRecentDeals)
	for _, list := range [][]messages.MarketDeal{fresh, ch.recent} {
		n := min(len(list), maxRecentDeals-len(recent))
		recent = append(recent, list[:n]...)
	}
	ch.recent = recent
	m := h.s.config().Markets[k.market].Wire()
	h.pushLocked(ch, h.marketNote("deals.update", k.market, wire.AppendMarketDeals(nil, &m, fresh)))
	return true
}

// takeFreshDeals returns, newest first, the deals newer than the last one
// pushed: those the bus delivered (ch.pending, which it empties), then
// those of queried (newest first) the bus did not deliver. It marks the
// channel fetched and advances lastID. Called with hub.mu held.
func (ch *channel) takeFreshDeals(queried []messages.MarketDeal) []messages.MarketDeal {
	pending := ch.pending
	ch.pending = nil
	ch.fetched = true
	var fresh []messages.MarketDeal
	last := ch.lastID
	seen := make(map[uint64]bool, len(pending))
	for i := len(pending) - 1; i >= 0; i-- {
		d := pending[i]
		seen[d.ID] = true
		if d.ID > ch.lastID {
			fresh = append(fresh, d)
			last = max(last, d.ID)
		}
	}
	for _, d := range queried {
		if d.ID > ch.lastID && !seen[d.ID] {
			fresh = append(fresh, d)
			last = max(last, d.ID)
		}
	}
	ch.lastID = last
	return fresh
}
