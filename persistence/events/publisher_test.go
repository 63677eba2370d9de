package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/holiman/uint256"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// tradeRecord is a synthetic record of one fill on market m: the deal, the
// maker's UPDATE and the taker's FINISH, and a balance.update of user.
func tradeRecord(lsn uint64, m messages.MarketID, user uint32) derive.Record {
	o := messages.Order{ID: lsn, Market: m, Type: messages.Limit, Side: messages.Bid, User: user, CTime: 1700000000000000,
		MTime: 1700000000000000 + int64(lsn), Price: 10012, Amount: 150000000, TakerFee: 20, MakerFee: 10, Left: 50000000,
		DealStock: 100000000, DealMoney: *uint256.NewInt(100120000000000), DealFee: *uint256.NewInt(2000000000), Source: "web"}
	return derive.Record{LSN: lsn,
		Balances: []derive.BalanceChange{{Time: o.MTime, User: user, Asset: 2, Business: "deposit", Change: *uint256.NewInt(5e12), Update: true}},
		Orders:   []derive.OrderChange{{Event: derive.OrderUpdate, Order: o}, {Event: derive.OrderFinish, Order: o}},
		Deals: []*messages.Trade{{Market: m, DealID: lsn, Time: o.MTime, TakerSide: messages.Ask, AskOrder: lsn + 1, BidOrder: lsn,
			AskUser: user + 1, BidUser: user, Price: 10012, Amount: 100000000, Stock: 0, Money: 2,
			StockQty: *uint256.NewInt(1e12), Deal: *uint256.NewInt(100120000000000), AskFee: *uint256.NewInt(1e11), BidFee: *uint256.NewInt(2e9)}},
	}
}

