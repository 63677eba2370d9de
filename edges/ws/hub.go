package ws

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/gobwas/ws"
)

// kind is a kind of subscription.
type kind uint8

const (
	kKline kind = iota
	kDepth
	kPrice
	kState
	kToday
	kDeals
	kOrder
	kAsset
	numKinds
)

var kindNames = [numKinds]string{"kline", "depth", "price", "state", "today", "deals", "order", "asset"}

// chanKey names a push channel: what is pushed and to whom it is the same.
type chanKey struct {
	kind     kind
	market   messages.MarketID
	asset    messages.AssetID
	user     uint32 // order and asset channels
	limit    int    // depth
	interval int64  // depth: merge interval (money_prec units); kline: seconds
}

// channel is one push channel and the last value it pushed. All fields are
// guarded by hub.mu.
type channel struct {
	key     chanKey
	conns   map[*conn]struct{}
	fetched bool   // a first value was obtained
	dirty   bool   // queued in hub.dirty
	want    uint64 // market data must have applied this LSN before a refresh
	// A refresh happens no earlier than push_interval after the last one
	// (lastRefresh) nor before notBefore (a retry).
	lastRefresh, notBefore time.Time

	// The last value pushed, as the exchange or market data answered it.
	candle     messages.Candle                 // kline: the newest candle
	price      int64                           // price, at money_prec
	status     messages.MarketStatusReply      // state
	today      messages.MarketStatusTodayReply // today
	lastID     uint64                          // deals: newest deal id pushed
	recent     []messages.MarketDeal           // deals: newest first, at most maxRecentDeals
	pending    []messages.MarketDeal           // deals: from the bus, oldest first, not yet pushed
	asks, bids []messages.DepthLevel
	clean      time.Time // depth: when the last clean snapshot was sent
}

// connSubs are a connection's channels by kind; guarded by hub.mu.
type connSubs struct {
	byKind [numKinds][]*channel
}

// hub keeps the channels, follows the event bus and refreshes dirty
// channels every push_interval.
type hub struct {
	s   *Server
	bus *events.Bus

	mu       sync.Mutex
	chans    map[chanKey]*channel                        // guarded by mu
	byMarket map[messages.MarketID]map[*channel]struct{} // depth and market data channels; guarded by mu
	dirty    []*channel                                  // guarded by mu
	outbox   []outItem                                   // sent by unlock; guarded by mu
	sub      *events.Subscription                        // guarded by mu
	stopped  bool                                        // guarded by mu

	kick  chan struct{} // a channel became dirty
	stopc chan struct{}
	wg    sync.WaitGroup
}

func newHub(s *Server, bus *events.Bus) *hub {
	h := &hub{s: s, bus: bus, chans: make(map[chanKey]*channel),
		byMarket: make(map[messages.MarketID]map[*channel]struct{}), kick: make(chan struct{}, 1), stopc: make(chan struct{})}
	h.sub = bus.SubscribeReliable(events.AllKinds, s.opts.BusBuffer)
	h.wg.Add(2)
	go h.follow()
	go h.ticker()
	return h
}

// unlock releases mu, then sends what was scheduled meanwhile, in order,
// closing the connections that cannot take it.
func (h *hub) unlock() {
	out := h.outbox
	h.outbox = nil
	h.mu.Unlock()
	for _, it := range out {
		// A large fan-out is split over the processors (one system call
		// per connection); each frame is sent to all before the next.
		n := len(it.conns)
		var t0 time.Time
		if n > 1 {
			t0 = time.Now()
		}
		parts := min(runtime.GOMAXPROCS(0), n/fanoutChunk)
		if parts <= 1 {
			sendAll(h.s, it.f, it.conns)
		} else {
			var wg sync.WaitGroup
			for i := range parts {
				part := it.conns[i*n/parts : (i+1)*n/parts]
				wg.Go(func() { sendAll(h.s, it.f, part) })
			}
			wg.Wait()
		}
		if n > 1 {
			h.s.fanout.Observe(time.Since(t0).Seconds())
		}
	}
}

// fanoutChunk is the fewest connections worth a goroutine of their own.
const fanoutChunk = 512

func sendAll(s *Server, f frame, conns []*conn) {
	var pushed uint64
	for _, c := range conns {
		switch c.offer(f) {
		case offered:
			pushed++
		case full:
			c.close(ReasonSlow)
		case broken:
			c.close(ReasonClient)
		}
	}
	s.pushed.Add(pushed)
}

func (h *hub) stop() {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return
	}
	h.stopped = true
	sub := h.sub
	h.mu.Unlock()
	close(h.stopc)
	sub.Close()
	h.wg.Wait()
}

func (h *hub) channels() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.chans)
}

// pushLocked schedules msg, encoded once, for every connection of ch; unlock
// sends it (no system call happens under mu).
func (h *hub) pushLocked(ch *channel, msg []byte) {
	conns := make([]*conn, 0, len(ch.conns))
	for c := range ch.conns {
		conns = append(conns, c)
	}
	h.outbox = append(h.outbox, outItem{encodeFrame(ws.OpText, msg), conns})
}

