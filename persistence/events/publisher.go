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
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/journal"
)

// Message headers set by the publisher, each a decimal ASCII number.
const (
	HeaderLSN   = "lsn"   // the journal record the message was derived from
	HeaderSeq   = "seq"   // Message.Seq: position among the record's messages of the topic
	HeaderAcked = "acked" // the publisher's confirmed cursor when it sent the message's batch
	// HeaderJournal is the mark of the journal the message comes from
	// (journal.Identity.Mark), when the publisher was given one.
	HeaderJournal = "journal"
)

// PublisherOptions tune the Kafka publisher beyond config's kafka section
// (brokers, topic names, compression). Zero values take the defaults.
type PublisherOptions struct {
	// Version is the Kafka protocol version spoken; default V2_1_0_0
	// (headers and idempotence need 0.11, zstd 2.1). At least V0_11_0_0.
	Version sarama.KafkaVersion
	// ClientID names the publisher to the brokers; default "bourse".
	ClientID string
	// Retries is how often a partition's record batch is sent again after
	// a retriable error (leader moved, timeout, connection lost) before
	// the batch fails; default 10. A failed batch is sent again whole by
	// the journal follower, with backoff, with a new producer id.
	Retries int
	// RetryBackoff caps the exponential backoff between retries (from
	// 50 ms); default 1 s.
	RetryBackoff time.Duration
	// MaxBatchBytes bounds one partition's record batch (about: keys,
	// values and headers); default 512 KiB, below the brokers' default
	// message.max.bytes. A partition's share of a larger batch is sent as
	// several record batches, one after the other.
	MaxBatchBytes int
	// ReadTimeout bounds reading one partition's last message on a cold
	// start; default 10 s.
	ReadTimeout time.Duration
	// CloseTimeout bounds how long Close waits for a send in flight;
	// default 10 s.
	CloseTimeout time.Duration
	// StallWarning: a send still unconfirmed after this long is logged at
	// warn level, and again every StallWarning; default 30 s.
	StallWarning time.Duration
	// Logger receives the publisher's records; nil: slog.Default().
	Logger *slog.Logger
	// Sarama, if set, may adjust the sarama client configuration last
	// (TLS, SASL, timeouts).
	Sarama func(*sarama.Config)
	// Journal, if set, is the identity of the journal the publisher
	// follows, and JournalEnd that journal's last LSN when the node opened
	// it. Every message then carries the header "journal" (Identity.Mark),
	// and a cold start checks the last message of every partition against
	// the journal (Identity.Check with the message's LSN): messages of
	// another journal, or of records the journal discarded (restored from
	// a backup or cut back), cannot be unpublished, so Cursor then fails
	// with ErrForeign and nothing is published until an operator points
	// the publisher at other topics (or deletes these).
	Journal    *journal.Identity
	JournalEnd uint64
}

// ErrForeign is returned by Cursor when the topics hold messages that do
// not belong to the journal (PublisherOptions.Journal).
var ErrForeign = errors.New("events: the Kafka topics hold messages this journal does not have")

