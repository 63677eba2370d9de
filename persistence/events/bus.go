package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/derive"
)

// Kinds selects which records a bus subscription receives.
type Kinds uint8

// Kinds of records. A record is delivered to a subscription when it holds
// anything of the kinds the subscription asked for.
const (
	// KindBalances: a change of any balance total — balance.update,
	// every deal leg and fee (derive.Record.Balances), not only the
	// balance.update changes the balances topic carries.
	KindBalances Kinds = 1 << iota
	// KindOrders: an order event (PUT, UPDATE, FINISH).
	KindOrders
	// KindDeals: a trade.
	KindDeals

	AllKinds = KindBalances | KindOrders | KindDeals
)

func (k Kinds) match(r *derive.Record) bool {
	return k&KindBalances != 0 && len(r.Balances) > 0 ||
		k&KindOrders != 0 && len(r.Orders) > 0 ||
		k&KindDeals != 0 && len(r.Deals) > 0
}

// Event is one durable journal record as the bus delivers it: the typed
// changes and the encoded messages Kafka gets for it. Both are shared by
// every subscriber and must not be modified.
type Event struct {
	LSN uint64
	// Record lists every balance change (with the total it left), every
	// order change (with the order as it then stood) and every deal.
	Record *derive.Record
	// Messages are the record's messages on the three topics, exactly as
	// the Kafka publisher sends them (topic, key, value, LSN, seq).
	Messages []Message
}

// Reasons a subscription's channel was closed (Subscription.Err).
var (
	// ErrSlow: the subscriber let Buffer events pile up; it was
	// disconnected so that the bus never waits for it.
	ErrSlow = errors.New("events: subscriber too slow: disconnected")
	// ErrBusClosed: the bus was closed.
	ErrBusClosed = errors.New("events: bus closed")
)

// Bus is the in-process event bus: a journal follower (Name "bus") that
// hands each durable record, as an Event, to its subscribers — the
// websocket edge's pushes, and anyone else in the process. It runs whether
// or not Kafka is configured.
//
// Subscribers see live events only: the bus starts at the LSN given to
// NewBus and keeps no history. Delivery never blocks Apply: each
// subscription has a bounded buffer, and a subscriber whose buffer is full
// is disconnected with ErrSlow (counted in Stats). Events arrive in LSN
// order, so per user, per market and per key they keep the journal's
// order.
//
// The bus is safe for concurrent use.
type Bus struct {
	enc *Encoder

	mu     sync.Mutex
	cursor uint64                     // last record applied (or the start); guarded by mu
	subs   map[*Subscription]struct{} // guarded by mu
	closed bool                       // guarded by mu
	msgs   []Message                  // scratch; guarded by mu

	records   atomic.Uint64
	delivered atomic.Uint64
	slow      atomic.Uint64
}

// NewBus returns a bus for cfg whose Cursor starts at start: pass the
// journal's durable LSN (runtime.Feed.Durable) so that subscribers get the
// records made from now on.
func NewBus(cfg *config.Config, start uint64) *Bus {
	return &Bus{enc: NewEncoder(cfg), cursor: start, subs: make(map[*Subscription]struct{})}
}

// Name implements runtime.Follower.
func (b *Bus) Name() string { return "bus" }

// Cursor implements runtime.Follower: the last record applied, or the start
// LSN. It never fails.
func (b *Bus) Cursor(context.Context) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cursor, nil
}

// Apply implements runtime.Follower: it delivers records to the current
// subscribers (encoding them only if there are any) and never waits for
// one. It fails only if a record names an asset or market the
// configuration lacks.
func (b *Bus) Apply(ctx context.Context, records []derive.Record) error {
	if len(records) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.subs) > 0 {
		// Encode first: a failure delivers nothing.
		b.msgs = b.msgs[:0]
		ends := make([]int, len(records))
		for i := range records {
			var err error
			if b.msgs, err = b.enc.Append(b.msgs, &records[i]); err != nil {
				return err
			}
			ends[i] = len(b.msgs)
		}
		// The caller reuses records' array (the Records themselves are
		// not shared): subscribers get copies.
		all := append([]Message(nil), b.msgs...)
		recs := append([]derive.Record(nil), records...)
		start := 0
		for i := range recs {
			r := &recs[i]
			ev := Event{LSN: r.LSN, Record: r, Messages: all[start:ends[i]:ends[i]]}
			start = ends[i]
			if err := b.deliverLocked(ctx, ev); err != nil {
				return err
			}
		}
	}
	b.cursor = records[len(records)-1].LSN
	b.records.Add(uint64(len(records)))
	return nil
}

