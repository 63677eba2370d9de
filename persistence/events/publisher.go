package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/bourse-exchange/bourse/runtime/derive"
)

// Message headers set by the publisher, each a decimal ASCII number.
const (
	HeaderLSN   = "lsn"   // the journal record the message was derived from
	HeaderSeq   = "seq"   // Message.Seq: position among the record's messages of the topic
	HeaderAcked = "acked" // the publisher's confirmed cursor when it sent the message's batch
)

// PublisherOptions tune the Kafka publisher beyond config's kafka section
// (brokers, topic names, compression). Zero values take the defaults.
type PublisherOptions struct {
	// Version is the Kafka protocol version spoken; default V2_1_0_0
	// (headers and idempotence need 0.11, zstd 2.1). At least V0_11_0_0.
	Version sarama.KafkaVersion
	// ClientID names the producer to the brokers; default "bourse".
	ClientID string
	// Retries is how often a message is retried before its send fails
	// (sarama Producer.Retry.Max); default 1000, which with the backoff
	// below rides out about 16 minutes of broker unavailability inside
	// one send.
	Retries int
	// RetryBackoff caps the exponential backoff between retries (from
	// 100 ms); default 1 s.
	RetryBackoff time.Duration
	// ReadTimeout bounds reading one partition's last message on a cold
	// start; default 10 s.
	ReadTimeout time.Duration
	// CloseTimeout bounds how long Close waits for a send still in flight;
	// default 10 s.
	CloseTimeout time.Duration
	// StallWarning: a send still unconfirmed after this long is logged at
	// warn level, and again every StallWarning; default 30 s.
	StallWarning time.Duration
	// Logger receives the publisher's records; nil: slog.Default().
	Logger *slog.Logger
	// Sarama, if set, may adjust the sarama configuration last (tests,
	// TLS/SASL). The idempotence settings must be kept.
	Sarama func(*sarama.Config)
}

// Publisher publishes the durable journal's events to Kafka (PROTOCOL §6):
// a journal follower (Name "events") on an idempotent sarama producer.
//
// Topics and keys: the balances topic carries balance.update changes keyed
// by user id, the orders and deals topics carry order events and trades
// keyed by market name; so a user's balance messages, and a market's order
// and deal messages, each stay in one partition, in journal order.
//
// Cursor: every message carries headers "lsn", "seq" and "acked"; acked is
// the cursor the publisher had confirmed — every message of every record up
// to it acknowledged by the brokers (acks=all) — when it sent the message's
// batch. Apply sends a batch with SyncProducer.SendMessages and succeeds
// only when every message of it is acknowledged; the confirmed cursor is
// then kept in memory. On a cold start Cursor reads the last message of
// every partition of the three topics and returns the largest acked header:
// any message carrying acked = A proves records ≤ A were all delivered, so
// nothing after the returned cursor is skipped. Records after it may have
// been delivered in part before the crash: they are sent again, as exact
// copies (same key, value and headers). Consumers drop a message whose
// (lsn, seq) is not above the last one they took from its partition.
//
// Within a partition first deliveries follow (lsn, seq) order: a crash or a
// failed send leaves a prefix of each partition's messages of the batch, and
// the batch is sent again whole. The one exception needs a message to fail
// after Retries retries while a later message of the same partition in the
// same batch still gets through; the publisher sees it in the send's
// results, logs it at error level and counts it (Stats.Reordered).
//
// Cursor, Apply and Close are safe for concurrent use (they serialise).
type Publisher struct {
	enc     *Encoder
	topics  [numTopics]string
	brokers []string
	conf    *sarama.Config
	opts    PublisherOptions
	log     *slog.Logger

	mu        sync.Mutex
	client    sarama.Client       // guarded by mu; nil: not connected
	producer  sarama.SyncProducer // guarded by mu
	known     bool                // confirmed is valid; guarded by mu
	confirmed uint64              // guarded by mu
	inflight  *send               // a send Apply stopped waiting for; guarded by mu
	closed    bool                // guarded by mu

	cursor    atomic.Uint64 // confirmed, for Stats
	messages  atomic.Uint64
	batches   atomic.Uint64
	failures  atomic.Uint64
	reordered atomic.Uint64
}

// send is one batch handed to the producer.
type send struct {
	done  chan struct{}
	msgs  []*sarama.ProducerMessage
	last  uint64 // the batch's last LSN
	start time.Time
	err   error // set before done is closed
}

