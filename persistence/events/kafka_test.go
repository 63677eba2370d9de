package events_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/IBM/sarama"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster starts an in-process Kafka-protocol broker with the three topics
// (partitions each) and points cfg at it.
func cluster(t testing.TB, cfg *config.Config, brokers int, partitions int32) *kfake.Cluster {
	t.Helper()
	tp := cfg.Kafka.Topics
	c, err := kfake.NewCluster(kfake.NumBrokers(brokers), kfake.SeedTopics(partitions, tp.Balances, tp.Orders, tp.Deals))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg.Kafka.Brokers = c.ListenAddrs()
	return c
}

func newPublisher(t testing.TB, cfg *config.Config, opts events.PublisherOptions) *events.Publisher {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testenv.Quiet()
	}
	p, err := events.NewPublisher(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// consumeAll reads every message of the three topics.
func consumeAll(t testing.TB, cfg *config.Config) []got {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_1_0_0
	client, err := sarama.NewClient(cfg.Kafka.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var out []got
	tp := cfg.Kafka.Topics
	for topic, name := range map[events.Topic]string{events.Balances: tp.Balances, events.Orders: tp.Orders, events.Deals: tp.Deals} {
		parts, err := client.Partitions(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range parts {
			newest, err := client.GetOffset(name, part, sarama.OffsetNewest)
			if err != nil {
				t.Fatal(err)
			}
			if newest == 0 {
				continue
			}
			pc, err := consumer.ConsumePartition(name, part, sarama.OffsetOldest)
			if err != nil {
				t.Fatal(err)
			}
			for done := false; !done; {
				select {
				case m := <-pc.Messages():
					g := got{topic: topic, partition: part, offset: m.Offset, key: string(m.Key), value: m.Value}
					for _, h := range m.Headers {
						v, err := strconv.ParseUint(string(h.Value), 10, 64)
						if err != nil {
							t.Fatalf("%s/%d@%d: header %s=%q", name, part, m.Offset, h.Key, h.Value)
						}
						switch string(h.Key) {
						case events.HeaderLSN:
							g.lsn = v
						case events.HeaderSeq:
							g.seq = v
						case events.HeaderAcked:
							g.acked = v
						}
					}
					out = append(out, g)
					done = m.Offset >= newest-1
				case err := <-pc.Errors():
					t.Fatal(err)
				case <-time.After(10 * time.Second):
					t.Fatalf("%s/%d: no message after offset %d", name, part, len(out))
				}
			}
			pc.Close()
		}
	}
	return out
}

// TestPublisherSession: every message of a trading session reaches Kafka,
// equal to what the reference computes from the journal, per key in order,
// without duplicates when nothing fails.
func TestPublisherSession(t *testing.T) {
	for _, compression := range []string{"none", "zstd"} {
		t.Run("compression="+compression, func(t *testing.T) {
			cfg := testCfg(t)
			cfg.Kafka.Compression = compression
			cluster(t, cfg, 1, 3)
			dir := t.TempDir()
			n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}})
			defer n.Shutdown(context.Background())
			workload(t, n, 1, 150, 1_700_000_000_000_000) // before the publisher: read back from the journal
			p := newPublisher(t, cfg, events.PublisherOptions{})
			ctx, cancel := context.WithCancel(context.Background())
			run := n.Feed.Follow(ctx, p, 16, testenv.Quiet())
			workload(t, n, 2, 250, 1_700_000_500_000_000)
			last := n.Journal.LastLSN()
			testnode.WaitCursor(t, "publisher", last, run.Cursor)
			cancel()
			n.Feed.Wait(p.Name())
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			msgs := consumeAll(t, cfg)
			taken, dropped := dedupe(t, msgs)
			if dropped != 0 {
				t.Errorf("%d duplicates without any failure", dropped)
			}
			wants := reference(t, cfg, dir, last)
			check(t, taken, wants)
			checkExercised(t, wants, dir, last)
			st := p.Stats()
			if st.Messages != uint64(len(wants)) || st.Failures != 0 || st.Cursor != last {
				t.Errorf("Stats = %+v; want %d messages, no failures, cursor %d", st, len(wants), last)
			}
			counts := map[events.Topic]int{}
			for _, w := range wants {
				counts[w.topic]++
			}
			if counts[events.Balances] < 20 || counts[events.Orders] < 100 || counts[events.Deals] < 50 {
				t.Errorf("session too small to mean much: %v", counts)
			}
			// A new publisher resumes after the last batch it finds
			// acknowledged in Kafka.
			p2 := newPublisher(t, cfg, events.PublisherOptions{})
			defer p2.Close()
			c, err := p2.Cursor(context.Background())
			if err != nil || c == 0 || c >= last {
				t.Errorf("cold Cursor = %d, %v; want in (0, %d): the last batch's acked header", c, err, last)
			}
		})
	}
}