// offerLocked schedules msg for c.
func (h *hub) offerLocked(c *conn, msg []byte) {
	h.outbox = append(h.outbox, outItem{encodeFrame(ws.OpText, msg), []*conn{c}})
}

// outItem is a frame to send to conns.
type outItem struct {
	f     frame
	conns []*conn
}

// replace makes keys the connection's subscriptions of kind k (docs/protocol.md
// "WebSocket methods": each subscribe replaces the previous one of its kind).
// A connection follows at most websocket.max_subscriptions channels: a
// replacement that would exceed it is refused (code 8) and changes nothing.
func (h *hub) replace(c *conn, k kind, keys []chanKey) error {
	keys = uniqueKeys(keys)
	h.mu.Lock()
	defer h.unlock()
	if h.stopped {
		return nil
	}
	n := len(keys)
	for other := range c.subs.byKind {
		if kind(other) != k {
			n += len(c.subs.byKind[other])
		}
	}
	if n > h.s.set.MaxSubscriptions {
		return messages.ErrLimitExceeded
	}
	old := c.subs.byKind[k]
	chans := make([]*channel, 0, len(keys))
	for _, key := range keys {
		ch := h.chans[key]
		if ch == nil {
			ch = &channel{key: key, conns: make(map[*conn]struct{})}
			h.chans[key] = ch
			if key.kind != kOrder && key.kind != kAsset {
				m := h.byMarket[key.market]
				if m == nil {
					m = make(map[*channel]struct{})
					h.byMarket[key.market] = m
				}
				m[ch] = struct{}{}
				h.markLocked(ch) // its first value
			}
		}
		if _, in := ch.conns[c]; in {
			if !containsChan(chans, ch) {
				chans = append(chans, ch)
			}
			continue
		}
		ch.conns[c] = struct{}{}
		chans = append(chans, ch)
		h.welcomeLocked(c, ch)
	}
	for _, ch := range old {
		if !containsChan(chans, ch) {
			h.leaveLocked(c, ch)
		}
	}
	c.subs.byKind[k] = chans
	return nil
}