// NewPublisher returns a publisher to cfg.Kafka's brokers and topics with
// its compression. It does not connect: Cursor and Apply do (and reconnect
// after a failure), so a broker that is down delays events but not the
// node. It fails only on an invalid configuration.
func NewPublisher(cfg *config.Config, opts PublisherOptions) (*Publisher, error) {
	k := cfg.Kafka
	if len(k.Brokers) == 0 {
		return nil, errors.New("events: kafka.brokers is empty")
	}
	if opts.Version == (sarama.KafkaVersion{}) {
		opts.Version = sarama.V2_1_0_0
	}
	if !opts.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("events: Kafka version %s: at least 0.11 is needed (headers, idempotence)", opts.Version)
	}
	if opts.ClientID == "" {
		opts.ClientID = "bourse"
	}
	if opts.Retries <= 0 {
		opts.Retries = 1000
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 10 * time.Second
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 10 * time.Second
	}
	if opts.StallWarning <= 0 {
		opts.StallWarning = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	c := sarama.NewConfig()
	c.ClientID = opts.ClientID
	c.Version = opts.Version
	c.Net.MaxOpenRequests = 1
	c.Net.DialTimeout = 10 * time.Second
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Retry.Max = opts.Retries
	maxBackoff := opts.RetryBackoff
	c.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		d := 100 * time.Millisecond
		for i := 0; i < retries && d < maxBackoff; i++ {
			d *= 2
		}
		return min(d, maxBackoff)
	}
	c.Producer.Partitioner = sarama.NewHashPartitioner
	switch k.Compression {
	case "", "none":
		c.Producer.Compression = sarama.CompressionNone
	case "gzip":
		c.Producer.Compression = sarama.CompressionGZIP
	case "snappy":
		c.Producer.Compression = sarama.CompressionSnappy
	case "lz4":
		c.Producer.Compression = sarama.CompressionLZ4
	case "zstd":
		c.Producer.Compression = sarama.CompressionZSTD
	default:
		return nil, fmt.Errorf("events: unknown compression %q", k.Compression)
	}
	c.Consumer.Return.Errors = true
	if opts.Sarama != nil {
		opts.Sarama(c)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	p := &Publisher{
		enc: NewEncoder(cfg), brokers: append([]string(nil), k.Brokers...), conf: c, opts: opts, log: log,
	}
	p.topics[Balances], p.topics[Orders], p.topics[Deals] = k.Topics.Balances, k.Topics.Orders, k.Topics.Deals
	return p, nil
}

// Name implements runtime.Follower.
func (p *Publisher) Name() string { return "events" }

// Cursor implements runtime.Follower. While the publisher runs it is the
// confirmed cursor (after settling a send an earlier Apply stopped waiting
// for); on a cold start it is the largest "acked" header among the last
// messages of the topics' partitions (0 when they are empty).
func (p *Publisher) Cursor(ctx context.Context) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errClosed
	}
	if p.inflight != nil {
		if err := p.settleLocked(ctx); err != nil && ctx.Err() != nil {
			return 0, err
		}
	}
	if p.known {
		return p.confirmed, nil
	}
	if err := p.connectLocked(); err != nil {
		return 0, err
	}
	acked, err := p.readAckedLocked(ctx)
	if err != nil {
		p.disconnectLocked()
		return 0, err
	}
	p.setConfirmedLocked(acked)
	p.log.Info("events: resuming after the last acknowledged record found in Kafka", "cursor", acked)
	return acked, nil
}

var errClosed = errors.New("events: publisher closed")

