package runtime_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

var (
	benchRecordsOnce sync.Once
	benchRecords     []pj.Record
	benchCfg         *config.Config
)

// benchJournal returns the records of a seeded session (the shared
// generator's full stream: orders, trades, cancels, balance updates), made
// once per test binary.
func benchJournal(b *testing.B) (*config.Config, []pj.Record) {
	benchRecordsOnce.Do(func() {
		cfg, err := config.Parse(config.Default)
		if err != nil {
			b.Fatal(err)
		}
		dir := b.TempDir()
		n := testnode.Start(b, cfg, runtime.Options{DataDir: dir, Journal: journal.Options{Mode: journal.Async}, TickInterval: -1})
		testnode.Play(b, n, testnode.Workload{Seed: 91, Steps: 20000, Plain: true})
		if err := n.Shutdown(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err := pj.ReadFiles(runtime.JournalDir(dir), 0, n.Journal.LastLSN(), func(r pj.Record) error {
			benchRecords = append(benchRecords, r)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		benchCfg = cfg
	})
	if len(benchRecords) == 0 {
		b.Fatal("no journal records")
	}
	return benchCfg, benchRecords
}

// BenchmarkDerive is the cost of deriving one journal record (one
// persistence/derive.Deriver over the session's records).
func BenchmarkDerive(b *testing.B) {
	cfg, records := benchJournal(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := derive.New(cfg, 0)
		for _, r := range records {
			if _, err := d.Derive(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
}

// discard is a follower whose sink keeps only its cursor.
type discard struct {
	name   string
	mu     sync.Mutex
	cursor uint64
}

func (d *discard) Name() string { return d.name }

func (d *discard) Cursor(context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cursor, nil
}

func (d *discard) Apply(_ context.Context, rs []derive.Record) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cursor = rs[len(rs)-1].LSN
	return nil
}

// BenchmarkFeedFollowers is the CPU the feed spends per journal record to
// hand every follower its derived records: a feed holding the session's
// records, followers whose sinks only keep their cursor (the four of a
// node: history, market data, Kafka, the bus), all from the first record
// to the last. ns/record is wall time per record for all of them (the
// followers run in parallel: compare with -cpu 1 for CPU).
func BenchmarkFeedFollowers(b *testing.B) {
	cfg, records := benchJournal(b)
	read := func(after, upto uint64, fn func(pj.Record) error) error {
		for _, r := range records[after:upto] {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
	at := func(lsn uint64) (*derive.Deriver, error) {
		if lsn != 0 {
			return nil, fmt.Errorf("bench: a deriver at %d", lsn)
		}
		return derive.New(cfg, 0), nil
	}
	last := records[len(records)-1].LSN
	for _, followers := range []int{1, 4} {
		b.Run(fmt.Sprintf("followers=%d", followers), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f := runtime.NewFeed(0, len(records), read, at)
				f.Publish(records)
				ctx, cancel := context.WithCancel(context.Background())
				sinks := make([]*discard, followers)
				for k := range sinks {
					sinks[k] = &discard{name: fmt.Sprintf("f%d", k)}
					f.Follow(ctx, sinks[k], runtime.FollowerBatch, testenv.Quiet())
				}
				for _, s := range sinks {
					for {
						if c, _ := s.Cursor(ctx); c == last {
							break
						}
						time.Sleep(100 * time.Microsecond)
					}
				}
				cancel()
				for _, s := range sinks {
					f.Wait(s.name)
				}
				if st, ok := any(f).(interface{ Stop() }); ok {
					st.Stop() // the derive stage, where there is one
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(records)), "ns/record")
		})
	}
}
