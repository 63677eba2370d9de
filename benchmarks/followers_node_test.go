package benchmarks

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/persistence/history"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/twmb/franz-go/pkg/kfake"
)

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFollowersNode runs several journal followers together behind
// one durable node (sync mode, segment files, the pipeline workload on one
// market) offered followerRate orders/s, as a node runs them: set=all is
// the default node's (history on SQLite, market data in memory, Kafka on
// kfake, the event bus), set=memory the same without the history. It
// reports cpu-us/record, the process's CPU time (user + system, all of
// it: matching, journal, followers) per journal record from the start of
// the load until every follower stored the last record, and catchup-ms
// from the last order's reply until the slowest follower did. Run with
// -benchtime=30000x.
func BenchmarkFollowersNode(b *testing.B) {
	for _, set := range []struct {
		name    string
		history bool
	}{{"all", true}, {"memory", false}} {
		b.Run("set="+set.name, func(b *testing.B) {
			p, dataDir := startDurable(b, 1, journal.Sync, "")
			defer p.stop()
			cfg := p.cfg
			var fls []runtime.Follower
			if set.history {
				h, err := history.Open(context.Background(), history.Options{Config: cfg, Path: filepath.Join(dataDir, "history.db"), AllowSkips: true})
				if err != nil {
					b.Fatal(err)
				}
				fls = append(fls, h)
			}
			md, err := marketdata.Open(cfg, marketdata.Options{Dir: filepath.Join(dataDir, "marketdata")})
			if err != nil {
				b.Fatal(err)
			}
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, cfg.Kafka.Topics.Balances, cfg.Kafka.Topics.Orders, cfg.Kafka.Topics.Deals))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			cfg.Kafka.Brokers = c.ListenAddrs()
			k, err := events.NewPublisher(cfg, events.PublisherOptions{})
			if err != nil {
				b.Fatal(err)
			}
			fls = append(fls, md, k, events.NewBus(cfg, p.node.Feed.Durable()))
			for _, fl := range fls {
				p.node.Follow(fl, runtime.FollowerBatch)
			}
			for _, fl := range fls {
				waitLag(b, p.node, fl.Name(), time.Minute)
			}
			start := p.node.Journal.LastLSN()
			cpu0 := cpuTime(b)
			p.paced(b, followerRate, 10000)
			loadEnd := time.Now()
			var caughtUp time.Time
			for _, fl := range fls {
				caughtUp = waitLag(b, p.node, fl.Name(), 10*time.Minute)
			}
			cpu := cpuTime(b) - cpu0
			records := p.node.Journal.LastLSN() - start
			b.ReportMetric(float64(cpu.Microseconds())/float64(records), "cpu-us/record")
			b.ReportMetric(float64(caughtUp.Sub(loadEnd).Milliseconds()), "catchup-ms")
		})
	}
}
