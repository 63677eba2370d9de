package events

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/persistence/derive"
)

// Topic is one of the three event topics (docs/protocol.md "Kafka events").
type Topic uint8

// Topics, in the order a record's messages are encoded.
const (
	Balances Topic = iota // balance.update changes, keyed by user id
	Orders                // every order event, keyed by market name
	Deals                 // every trade, keyed by market name
	numTopics
)

var topicNames = [numTopics]string{"balances", "orders", "deals"}

// String is the topic's default name ("balances", "orders", "deals").
func (t Topic) String() string {
	if t < numTopics {
		return topicNames[t]
	}
	return "topic(" + strconv.Itoa(int(t)) + ")"
}

// Message is one event message: what the publisher sends to Kafka and the
// bus hands to in-process subscribers. Key and Value are shared by everyone
// who receives the message and must not be modified.
type Message struct {
	Topic Topic
	// Key decides the partition: the market name for orders and deals,
	// the user id in decimal for balances.
	Key string
	// Value is the JSON message of docs/protocol.md "Kafka events",
	// encoded by package internal/wire.
	Value []byte
	// LSN is the journal record the message was derived from.
	LSN uint64
	// Seq is the message's position among its record's messages of the
	// same topic, from 0: (LSN, Seq) identifies a message, and in a
	// partition messages follow each other in (LSN, Seq) order.
	Seq uint32
}

// Encoder turns derived records into messages. It holds only the
// configuration and is safe for concurrent use.
type Encoder struct {
	cfg atomic.Pointer[config.Config] // replaced by a record's Config
}

// NewEncoder returns an encoder for cfg's assets and markets.
func NewEncoder(cfg *config.Config) *Encoder {
	e := &Encoder{}
	e.cfg.Store(cfg)
	return e
}

// Append appends r's messages to dst: the balances messages (one per
// balance.update change), then the orders messages (one per order change,
// in order), then the deals messages (one per trade). The values of one
// call share one backing array. An error means r names an asset or market
// the configuration lacks (the journal does not match it); dst is then
// returned unchanged.
func (e *Encoder) Append(dst []Message, r *derive.Record) ([]Message, error) {
	if r.Config != nil {
		e.cfg.Store(r.Config) // an asset or market listed at run time
	}
	cfg := e.cfg.Load()
	n0 := len(dst)
	var buf []byte
	var ends []int
	add := func(t Topic, key string, seq int) {
		ends = append(ends, len(buf))
		dst = append(dst, Message{Topic: t, Key: key, LSN: r.LSN, Seq: uint32(seq)})
	}
	seq := 0
	for i := range r.Balances {
		c := &r.Balances[i]
		if !c.Update {
			continue
		}
		if int(c.Asset) >= len(cfg.Assets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: asset %d is not configured", r.LSN, c.Asset)
		}
		buf = e.appendBalance(buf, c)
		add(Balances, strconv.FormatUint(uint64(c.User), 10), seq)
		seq++
	}
	for i := range r.Orders {
		c := &r.Orders[i]
		if int(c.Order.Market) >= len(cfg.Markets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: market %d is not configured", r.LSN, c.Order.Market)
		}
		m := cfg.Markets[c.Order.Market].Wire()
		buf = wire.AppendOrderEvent(buf, &m, uint8(c.Event), &c.Order)
		add(Orders, m.Name, i)
	}
	for i, d := range r.Deals {
		if int(d.Market) >= len(cfg.Markets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: market %d is not configured", r.LSN, d.Market)
		}
		m := cfg.Markets[d.Market].Wire()
		buf = wire.AppendDeal(buf, &m, d)
		add(Deals, m.Name, i)
	}
	start := 0
	for i, end := range ends {
		dst[n0+i].Value = buf[start:end:end]
		start = end
	}
	return dst, nil
}

// appendBalance appends a balances message (docs/protocol.md "Kafka events").
func (e *Encoder) appendBalance(b []byte, c *derive.BalanceChange) []byte {
	a := e.cfg.Load().Assets[c.Asset].Wire()
	return wire.AppendBalanceChange(b, &a, &wire.BalanceChange{
		Time: c.Time, User: c.User, Business: c.Business, Change: &c.Change, Negative: c.Negative})
}