// TestPublisherColdCursor: empty or missing topics give cursor 0; a last
// message without the acked header (not ours) is ignored; records without
// messages still move the cursor.
func TestPublisherColdCursor(t *testing.T) {
	cfg := testCfg(t)
	kc := cluster(t, cfg, 1, 2)
	ctx := context.Background()
	p := newPublisher(t, cfg, events.PublisherOptions{})
	defer p.Close()
	if c, err := p.Cursor(ctx); c != 0 || err != nil {
		t.Fatalf("Cursor on empty topics = %d, %v; want 0", c, err)
	}
	// A record that has nothing to publish (a balance change that is no
	// balance.update): confirmed without a send.
	quiet := derive.Record{LSN: 1, Balances: []derive.BalanceChange{{User: 1, Business: "trade"}}}
	if err := p.Apply(ctx, []derive.Record{quiet}); err != nil {
		t.Fatal(err)
	}
	if c, _ := p.Cursor(ctx); c != 1 {
		t.Errorf("Cursor after a quiet record = %d; want 1", c)
	}
	for lsn := uint64(2); lsn <= 9; lsn += 4 {
		rs := []derive.Record{tradeRecord(lsn, 0, 3), tradeRecord(lsn+1, 1, 4), tradeRecord(lsn+2, 2, 5), tradeRecord(lsn+3, 1, 6)}
		if err := p.Apply(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	if st := p.Stats(); st.Cursor != 9 || st.Messages != 8*4 {
		t.Errorf("Stats = %+v; want cursor 9, 32 messages", st)
	}
	cold := func() uint64 {
		t.Helper()
		q := newPublisher(t, cfg, events.PublisherOptions{})
		defer q.Close()
		c, err := q.Cursor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := cold(); c != 5 {
		t.Errorf("cold Cursor = %d; want 5: the acked header of the last batch (records 6..9)", c)
	}
	// Someone else writes to a partition without headers: that
	// partition tells nothing, the others still do.
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	prod, err := sarama.NewSyncProducer(cfg.Kafka.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: cfg.Kafka.Topics.Deals, Partition: 0, Value: sarama.StringEncoder("[]")}); err != nil {
		t.Fatal(err)
	}
	prod.Close()
	if c := cold(); c != 5 {
		t.Errorf("cold Cursor after a foreign message = %d; want 5", c)
	}

	// Topics that do not exist (and are not created automatically):
	// nothing was published.
	cfg2 := testCfg(t)
	cfg2.Kafka.Brokers = kc.ListenAddrs()
	cfg2.Kafka.Topics = config.Topics{Balances: "nb", Orders: "no", Deals: "nd"}
	q := newPublisher(t, cfg2, events.PublisherOptions{Retries: 1, RetryBackoff: time.Millisecond,
		Sarama: func(c *sarama.Config) { c.Metadata.AllowAutoTopicCreation = false }})
	defer q.Close()
	if c, err := q.Cursor(ctx); c != 0 || err != nil {
		t.Errorf("Cursor on missing topics = %d, %v; want 0", c, err)
	}
	if err := q.Apply(ctx, []derive.Record{tradeRecord(1, 0, 1)}); err == nil {
		t.Error("Apply to missing topics succeeded")
	}
	if c, err := q.Cursor(ctx); c != 0 || err != nil {
		t.Errorf("Cursor after a failed Apply = %d, %v; want 0", c, err)
	}
}

// TestPublisherCancelledSend: an Apply whose context ends while its send
// is stuck returns at once; the next Cursor waits for the send to end and
// reports what was confirmed.
func TestPublisherCancelledSend(t *testing.T) {
	cfg := testCfg(t)
	tp := cfg.Kafka.Topics
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, tp.Balances, tp.Orders, tp.Deals))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cfg.Kafka.Brokers = kc.ListenAddrs()
	p := newPublisher(t, cfg, events.PublisherOptions{})
	defer p.Close()
	ctx := context.Background()
	if err := p.Apply(ctx, []derive.Record{tradeRecord(1, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	kc.ControlKey(0, func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.SleepControl(func() { <-release }) // the produce request hangs
		return nil, nil, false
	})
	actx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = p.Apply(actx, []derive.Record{tradeRecord(2, 1, 2)})
	if err == nil || time.Since(t0) > 5*time.Second {
		t.Fatalf("Apply with a hung broker = %v after %s; want the context's error at once", err, time.Since(t0))
	}
	close(release) // the broker answers; the send completes
	c, err := p.Cursor(ctx)
	if err != nil || c != 2 {
		t.Errorf("Cursor = %d, %v; want 2 (the hung send was acknowledged in the end)", c, err)
	}
}

// BenchmarkPublisher measures Apply into an in-process broker (kfake, one
// broker, 3 partitions per topic): batches of records each holding a
// balance.update, a deal and two order events (4 messages), keys spread
// over 3 markets and 1000 users. The broker runs in the benchmark's
// process, so time and allocations include its work; store=false makes it
// discard the records (kfake.BlackholeProduce, sequence numbers still
// checked) to show the publisher's own share.
func BenchmarkPublisher(b *testing.B) {
	type bench struct {
		batch       int
		compression string
		store       bool
	}
	var cases []bench
	for _, batch := range []int{10, 100, 1000} {
		for _, c := range []string{"none", "lz4"} {
			cases = append(cases, bench{batch, c, true})
		}
	}
	cases = append(cases, bench{1000, "none", false})
	for _, bc := range cases {
		name := fmt.Sprintf("batch=%d/compression=%s/store=%v", bc.batch, bc.compression, bc.store)
		b.Run(name, func(b *testing.B) {
			cfg := testCfg(b)
			cfg.Kafka.Compression = bc.compression
			tp := cfg.Kafka.Topics
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, tp.Balances, tp.Orders, tp.Deals)}
			if !bc.store {
				opts = append(opts, kfake.BlackholeProduce())
			}
			kc, err := kfake.NewCluster(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer kc.Close()
			cfg.Kafka.Brokers = kc.ListenAddrs()
			p := newPublisher(b, cfg, events.PublisherOptions{})
			defer p.Close()
			ctx := context.Background()
			if _, err := p.Cursor(ctx); err != nil {
				b.Fatal(err)
			}
			rs := make([]derive.Record, bc.batch)
			lsn := uint64(0)
			b.ReportAllocs()
			b.ResetTimer()
			msgs := 0
			for i := 0; i < b.N; i++ {
				for j := range rs {
					lsn++
					rs[j] = tradeRecord(lsn, messages.MarketID(lsn%3), uint32(lsn%1000))
				}
				if err := p.Apply(ctx, rs); err != nil {
					b.Fatal(err)
				}
				msgs += 4 * bc.batch
			}
			b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
		})
	}
}

// BenchmarkEncode measures encoding alone.
func BenchmarkEncode(b *testing.B) {
	enc := events.NewEncoder(testCfg(b))
	r := tradeRecord(1, 1, 7)
	var msgs []events.Message
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var err error
		if msgs, err = enc.Append(msgs[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