// Apply implements runtime.Follower: it sends every message of records and
// returns nil once the brokers acknowledged them all. If ctx ends first it
// returns ctx's error and the send goes on; the next Cursor or Apply waits
// for it, so two sends never overlap.
func (p *Publisher) Apply(ctx context.Context, records []derive.Record) error {
	if len(records) == 0 {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errClosed
	}
	if p.inflight != nil {
		if err := p.settleLocked(ctx); err != nil {
			return err
		}
	}
	// Records follow the stored cursor: what precedes them is confirmed.
	acked := strconv.AppendUint(nil, records[0].LSN-1, 10)
	var msgs []Message
	for i := range records {
		var err error
		if msgs, err = p.enc.Append(msgs, &records[i]); err != nil {
			return err
		}
	}
	last := records[len(records)-1].LSN
	if len(msgs) == 0 {
		p.setConfirmedLocked(last)
		return nil
	}
	pms := make([]*sarama.ProducerMessage, len(msgs))
	hdrs := make([]sarama.RecordHeader, 3*len(msgs))
	for i := range msgs {
		m := &msgs[i]
		h := hdrs[3*i : 3*i+3 : 3*i+3]
		h[0] = sarama.RecordHeader{Key: []byte(HeaderLSN), Value: strconv.AppendUint(nil, m.LSN, 10)}
		h[1] = sarama.RecordHeader{Key: []byte(HeaderSeq), Value: strconv.AppendUint(nil, uint64(m.Seq), 10)}
		h[2] = sarama.RecordHeader{Key: []byte(HeaderAcked), Value: acked}
		pms[i] = &sarama.ProducerMessage{
			Topic: p.topics[m.Topic], Key: sarama.StringEncoder(m.Key), Value: sarama.ByteEncoder(m.Value), Headers: h,
		}
	}
	if err := p.connectLocked(); err != nil {
		return err
	}
	s := &send{done: make(chan struct{}), msgs: pms, last: last, start: time.Now()}
	producer := p.producer
	go func() {
		defer close(s.done)
		s.err = producer.SendMessages(pms)
	}()
	p.inflight = s
	return p.settleLocked(ctx)
}

// settleLocked waits for the send in flight and folds its outcome in: on
// success the confirmed cursor moves to the batch's end; on failure the
// producer is dropped (the next Apply reconnects with a new producer id)
// and the batch's outcome is checked for reordering. It returns ctx's error
// if ctx ends first (the send stays in flight), else the send's.
func (p *Publisher) settleLocked(ctx context.Context) error {
	s := p.inflight
	tick := time.NewTicker(p.opts.StallWarning)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-s.done:
			waiting = false
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			p.log.Warn("events: Kafka has not acknowledged a batch yet", "messages", len(s.msgs), "last_lsn", s.last,
				"waiting", time.Since(s.start).Round(time.Second))
		}
	}
	p.inflight = nil
	p.batches.Add(1)
	if s.err == nil {
		p.messages.Add(uint64(len(s.msgs)))
		p.setConfirmedLocked(s.last)
		return nil
	}
	p.failures.Add(1)
	p.checkOrder(s)
	p.disconnectLocked()
	return fmt.Errorf("events: send of %d messages up to LSN %d: %w", len(s.msgs), s.last, s.err)
}

func (p *Publisher) setConfirmedLocked(lsn uint64) {
	p.known, p.confirmed = true, lsn
	p.cursor.Store(lsn)
}

// checkOrder reports a failed batch in which a message was delivered after
// an earlier message of the same partition failed: consumers then see the
// earlier one only when the batch is sent again.
func (p *Publisher) checkOrder(s *send) {
	var perrs sarama.ProducerErrors
	if !errors.As(s.err, &perrs) {
		return
	}
	failed := make(map[*sarama.ProducerMessage]bool, len(perrs))
	for _, e := range perrs {
		failed[e.Msg] = true
	}
	type part struct {
		topic string
		p     int32
	}
	gap := make(map[part]uint64) // partition → LSN of its first failed message
	for _, m := range s.msgs {
		k := part{m.Topic, m.Partition}
		if failed[m] {
			if _, ok := gap[k]; !ok {
				gap[k] = lsnOf(m)
			}
			continue
		}
		if first, ok := gap[k]; ok {
			p.reordered.Add(1)
			p.log.Error("events: a message was delivered after an earlier message of its partition failed; consumers see them out of order",
				"topic", m.Topic, "partition", m.Partition, "failed_lsn", first, "delivered_lsn", lsnOf(m))
			delete(gap, k)
		}
	}
}

func lsnOf(m *sarama.ProducerMessage) uint64 {
	for _, h := range m.Headers {
		if string(h.Key) == HeaderLSN {
			v, _ := strconv.ParseUint(string(h.Value), 10, 64)
			return v
		}
	}
	return 0
}

func (p *Publisher) connectLocked() error {
	if p.producer != nil {
		return nil
	}
	if p.client == nil {
		c, err := sarama.NewClient(p.brokers, p.conf)
		if err != nil {
			return fmt.Errorf("events: connect to %v: %w", p.brokers, err)
		}
		p.client = c
	}
	prod, err := sarama.NewSyncProducerFromClient(p.client)
	if err != nil {
		p.disconnectLocked()
		return fmt.Errorf("events: producer: %w", err)
	}
	p.producer = prod
	return nil
}