// TestPublisherCrash: the publisher is stopped at random points of a
// session — its context cancelled mid-send, its brokers refusing produce
// requests (all, or every other one, so that some partitions of a batch
// get through and others not) — and replaced by a new one that finds its
// cursor in Kafka. With one broker or three, and batches split into
// several record batches per partition or not: no message is missing, the
// only duplicates are copies of messages already sent, and a consumer that
// drops them by (lsn, seq) sees the reference sequence per key.
func TestPublisherCrash(t *testing.T) {
	for _, tc := range []struct {
		seed       uint64
		brokers    int
		maxBatch   int  // PublisherOptions.MaxBatchBytes (0: default)
		everyOther bool // refuse every other produce request, not all
	}{
		{seed: 1, brokers: 1},
		{seed: 2, brokers: 3, maxBatch: 1500},
		{seed: 3, brokers: 3, everyOther: true},
		{seed: 4, brokers: 1, maxBatch: 1000, everyOther: true},
	} {
		seed := tc.seed
		t.Run(fmt.Sprintf("seed=%d/brokers=%d/max_batch=%d/every_other=%v", seed, tc.brokers, tc.maxBatch, tc.everyOther), func(t *testing.T) {
			cfg := testCfg(t)
			kc := cluster(t, cfg, tc.brokers, 3)
			dir := t.TempDir()
			n := testnode.Start(t, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Sync}})
			var shutdown sync.Once
			stopNode := func() { shutdown.Do(func() { n.Shutdown(context.Background()) }) }
			defer stopNode()

			var failing atomic.Bool
			var failed, calls atomic.Int64
			kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				kc.KeepControl()
				if failing.Load() && (!tc.everyOther || calls.Add(1)%2 == 0) {
					failed.Add(1)
					return nil, errors.New("broker down"), true // drops the connection
				}
				return nil, nil, false
			})

			// Trading goes on through every round.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for chunk := int64(0); ; chunk++ {
					select {
					case <-stop:
						return
					default:
					}
					workload(t, n, seed<<16|uint64(chunk), 40, 1_700_000_000_000_000+chunk*100_000_000)
					time.Sleep(2 * time.Millisecond)
				}
			}()
			opts := events.PublisherOptions{Retries: 2, RetryBackoff: 20 * time.Millisecond, MaxBatchBytes: tc.maxBatch, CloseTimeout: 20 * time.Second}
			var failures, restarts uint64
			// life runs one publisher for a while, then kills it (mid-send,
			// most likely) and returns its failed sends. With outage set
			// the broker goes down after wait (if it is not down yet) and
			// stays down: a send in flight when the publisher is killed
			// meets it until Close has settled that send.
			life := func(round int, wait time.Duration, outage bool) uint64 {
				p := newPublisher(t, cfg, opts)
				ctx, cancel := context.WithCancel(context.Background())
				n.Feed.Follow(ctx, p, 1+(int(seed)*round)%9, testenv.Quiet())
				time.Sleep(wait)
				if outage {
					failing.Store(true)
					time.Sleep(300 * time.Millisecond)
				}
				cancel()
				n.Feed.Wait(p.Name())
				if err := p.Close(); err != nil {
					t.Logf("round %d: Close: %v", round, err)
				}
				restarts++
				return p.Stats().Failures
			}
			for round := 0; round < 6; round++ {
				wait := time.Duration(150+(int(seed)*37*round)%200) * time.Millisecond
				if round%2 == 0 {
					failures += life(round, wait, false)
					continue
				}
				// The broker goes down; the publisher is killed while it
				// is down; a new one starts after it came back. Whether
				// a send was in flight when it was killed is up to the
				// scheduler (and with every other request refused, the
				// publisher's own retries absorb the outage while it
				// lives): the outage stays on, and a new publisher is
				// started and killed in it, until a send has failed.
				hit := life(round, wait, true)
				for again := 1; hit == 0; again++ {
					if again == 20 {
						t.Fatalf("round %d: %d publishers killed in an outage, %d produce requests refused, and no failed send", round, again, failed.Load())
					}
					hit = life(round, 50*time.Millisecond, true)
				}
				failing.Store(false)
				failures += hit
			}
			close(stop)
			wg.Wait()
			last := n.Journal.LastLSN()
			p := newPublisher(t, cfg, opts)
			run := n.Feed.Follow(context.Background(), p, 50, testenv.Quiet())
			testnode.WaitCursor(t, "publisher", last, run.Cursor)
			stopNode()
			p.Close()

			taken, dropped := dedupe(t, consumeAll(t, cfg))
			check(t, taken, reference(t, cfg, dir, last))
			if dropped == 0 {
				t.Errorf("no duplicates after %d restarts: the restarts did not exercise the cold cursor", restarts)
			}
			if failed.Load() == 0 || failures == 0 {
				t.Errorf("%d produce requests failed, %d failed sends: the outage did not hit a send", failed.Load(), failures)
			}
			t.Logf("%d messages taken, %d duplicates dropped, %d produce requests refused, %d failed sends", len(taken), dropped, failed.Load(), failures)
		})
	}
}
