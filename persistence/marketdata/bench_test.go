package marketdata_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
)

// BenchmarkApply measures the follower's Apply: records of one deal each
// (deals seconds apart on two markets), in batches of batch records, into
// the memory store and into Redis (one WATCH + MULTI/EXEC per batch;
// needs BOURSE_TEST_REDIS_ADDR). Reported: deals/s.
func BenchmarkApply(b *testing.B) {
	for _, store := range []string{"memory", "redis"} {
		for _, batch := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("store=%s/batch=%d", store, batch), func(b *testing.B) {
				benchApply(b, store, batch)
			})
		}
	}
}

func benchApply(b *testing.B, store string, batch int) {
	cfg := parseConfig(b, refConfig)
	rng := rand.New(rand.NewPCG(1, 2))
	templates := randomTrades(cfg, rng, 1709600000, 4096)
	opts := marketdata.Options{Logger: testenv.Quiet()}
	if store == "redis" {
		opts.Redis = testenv.RedisAddr(b)
		opts.KeyPrefix, _ = redisPrefix(b)
	}
	s, err := marketdata.Open(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Cursor(ctx); err != nil {
		b.Fatal(err)
	}
	// Deals stay within a day of "now" (the wall clock), so retention
	// keeps them all.
	us := time.Now().Add(-24 * time.Hour).UnixMicro()
	recs := make([]derive.Record, batch)
	trades := make([]messages.Trade, batch)
	lsn := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for i := 0; i < n; i++ {
			trades[i] = *templates[(done+i)%len(templates)]
			us += 17_000 // ~60 deals a second
			lsn++
			trades[i].Time, trades[i].DealID = us, lsn
			recs[i] = derive.Record{LSN: lsn, Deals: []*messages.Trade{&trades[i]}}
		}
		if err := s.Apply(ctx, recs[:n]); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deals/s")
}