func (p *Publisher) disconnectLocked() {
	if p.producer != nil {
		if err := p.producer.Close(); err != nil {
			p.log.Warn("events: closing the producer", "err", err)
		}
		p.producer = nil
	}
	if p.client != nil {
		p.client.Close()
		p.client = nil
	}
}

// readAckedLocked returns the largest acked header among the last messages
// of the topics' partitions.
func (p *Publisher) readAckedLocked(ctx context.Context) (uint64, error) {
	consumer, err := sarama.NewConsumerFromClient(p.client)
	if err != nil {
		return 0, fmt.Errorf("events: consumer: %w", err)
	}
	defer consumer.Close()
	var acked uint64
	for _, topic := range p.topics {
		parts, err := p.client.Partitions(topic)
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			continue // nothing published yet
		}
		if err != nil {
			return 0, fmt.Errorf("events: partitions of %s: %w", topic, err)
		}
		for _, part := range parts {
			a, ok, err := p.lastAcked(ctx, consumer, topic, part)
			if err != nil {
				return 0, err
			}
			if ok {
				acked = max(acked, a)
			}
		}
	}
	return acked, nil
}

// lastAcked reads the acked header of the last message of one partition;
// ok is false when the partition is empty or its last message lacks the
// header (not written by a publisher).
func (p *Publisher) lastAcked(ctx context.Context, consumer sarama.Consumer, topic string, part int32) (uint64, bool, error) {
	newest, err := p.client.GetOffset(topic, part, sarama.OffsetNewest)
	if err != nil {
		return 0, false, fmt.Errorf("events: newest offset of %s/%d: %w", topic, part, err)
	}
	oldest, err := p.client.GetOffset(topic, part, sarama.OffsetOldest)
	if err != nil {
		return 0, false, fmt.Errorf("events: oldest offset of %s/%d: %w", topic, part, err)
	}
	if newest <= oldest {
		return 0, false, nil
	}
	pc, err := consumer.ConsumePartition(topic, part, newest-1)
	if err != nil {
		return 0, false, fmt.Errorf("events: read %s/%d at %d: %w", topic, part, newest-1, err)
	}
	defer pc.Close()
	timeout := time.NewTimer(p.opts.ReadTimeout)
	defer timeout.Stop()
	for {
		select {
		case m := <-pc.Messages():
			if m.Offset < newest-1 {
				continue
			}
			for _, h := range m.Headers {
				if string(h.Key) == HeaderAcked {
					v, err := strconv.ParseUint(string(h.Value), 10, 64)
					if err != nil {
						return 0, false, fmt.Errorf("events: %s/%d at %d: bad %s header %q", topic, part, m.Offset, HeaderAcked, h.Value)
					}
					return v, true, nil
				}
			}
			p.log.Warn("events: last message of a partition has no acked header: ignored", "topic", topic, "partition", part, "offset", m.Offset)
			return 0, false, nil
		case err := <-pc.Errors():
			return 0, false, fmt.Errorf("events: read %s/%d at %d: %w", topic, part, newest-1, err)
		case <-timeout.C:
			return 0, false, fmt.Errorf("events: read %s/%d at %d: no message within %s", topic, part, newest-1, p.opts.ReadTimeout)
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// Close waits (up to PublisherOptions.CloseTimeout) for a send in flight,
// then closes the producer and the connection. A send still unconfirmed
// then is left to finish on its own and Close reports it. It implements
// io.Closer; the publisher is unusable afterwards.
func (p *Publisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var err error
	if p.inflight != nil {
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.CloseTimeout)
		err = p.settleLocked(ctx)
		cancel()
		if p.inflight != nil {
			// Closing the producer under a running SendMessages is
			// not safe: leave both to finish.
			p.producer, p.client = nil, nil
			return fmt.Errorf("events: close: a send of %d messages up to LSN %d is still unacknowledged", len(p.inflight.msgs), p.inflight.last)
		}
	}
	p.disconnectLocked()
	return err
}

var _ io.Closer = (*Publisher)(nil)

// PublisherStats counts the publisher's work since NewPublisher.
type PublisherStats struct {
	Messages  uint64 // messages acknowledged
	Batches   uint64 // sends completed (acknowledged or failed)
	Failures  uint64 // failed sends (each sent again)
	Reordered uint64 // messages delivered after an earlier one of their partition failed
	Cursor    uint64 // confirmed cursor (0 until known)
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		Messages: p.messages.Load(), Batches: p.batches.Load(), Failures: p.failures.Load(),
		Reordered: p.reordered.Load(), Cursor: p.cursor.Load(),
	}
}