// Publisher publishes the durable journal's events to Kafka (docs/protocol.md "Kafka events"):
// a journal follower (Name "events") with an idempotent producer built on
// sarama's client (producer id and epoch, sequence numbers, acks=all).
//
// Topics and keys: the balances topic carries balance.update changes keyed
// by user id, the orders and deals topics carry order events and trades
// keyed by market name (sarama's hash partitioner, FNV-1a); so a user's
// balance messages, and a market's order and deal messages, each stay in
// one partition, in journal order.
//
// Sending: Apply sends its batch as one record batch per partition (split
// only beyond MaxBatchBytes, the parts then sent one after the other) and
// returns nil only when every partition acknowledged with acks=all. Kafka
// appends a record batch whole or not at all, and a retried batch keeps
// its sequence number so the broker drops a copy it already appended. So
// when a send fails — broker down, publisher stopped or killed — each
// partition holds a prefix of its messages of the batch, never a gap.
//
// Cursor: every message carries headers "lsn", "seq" and "acked"; acked is
// the cursor the publisher had confirmed — every message of every record up
// to it acknowledged — when it sent the message's batch. While it runs the
// publisher keeps its confirmed cursor in memory. On a cold start Cursor
// reads the last message of every partition of the three topics and returns
// the largest acked header: a message carrying acked = A proves that
// records ≤ A were all delivered, so nothing after the returned cursor is
// skipped. Records after it may have been delivered, in part, before the
// restart: they are sent again, as copies (the same key, value, lsn and
// seq; acked may differ). In each partition the first copies come in
// (lsn, seq) order, so a consumer drops a message whose (lsn, seq) is not
// above the last one it took from that partition, and sees every message
// once, in order.
//
// Cursor, Apply and Close are safe for concurrent use (they serialise).
type Publisher struct {
	enc     *Encoder
	topics  [numTopics]string
	brokers []string
	conf    *sarama.Config
	opts    PublisherOptions
	reqVer  int16 // Produce request version
	// partitioners per topic: sarama's hash partitioner (not safe for
	// concurrent use: only the send in flight uses them).
	partitioners [numTopics]sarama.Partitioner
	log          *slog.Logger

	mu        sync.Mutex
	client    sarama.Client // guarded by mu; nil: not connected
	sess      *session      // guarded by mu; nil: none yet, or dropped after a failure
	known     bool          // confirmed is valid; guarded by mu
	confirmed uint64        // guarded by mu
	inflight  *send         // a send Apply stopped waiting for; guarded by mu
	closed    bool          // guarded by mu

	cursor   atomic.Uint64 // confirmed, for Stats
	messages atomic.Uint64
	batches  atomic.Uint64
	failures atomic.Uint64
	retries  atomic.Uint64
}

// session is one idempotent producer id: the next sequence number per
// partition. Owned by the send in flight, else guarded by Publisher.mu.
type session struct {
	id    int64
	epoch int16
	seq   map[topicPart]int32
}

type topicPart struct {
	topic string
	part  int32
}

// send is one batch being sent.
type send struct {
	done   chan struct{}
	cancel func() // stops retrying
	n      int    // messages
	last   uint64 // the batch's last LSN
	start  time.Time
	err    error // set before done is closed
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
	opts = opts.withDefaults()
	if !opts.Version.IsAtLeast(sarama.V0_11_0_0) {
		return nil, fmt.Errorf("events: Kafka version %s: at least 0.11 is needed (headers, idempotence)", opts.Version)
	}
	c, err := saramaConfig(k.Compression, opts)
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		enc: NewEncoder(cfg), brokers: append([]string(nil), k.Brokers...), conf: c, opts: opts, log: opts.Logger,
		reqVer: produceVersion(c.Version),
	}
	p.topics[Balances], p.topics[Orders], p.topics[Deals] = k.Topics.Balances, k.Topics.Orders, k.Topics.Deals
	for i, topic := range p.topics {
		p.partitioners[i] = sarama.NewHashPartitioner(topic)
	}
	return p, nil
}