// deliverLocked hands ev to every subscription that wants it,
// disconnecting those whose buffer is full — except reliable ones, which
// it waits for (until they close or ctx ends). b.mu must be held.
func (b *Bus) deliverLocked(ctx context.Context, ev Event) error {
	for s := range b.subs {
		if !s.kinds.match(ev.Record) {
			continue
		}
		select {
		case s.ch <- ev:
			b.delivered.Add(1)
			continue
		default:
		}
		if !s.reliable {
			b.slow.Add(1)
			b.dropLocked(s, ErrSlow)
			continue
		}
		select {
		case s.ch <- ev:
			b.delivered.Add(1)
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *Bus) dropLocked(s *Subscription, why error) {
	delete(b.subs, s)
	s.err = why
	close(s.ch)
}

// Subscribe returns a subscription to the records holding any of kinds,
// with room for buffer undelivered events (at least 1). Receive from
// Events until it is closed; Err then says why.
func (b *Bus) Subscribe(kinds Kinds, buffer int) *Subscription {
	return b.subscribe(kinds, buffer, false)
}

// SubscribeReliable is Subscribe for a subscriber that must see every
// event (the websocket pushes): when its buffer is full the bus waits for
// it instead of dropping it. The bus is a journal follower, so waiting only
// makes the bus lag — the journal keeps the records — and never slows
// matching; but every other subscriber waits too, so a reliable subscriber
// must keep up on average.
func (b *Bus) SubscribeReliable(kinds Kinds, buffer int) *Subscription {
	return b.subscribe(kinds, buffer, true)
}

func (b *Bus) subscribe(kinds Kinds, buffer int, reliable bool) *Subscription {
	s := &Subscription{bus: b, kinds: kinds, ch: make(chan Event, max(buffer, 1)), reliable: reliable, done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.err = ErrBusClosed
		close(s.ch)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Close disconnects every subscriber with ErrBusClosed; later
// subscriptions are closed at once. It implements io.Closer and always
// returns nil.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.dropLocked(s, ErrBusClosed)
	}
	return nil
}

// BusStats counts the bus's work since NewBus.
type BusStats struct {
	Subscribers int    // current subscriptions
	Records     uint64 // records applied
	Delivered   uint64 // events handed to subscribers
	Slow        uint64 // subscribers disconnected with ErrSlow
}

// Stats returns the bus's counters.
func (b *Bus) Stats() BusStats {
	b.mu.Lock()
	n := len(b.subs)
	b.mu.Unlock()
	return BusStats{Subscribers: n, Records: b.records.Load(), Delivered: b.delivered.Load(), Slow: b.slow.Load()}
}

// Subscription is one subscriber's feed of events from a Bus.
type Subscription struct {
	bus      *Bus
	kinds    Kinds
	ch       chan Event
	err      error // why ch was closed; guarded by bus.mu, set before close(ch)
	reliable bool
	done     chan struct{} // closed by Close before it takes bus.mu
	once     sync.Once
}

// Events is the subscription's channel, closed when the subscription ends.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Err reports why the channel was closed: ErrSlow, ErrBusClosed, or nil
// (closed by Close, or still open).
func (s *Subscription) Err() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	return s.err
}

// Close ends the subscription; its channel is closed (events still
// buffered can be drained). Closing twice, or after the bus dropped it, does
// nothing.
func (s *Subscription) Close() {
	s.once.Do(func() { close(s.done) }) // frees a delivery waiting on s
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if _, ok := s.bus.subs[s]; ok {
		s.bus.dropLocked(s, nil)
	}
}