// uniqueKeys returns keys without repeats, in first-seen order.
func uniqueKeys(keys []chanKey) []chanKey {
	if len(keys) < 2 {
		return keys
	}
	seen := make(map[chanKey]struct{}, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}

func containsChan(list []*channel, ch *channel) bool {
	for _, x := range list {
		if x == ch {
			return true
		}
	}
	return false
}

// drop removes a closed connection from every channel.
func (h *hub) drop(c *conn) {
	h.mu.Lock()
	defer h.unlock()
	for k := range c.subs.byKind {
		for _, ch := range c.subs.byKind[k] {
			h.leaveLocked(c, ch)
		}
		c.subs.byKind[k] = nil
	}
}

func (h *hub) leaveLocked(c *conn, ch *channel) {
	delete(ch.conns, c)
	if len(ch.conns) > 0 {
		return
	}
	delete(h.chans, ch.key)
	if m := h.byMarket[ch.key.market]; m != nil {
		delete(m, ch)
		if len(m) == 0 {
			delete(h.byMarket, ch.key.market)
		}
	}
}

// markLocked queues ch for a refresh: at once if the channel was not
// refreshed within push_interval, else when that interval is over.
func (h *hub) markLocked(ch *channel) {
	if !ch.dirty {
		ch.dirty = true
		h.dirty = append(h.dirty, ch)
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
}

// welcomeLocked sends a new subscriber the channel's current value, when
// it has one (docs/protocol.md "WebSocket pushes").
func (h *hub) welcomeLocked(c *conn, ch *channel) {
	if !ch.fetched {
		return
	}
	k := &ch.key
	m := h.s.config().Markets[k.market].Wire()
	switch k.kind {
	case kDepth:
		h.offerLocked(c, h.depthClean(ch))
	case kPrice:
		if ch.price != 0 {
			h.offerLocked(c, h.marketNote("price.update", k.market, wire.AppendPrice(nil, ch.price, m.MoneyPrec)))
		}
	case kState:
		h.offerLocked(c, h.marketNote("state.update", k.market, wire.AppendStatus(nil, &m, &ch.status)))
	case kToday:
		h.offerLocked(c, h.marketNote("today.update", k.market, wire.AppendStatusToday(nil, &m, &ch.today)))
	case kDeals:
		if len(ch.recent) > 0 {
			h.offerLocked(c, h.marketNote("deals.update", k.market, wire.AppendMarketDeals(nil, &m, ch.recent)))
		}
	}
}

// marketNote returns the notification name with params [market, value].
func (h *hub) marketNote(name string, market messages.MarketID, value []byte) []byte {
	b := make([]byte, 0, len(value)+32)
	b = append(b, '[')
	b = wire.AppendString(b, h.s.config().Markets[market].Name)
	b = append(b, ',')
	b = append(b, value...)
	b = append(b, ']')
	return notification(name, b)
}

// follow reads the event bus: it pushes order events at once and marks
// the channels an event can change.
func (h *hub) follow() {
	defer h.wg.Done()
	for {
		h.mu.Lock()
		sub := h.sub
		h.mu.Unlock()
		for ev := range sub.Events() {
			h.apply(ev)
		}
		if sub.Err() != events.ErrSlow {
			return
		}
		// The bus dropped us: order events were lost; refresh everything
		// else and carry on.
		h.s.busDrops.Add(1)
		h.s.log.Warn("ws: event bus dropped the push loop; resubscribing")
		h.mu.Lock()
		if h.stopped {
			h.mu.Unlock()
			return
		}
		h.sub = h.bus.SubscribeReliable(events.AllKinds, h.s.opts.BusBuffer)
		for _, ch := range h.chans {
			if ch.key.kind != kOrder {
				h.markLocked(ch)
			}
		}
		h.unlock()
	}
}

func (h *hub) apply(ev events.Event) {
	r := ev.Record
	h.mu.Lock()
	defer h.unlock()
	for _, d := range r.Deals {
		for ch := range h.byMarket[d.Market] {
			switch ch.key.kind {
			case kDepth:
			case kDeals:
				// Deals are pushed from the journal's trades themselves:
				// every one, in order, however many.
				ch.pending = append(ch.pending, messages.MarketDeal{ID: d.DealID, Time: d.Time, Side: d.TakerSide, Price: d.Price, Amount: d.Amount})
				h.markLocked(ch)
			default:
				ch.want = max(ch.want, ev.LSN)
				h.markLocked(ch)
			}
		}
	}
	for i := range r.Orders {
		oc := &r.Orders[i]
		o := &oc.Order
		for ch := range h.byMarket[o.Market] {
			if ch.key.kind == kDepth {
				h.markLocked(ch)
			}
		}
		if int(o.Market) >= len(h.s.config().Markets) {
			continue
		}
		// Placing, filling and cancelling freeze and release funds, which
		// the balance changes (totals) do not show (docs/protocol.md "WebSocket pushes").
		m := h.s.config().Markets[o.Market]
		for _, a := range [2]*config.Asset{m.StockAsset, m.MoneyAsset} {
			if ch := h.chans[chanKey{kind: kAsset, asset: a.ID, user: o.User}]; ch != nil {
				h.markLocked(ch)
			}
		}
		ch := h.chans[chanKey{kind: kOrder, market: o.Market, user: o.User}]
		if ch == nil {
			continue
		}
		wm := m.Wire()
		b := wire.AppendOrderUpdate(make([]byte, 0, 512), &wm, uint8(oc.Event), o)
		h.pushLocked(ch, notification("order.update", b))
	}
	for i := range r.Balances {
		bc := &r.Balances[i]
		if ch := h.chans[chanKey{kind: kAsset, asset: bc.Asset, user: bc.User}]; ch != nil {
			h.markLocked(ch)
		}
	}
}

// ticker refreshes dirty channels as soon as they are due (see markLocked).
func (h *hub) ticker() {
	defer h.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-h.stopc:
			return
		case <-h.kick:
		case <-t.C:
		}
		next := h.tick()
		t.Stop()
		if !next.IsZero() {
			t.Reset(time.Until(next))
		}
	}
}

// tick refreshes the dirty channels that are due and whose inputs are
// ready; it returns when the earliest of the others is due (zero: none).
func (h *hub) tick() (next time.Time) {
	now := time.Now()
	interval := h.s.set.PushInterval
	h.mu.Lock()
	list := h.dirty
	h.dirty = nil
	type job struct {
		ch   *channel
		want uint64
	}
	jobs := make([]job, 0, len(list))
	needCursor := false
	later := func(ch *channel, at time.Time) {
		h.dirty = append(h.dirty, ch) // still dirty
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	for _, ch := range list {
		if h.chans[ch.key] != ch {
			ch.dirty = false
			continue // nobody listens any more
		}
		due := ch.lastRefresh.Add(interval)
		if ch.notBefore.After(due) {
			due = ch.notBefore
		}
		if due.After(now) {
			later(ch, due)
			continue
		}
		ch.dirty = false
		ch.lastRefresh = now
		jobs = append(jobs, job{ch, ch.want})
		needCursor = needCursor || ch.want > 0
	}
	h.mu.Unlock()
	if len(jobs) == 0 {
		return next
	}
	cursor := ^uint64(0)
	if needCursor && h.s.opts.MarketDataCursor != nil {
		ctx, cancel := context.WithTimeout(context.Background(), h.s.set.BackendTimeout)
		c, err := h.s.opts.MarketDataCursor(ctx)
		cancel()
		if err != nil {
			c = 0
		}
		cursor = c
	}
	for _, j := range jobs {
		ok := j.want <= cursor && h.refresh(j.ch)
		if !ok {
			// Market data has not applied the deal yet, or the backend
			// failed: retry shortly.
			retry := time.Now().Add(min(interval, 10*time.Millisecond))
			h.mu.Lock()
			if !j.ch.dirty {
				j.ch.dirty = true
				j.ch.notBefore = retry
				j.ch.lastRefresh = time.Time{}
				later(j.ch, retry)
			}
			h.mu.Unlock()
		}
	}
	return next
}
