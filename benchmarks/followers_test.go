package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/persistence/history"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

// followerRate is the offered load of BenchmarkFollowers: the 100k
// orders/s at which the issue asks for each follower's lag.
const followerRate = 100_000

// followerSinks are the sinks BenchmarkFollowers runs, one per node.
var followerSinks = []struct {
	name string
	open func(b *testing.B, cfg *config.Config, dataDir string) runtime.Follower
}{
	{"history-sqlite", func(b *testing.B, cfg *config.Config, dataDir string) runtime.Follower {
		s, err := history.Open(context.Background(), history.Options{Config: cfg, Path: filepath.Join(dataDir, "history.db"), AllowSkips: true})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
	{"history-mysql", func(b *testing.B, cfg *config.Config, _ string) runtime.Follower {
		dsn := testenv.MySQLDSN(b)
		s, err := history.Open(context.Background(), history.Options{Config: cfg, DSN: dsn, Prefix: testenv.MySQLPrefix(b, dsn), AllowSkips: true})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
	{"marketdata-memory", func(b *testing.B, cfg *config.Config, dataDir string) runtime.Follower {
		s, err := marketdata.Open(cfg, marketdata.Options{Dir: dataDir})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
	{"marketdata-redis", func(b *testing.B, cfg *config.Config, _ string) runtime.Follower {
		addr := testenv.RedisAddr(b)
		prefix := redisPrefix(b, addr)
		s, err := marketdata.Open(cfg, marketdata.Options{Redis: addr, KeyPrefix: prefix})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
	{"kafka", func(b *testing.B, cfg *config.Config, _ string) runtime.Follower {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, cfg.Kafka.Topics.Balances, cfg.Kafka.Topics.Orders, cfg.Kafka.Topics.Deals))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		cfg.Kafka.Brokers = c.ListenAddrs()
		p, err := events.NewPublisher(cfg, events.PublisherOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}},
}

// redisPrefix returns a key prefix unique to the benchmark and deletes its
// keys when it ends.
func redisPrefix(b *testing.B, addr string) string {
	var rnd [4]byte
	rand.Read(rnd[:])
	prefix := "bench" + hex.EncodeToString(rnd[:]) + ":"
	b.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// BenchmarkFollowers runs one journal follower behind a durable node (sync
// mode, segment files, the pipeline workload on one market) offered
// followerRate orders/s, and reports how far behind the follower was:
// lag-max and lag-p99 in journal records (sampled every 5 ms), catchup-ms
// from the last order's reply until the follower stored the last record,
// and records/s, the durable records it stored per second over the whole
// run. Its own Apply throughput, unloaded, is measured by each package's
// benchmarks. Run with -benchtime=300000x (3 s of load). MySQL and Redis
// sinks need BOURSE_TEST_MYSQL_DSN and BOURSE_TEST_REDIS_ADDR.
func BenchmarkFollowers(b *testing.B) {
	for _, sink := range followerSinks {
		b.Run("sink="+sink.name, func(b *testing.B) {
			p, dataDir := startDurable(b, 1, journal.Sync, "")
			defer p.stop()
			fl := sink.open(b, p.cfg, dataDir)
			p.node.Follow(fl, runtime.FollowerBatch)
			start := p.node.Journal.LastLSN()
			waitLag(b, p.node, fl.Name(), 30*time.Second)

			var mu sync.Mutex
			var lags []uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						lag, _ := p.node.Feed.Lag(fl.Name())
						mu.Lock()
						lags = append(lags, lag)
						mu.Unlock()
					}
				}
			}()
			t0 := time.Now()
			p.paced(b, followerRate, 10000)
			loadEnd := time.Now()
			caughtUp := waitLag(b, p.node, fl.Name(), 5*time.Minute)
			close(stop)
			<-sampled
			records := p.node.Journal.LastLSN() - start
			sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
			if len(lags) > 0 {
				b.ReportMetric(float64(lags[len(lags)-1]), "lag-max")
				b.ReportMetric(float64(lags[len(lags)*99/100]), "lag-p99")
			}
			b.ReportMetric(float64(caughtUp.Sub(loadEnd).Milliseconds()), "catchup-ms")
			b.ReportMetric(float64(records)/caughtUp.Sub(t0).Seconds(), "records/s")
		})
	}
}

// waitLag waits until the named follower stored every durable record and
// returns when.
func waitLag(b *testing.B, n *runtime.Node, name string, limit time.Duration) time.Time {
	deadline := time.Now().Add(limit)
	for {
		if lag, ok := n.Feed.Lag(name); ok && lag == 0 && n.Feed.Durable() == n.Journal.LastLSN() {
			return time.Now()
		}
		if time.Now().After(deadline) {
			lag, _ := n.Feed.Lag(name)
			b.Fatalf("follower %s still %d records behind after %s", name, lag, limit)
		}
		time.Sleep(time.Millisecond)
	}
}