// withDefaults returns o with every unset field at its documented default.
func (o PublisherOptions) withDefaults() PublisherOptions {
	if o.Version == (sarama.KafkaVersion{}) {
		o.Version = sarama.V2_1_0_0
	}
	if o.ClientID == "" {
		o.ClientID = "bourse"
	}
	if o.Retries <= 0 {
		o.Retries = 10
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = time.Second
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 512 << 10
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 10 * time.Second
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 10 * time.Second
	}
	if o.StallWarning <= 0 {
		o.StallWarning = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// saramaConfig is the client configuration of an idempotent producer with
// the named compression, after opts.Sarama's adjustments, validated.
func saramaConfig(compression string, opts PublisherOptions) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.ClientID = opts.ClientID
	c.Version = opts.Version
	c.Net.DialTimeout = 10 * time.Second
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	switch compression {
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
		return nil, fmt.Errorf("events: unknown compression %q", compression)
	}
	// The client consumes only to read each partition's last message on
	// a cold start: do not let a fetch wait for more.
	c.Consumer.Return.Errors = true
	c.Consumer.MaxWaitTime = 20 * time.Millisecond
	if opts.Sarama != nil {
		opts.Sarama(c)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return c, nil
}

// produceVersion is the Produce request version to send to a broker of
// Kafka version v.
func produceVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 7
	case v.IsAtLeast(sarama.V2_0_0_0):
		return 6
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 5
	default:
		return 3
	}
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
// returns ctx's error; the send stops retrying and the next Cursor, Apply
// or Close waits for it, so two sends never overlap.
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
	if err := p.connectLocked(); err != nil {
		return err
	}
	if p.sess == nil {
		sess, err := p.newSession()
		if err != nil {
			p.disconnectLocked()
			return err
		}
		p.sess = sess
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &send{done: make(chan struct{}), cancel: cancel, n: len(msgs), last: last, start: time.Now()}
	client, sess := p.client, p.sess
	go func() {
		defer close(s.done)
		defer cancel()
		s.err = p.produce(sctx, client, sess, msgs, acked)
	}()
	p.inflight = s
	return p.settleLocked(ctx)
}

// settleLocked waits for the send in flight and folds its outcome in: on
// success the confirmed cursor moves to the batch's end; on failure the
// session and the connection are dropped (the next Apply starts a new
// producer id). It returns ctx's error if ctx ends first (the send stays in
// flight), else the send's.
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
			p.log.Warn("events: Kafka has not acknowledged a batch yet", "messages", s.n, "last_lsn", s.last,
				"waiting", time.Since(s.start).Round(time.Second))
		}
	}
	p.inflight = nil
	p.batches.Add(1)
	if s.err == nil {
		p.messages.Add(uint64(s.n))
		p.setConfirmedLocked(s.last)
		return nil
	}
	p.failures.Add(1)
	p.sess = nil
	p.disconnectLocked()
	return fmt.Errorf("events: send of %d messages up to LSN %d: %w", s.n, s.last, s.err)
}

func (p *Publisher) setConfirmedLocked(lsn uint64) {
	p.known, p.confirmed = true, lsn
	p.cursor.Store(lsn)
}

func (p *Publisher) connectLocked() error {
	if p.client != nil {
		return nil
	}
	c, err := sarama.NewClient(p.brokers, p.conf)
	if err != nil {
		return fmt.Errorf("events: connect to %v: %w", p.brokers, err)
	}
	p.client = c
	return nil
}

func (p *Publisher) disconnectLocked() {
	if p.client != nil {
		p.client.Close()
		p.client = nil
	}
}

// newSession asks the brokers for a producer id.
func (p *Publisher) newSession() (*session, error) {
	r, err := p.client.InitProducerID()
	if err == nil && r.Err != sarama.ErrNoError {
		err = r.Err
	}
	if err != nil {
		return nil, fmt.Errorf("events: producer id: %w", err)
	}
	return &session{id: r.ProducerID, epoch: r.ProducerEpoch, seq: make(map[topicPart]int32)}, nil
}

// chunk is one record batch for one partition.
type chunk struct {
	tp      topicPart
	records []*sarama.Record
}

// produce sends msgs: per partition, its messages in order as record
// batches of at most MaxBatchBytes; the i-th batches of all partitions go
// out together (one request per leader), the next ones only after all of
// them were acknowledged. A partition's batch that meets a retriable error
// is sent again with the same sequence number, up to Retries times.
func (p *Publisher) produce(ctx context.Context, client sarama.Client, sess *session, msgs []Message, acked []byte) error {
	idsOf := make(map[string][]int32, numTopics)
	var order []topicPart
	parts := make(map[topicPart][]chunk)
	sizes := make(map[topicPart]int)
	ackedHdr := &sarama.RecordHeader{Key: []byte(HeaderAcked), Value: acked}
	var journalHdr *sarama.RecordHeader
	if p.opts.Journal != nil {
		journalHdr = &sarama.RecordHeader{Key: []byte(HeaderJournal), Value: []byte(p.opts.Journal.Mark())}
	}
	var key sarama.ProducerMessage // what the partitioner reads
	for i := range msgs {
		m := &msgs[i]
		topic := p.topics[m.Topic]
		ids, ok := idsOf[topic]
		if !ok {
			var err error
			if ids, err = client.Partitions(topic); err != nil {
				return fmt.Errorf("partitions of %s: %w", topic, err)
			}
			if len(ids) == 0 {
				return fmt.Errorf("topic %s has no partitions", topic)
			}
			idsOf[topic] = ids
		}
		key.Key = sarama.StringEncoder(m.Key)
		idx, err := p.partitioners[m.Topic].Partition(&key, int32(len(ids)))
		if err != nil {
			return err
		}
		tp := topicPart{topic, ids[idx]}
		rec := &sarama.Record{Key: []byte(m.Key), Value: m.Value, Headers: []*sarama.RecordHeader{
			{Key: []byte(HeaderLSN), Value: strconv.AppendUint(nil, m.LSN, 10)},
			{Key: []byte(HeaderSeq), Value: strconv.AppendUint(nil, uint64(m.Seq), 10)},
			ackedHdr,
		}}
		if journalHdr != nil {
			rec.Headers = append(rec.Headers, journalHdr)
		}
		size := len(m.Key) + len(m.Value) + 64
		cs := parts[tp]
		if cs == nil {
			order = append(order, tp)
		}
		if len(cs) == 0 || sizes[tp]+size > p.opts.MaxBatchBytes && len(cs[len(cs)-1].records) > 0 {
			cs = append(cs, chunk{tp: tp})
			sizes[tp] = 0
		}
		cs[len(cs)-1].records = append(cs[len(cs)-1].records, rec)
		sizes[tp] += size
		parts[tp] = cs
	}
	for round := 0; ; round++ {
		var pending []chunk
		for _, tp := range order {
			if cs := parts[tp]; round < len(cs) {
				pending = append(pending, cs[round])
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if err := p.produceRound(ctx, client, sess, pending); err != nil {
			return err
		}
	}
}

// produceRound sends one record batch per chunk (distinct partitions) until
// all are acknowledged, retrying retriable failures.
func (p *Publisher) produceRound(ctx context.Context, client sarama.Client, sess *session, pending []chunk) error {
	now := time.Now().Truncate(time.Millisecond)
	for attempt := 0; ; attempt++ {
		byBroker, retry, lastErr := byLeader(client, pending)
		results := make(chan produceOutcome, len(byBroker))
		for b, cs := range byBroker {
			// Built here: sess.seq changes only between attempts.
			req := p.produceRequest(sess, cs, now)
			go func() { results <- produceTo(b, req, cs) }()
		}
		var fatal error
		for range byBroker {
			o := <-results
			for _, c := range o.acked {
				sess.seq[c.tp] += int32(len(c.records))
			}
			retry = append(retry, o.retry...)
			if o.err != nil {
				lastErr = o.err
			}
			if o.fatal != nil {
				fatal = o.fatal
			}
		}
		switch {
		case fatal != nil:
			return fatal
		case len(retry) == 0:
			return nil
		case attempt >= p.opts.Retries:
			return fmt.Errorf("after %d retries: %w", attempt, lastErr)
		}
		p.retries.Add(1)
		pending = retry
		d := 50 * time.Millisecond << min(attempt, 10)
		select {
		case <-time.After(min(d, p.opts.RetryBackoff)):
		case <-ctx.Done():
			return ctx.Err()
		}
		topics := make([]string, 0, len(pending))
		for _, c := range pending {
			topics = append(topics, c.tp.topic)
		}
		// A failed refresh shows again as a leader error next attempt.
		_ = client.RefreshMetadata(topics...)
	}
}

// produceOutcome is what one broker's answer means for its chunks.
type produceOutcome struct {
	acked []chunk
	retry []chunk
	err   error // the last retriable error
	fatal error
}

// byLeader groups the chunks by the broker leading their partition; the
// chunks whose leader is unknown are returned apart, with the last error.
func byLeader(client sarama.Client, pending []chunk) (map[*sarama.Broker][]chunk, []chunk, error) {
	byBroker := make(map[*sarama.Broker][]chunk)
	var retry []chunk
	var lastErr error
	for _, c := range pending {
		b, err := client.Leader(c.tp.topic, c.tp.part)
		if err != nil {
			retry, lastErr = append(retry, c), fmt.Errorf("leader of %s/%d: %w", c.tp.topic, c.tp.part, err)
			continue
		}
		byBroker[b] = append(byBroker[b], c)
	}
	return byBroker, retry, lastErr
}

// produceRequest is one Produce request carrying each chunk as one record
// batch, with the session's producer id and next sequence numbers.
func (p *Publisher) produceRequest(sess *session, cs []chunk, now time.Time) *sarama.ProduceRequest {
	req := &sarama.ProduceRequest{RequiredAcks: sarama.WaitForAll, Timeout: int32(p.conf.Producer.Timeout / time.Millisecond), Version: p.reqVer}
	for _, c := range cs {
		req.AddBatch(c.tp.topic, c.tp.part, &sarama.RecordBatch{
			Version: 2, Codec: p.conf.Producer.Compression, CompressionLevel: p.conf.Producer.CompressionLevel,
			FirstTimestamp: now, MaxTimestamp: now, LastOffsetDelta: int32(len(c.records) - 1),
			ProducerID: sess.id, ProducerEpoch: sess.epoch, FirstSequence: sess.seq[c.tp],
			Records: offsetDeltas(c.records),
		})
	}
	return req
}

// produceTo sends req, which carries the chunks cs, to broker b and sorts
// the chunks by the answer.
func produceTo(b *sarama.Broker, req *sarama.ProduceRequest, cs []chunk) produceOutcome {
	resp, err := b.Produce(req)
	if err != nil {
		// The connection is in doubt: reopen it. The broker drops a
		// batch it already appended when it comes again with the same
		// sequence.
		b.Close()
		return produceOutcome{retry: cs, err: fmt.Errorf("produce to broker %d: %w", b.ID(), err)}
	}
	var o produceOutcome
	for _, c := range cs {
		blk := resp.GetBlock(c.tp.topic, c.tp.part)
		switch {
		case blk == nil:
			o.retry, o.err = append(o.retry, c), fmt.Errorf("%s/%d: %w", c.tp.topic, c.tp.part, sarama.ErrIncompleteResponse)
		case blk.Err == sarama.ErrNoError, blk.Err == sarama.ErrDuplicateSequenceNumber:
			o.acked = append(o.acked, c)
		case retriable(blk.Err):
			o.retry, o.err = append(o.retry, c), fmt.Errorf("%s/%d: %w", c.tp.topic, c.tp.part, blk.Err)
		default:
			o.fatal = fmt.Errorf("%s/%d: %w", c.tp.topic, c.tp.part, blk.Err)
		}
	}
	return o
}

// retriable reports whether a partition's produce error can go away by
// itself (sarama's own producer retries the same ones).
func retriable(err sarama.KError) bool {
	switch err {
	case sarama.ErrInvalidMessage, sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
		sarama.ErrNotLeaderForPartition, sarama.ErrRequestTimedOut, sarama.ErrNotEnoughReplicas,
		sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrKafkaStorageError:
		return true
	}
	return false
}

func offsetDeltas(rs []*sarama.Record) []*sarama.Record {
	for i, r := range rs {
		r.OffsetDelta = int64(i)
	}
	return rs
}

// readAckedLocked returns the largest acked header among the last messages
// of the topics' partitions, read concurrently.
func (p *Publisher) readAckedLocked(ctx context.Context) (uint64, error) {
	consumer, err := sarama.NewConsumerFromClient(p.client)
	if err != nil {
		return 0, fmt.Errorf("events: consumer: %w", err)
	}
	defer consumer.Close()
	type result struct {
		last
		ok  bool
		err error
	}
	results := make(chan result)
	n := 0
	for _, topic := range p.topics {
		parts, err := p.client.Partitions(topic)
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			continue // nothing published yet
		}
		if err != nil {
			return 0, fmt.Errorf("events: partitions of %s: %w", topic, err)
		}
		for _, part := range parts {
			n++
			go func() {
				l, ok, err := p.lastAcked(ctx, consumer, topic, part)
				if err == nil && ok && p.opts.Journal != nil {
					if v := p.opts.Journal.Check(l.mark, l.lsn, p.opts.JournalEnd); v.Fit != journal.Fits {
						err = fmt.Errorf("%w: %s partition %d: %s; refusing to publish (messages cannot be unpublished): "+
							"point kafka at other topics or brokers, or delete these topics", ErrForeign, topic, part, v.Why)
					}
				}
				results <- result{l, ok, err}
			}()
		}
	}
	var acked uint64
	var first error
	for ; n > 0; n-- {
		r := <-results
		if r.err != nil && first == nil {
			first = r.err
		}
		if r.ok {
			acked = max(acked, r.acked)
		}
		if errors.Is(r.err, ErrForeign) {
			first = r.err
		}
	}
	return acked, first
}

// last is what the last message of a partition says: its acked, lsn and
// journal headers.
type last struct {
	acked, lsn uint64
	mark       string
}

// lastAcked reads the headers of the last message of one partition; ok is
// false when the partition is empty or its last message lacks the acked
// header (not written by a publisher).
func (p *Publisher) lastAcked(ctx context.Context, consumer sarama.Consumer, topic string, part int32) (last, bool, error) {
	newest, err := p.client.GetOffset(topic, part, sarama.OffsetNewest)
	if err != nil {
		return last{}, false, fmt.Errorf("events: newest offset of %s/%d: %w", topic, part, err)
	}
	oldest, err := p.client.GetOffset(topic, part, sarama.OffsetOldest)
	if err != nil {
		return last{}, false, fmt.Errorf("events: oldest offset of %s/%d: %w", topic, part, err)
	}
	if newest <= oldest {
		return last{}, false, nil
	}
	pc, err := consumer.ConsumePartition(topic, part, newest-1)
	if err != nil {
		return last{}, false, fmt.Errorf("events: read %s/%d at %d: %w", topic, part, newest-1, err)
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
			var l last
			found := false
			for _, h := range m.Headers {
				switch string(h.Key) {
				case HeaderAcked, HeaderLSN:
					v, err := strconv.ParseUint(string(h.Value), 10, 64)
					if err != nil {
						return last{}, false, fmt.Errorf("events: %s/%d at %d: bad %s header %q", topic, part, m.Offset, h.Key, h.Value)
					}
					if string(h.Key) == HeaderLSN {
						l.lsn = v
					} else {
						l.acked, found = v, true
					}
				case HeaderJournal:
					l.mark = string(h.Value)
				}
			}
			if found {
				return l, true, nil
			}
			p.log.Warn("events: last message of a partition has no acked header: ignored", "topic", topic, "partition", part, "offset", m.Offset)
			return last{}, false, nil
		case err := <-pc.Errors():
			return last{}, false, fmt.Errorf("events: read %s/%d at %d: %w", topic, part, newest-1, err)
		case <-timeout.C:
			return last{}, false, fmt.Errorf("events: read %s/%d at %d: no message within %s", topic, part, newest-1, p.opts.ReadTimeout)
		case <-ctx.Done():
			return last{}, false, ctx.Err()
		}
	}
}

// Close waits (up to PublisherOptions.CloseTimeout) for a send in flight,
// then closes the connection (which ends such a send). It implements
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
		if s := p.inflight; s != nil {
			s.cancel()
			p.disconnectLocked()
			<-s.done
			p.inflight = nil
			err = fmt.Errorf("events: close: a send of %d messages up to LSN %d was not acknowledged within %s", s.n, s.last, p.opts.CloseTimeout)
		}
	}
	p.disconnectLocked()
	return err
}

var _ io.Closer = (*Publisher)(nil)

// PublisherStats counts the publisher's work since NewPublisher.
type PublisherStats struct {
	Messages uint64 // messages acknowledged
	Batches  uint64 // sends completed (acknowledged or failed)
	Failures uint64 // failed sends (each sent again by the follower)
	Retries  uint64 // partition batches sent again within a send
	Cursor   uint64 // confirmed cursor (0 until known)
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		Messages: p.messages.Load(), Batches: p.batches.Load(), Failures: p.failures.Load(),
		Retries: p.retries.Load(), Cursor: p.cursor.Load(),
	}
}
