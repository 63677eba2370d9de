package marketdata_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
	"github.com/redis/go-redis/v9"
)

// records packs trades into records of up to three deals (some records
// have none), LSNs from first.
func records(rng *mrand.Rand, first uint64, trades []*messages.Trade) []derive.Record {
	var out []derive.Record
	for len(trades) > 0 {
		n := min(len(trades), rng.IntN(4))
		out = append(out, derive.Record{LSN: first + uint64(len(out)), Deals: trades[:n]})
		trades = trades[n:]
	}
	return out
}

// applyAll feeds records to s in batches of up to 17.
func applyAll(t *testing.T, s *marketdata.Store, rs []derive.Record) {
	t.Helper()
	for len(rs) > 0 {
		n := min(len(rs), 17)
		if err := s.Apply(context.Background(), rs[:n]); err != nil {
			t.Fatal(err)
		}
		rs = rs[n:]
	}
}

func cursor(t *testing.T, s *marketdata.Store) uint64 {
	t.Helper()
	c, err := s.Cursor(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// querier adapts a Store to compareAll.
func querier(t *testing.T, s *marketdata.Store) func(messages.Command) messages.Reply {
	return func(c messages.Command) messages.Reply {
		r, err := s.Query(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestMemoryStoreCheckpoint(t *testing.T) {
	cfg := parseConfig(t, refConfig)
	rng := mrand.New(mrand.NewPCG(11, 1))
	trades := randomTrades(cfg, rng, 1709600000, 300)
	rs := records(rng, 1, trades)
	ref := newReference(cfg)
	for _, tr := range trades {
		ref.add(tr)
	}
	end := int64(0)
	for _, tr := range trades {
		end = max(end, tr.Time/1e6+1)
	}
	clock := func() time.Time { return time.Unix(end, 0) }
	dir := t.TempDir()
	open := func() *marketdata.Store {
		s, err := marketdata.Open(cfg, marketdata.Options{Dir: dir, Now: clock, Logger: testenv.Quiet(), CheckpointInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	s := open()
	if c := cursor(t, s); c != 0 {
		t.Fatalf("Cursor of a new store = %d; want 0", c)
	}
	half := len(rs) / 2
	applyAll(t, s, rs[:half])
	applyAll(t, s, rs[half/2:half]) // repeated: skipped
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(context.Background(), rs[half:]); err == nil {
		t.Error("Apply after Close succeeded")
	}

	s = open()
	if c := cursor(t, s); c != rs[half-1].LSN {
		t.Fatalf("Cursor after reopening = %d; want %d (the checkpoint's)", c, rs[half-1].LSN)
	}
	applyAll(t, s, rs[half-3:]) // the feed resumes after the cursor; an overlap is skipped
	compareAll(t, cfg, ref, querier(t, s), end, rng, 1709600000)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}

	// A damaged checkpoint is ignored: the journal is replayed from 0.
	path := filepath.Join(dir, marketdata.CheckpointName)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s = open()
	if c := cursor(t, s); c != 0 {
		t.Errorf("Cursor with a damaged checkpoint = %d; want 0", c)
	}
	s.Close()
}

// TestMemoryStorePeriodicCheckpoint: without Close, the checkpoint written
// every interval lets a new store resume, and the records after it are
// applied again exactly once.
func TestMemoryStorePeriodicCheckpoint(t *testing.T) {
	cfg := parseConfig(t, refConfig)
	rng := mrand.New(mrand.NewPCG(12, 1))
	trades := randomTrades(cfg, rng, 1730000000, 200)
	rs := records(rng, 1, trades)
	dir := t.TempDir()
	s, err := marketdata.Open(cfg, marketdata.Options{Dir: dir, Logger: testenv.Quiet(), CheckpointInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	applyAll(t, s, rs[:100])
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := marketdata.ReadCheckpoint(dir)
		m := marketdata.NewModel(cfg)
		if data != nil && m.Decode(data) == nil && m.LSN() == rs[99].LSN {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint at the last LSN written within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// "Crash": copy the checkpoint, go on, then start a second store on
	// the copy.
	crashed := t.TempDir()
	data, err := marketdata.ReadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := marketdata.WriteCheckpoint(crashed, data); err != nil {
		t.Fatal(err)
	}
	applyAll(t, s, rs[100:])
	s2, err := marketdata.Open(cfg, marketdata.Options{Dir: crashed, Logger: testenv.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	c := cursor(t, s2)
	if c != rs[99].LSN {
		t.Fatalf("Cursor = %d; want %d", c, rs[99].LSN)
	}
	applyAll(t, s2, rs[c:])
	now := trades[len(trades)-1].Time/1e6 + 86400
	for _, cmd := range []messages.Command{
		&messages.MarketKline{Market: 0, Start: 1, End: now, Interval: 86400, Now: now},
		&messages.MarketKline{Market: 1, Start: now - 86400, End: now, Interval: 60, Now: now},
		&messages.MarketStatus{Market: 0, Period: 3600, Now: now},
		&messages.MarketDeals{Market: 1, Limit: 100},
	} {
		a, _ := s.Query(context.Background(), cmd)
		b, _ := s2.Query(context.Background(), cmd)
		if fmt.Sprintf("%+v", a) != fmt.Sprintf("%+v", b) {
			t.Errorf("%T: resumed store answers\n%+v\nwant\n%+v", cmd, b, a)
		}
	}
}

// redisPrefix returns a key prefix unique to the test and deletes its keys
// when the test ends.
func redisPrefix(t testing.TB) (string, *redis.Client) {
	t.Helper()
	addr := testenv.RedisAddr(t)
	var rnd [6]byte
	rand.Read(rnd[:])
	prefix := "bourse-test:" + strings.ReplaceAll(t.Name(), "/", "-") + ":" + hex.EncodeToString(rnd[:]) + ":"
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() {
		ctx := context.Background()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			err = rdb.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("clean up %s*: %v", prefix, err)
		}
		rdb.Close()
	})
	return prefix, rdb
}

func openRedis(t *testing.T, cfg *config.Config, prefix string, now int64) *marketdata.Store {
	t.Helper()
	s, err := marketdata.Open(cfg, marketdata.Options{
		Redis: testenv.RedisAddr(t), KeyPrefix: prefix, Logger: testenv.Quiet(),
		Now: func() time.Time { return time.Unix(now, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRedisStore(t *testing.T) {
	prefix, rdb := redisPrefix(t)
	ctx := context.Background()
	cfg := parseConfig(t, refConfig)
	rng := mrand.New(mrand.NewPCG(13, 1))
	trades := randomTrades(cfg, rng, 1709600000, 300)
	rs := records(rng, 1, trades)
	ref := newReference(cfg)
	end := int64(0)
	for _, tr := range trades {
		ref.add(tr)
		end = max(end, tr.Time/1e6+1)
	}

	a := openRedis(t, cfg, prefix, end)
	if r, _ := a.Query(ctx, &messages.MarketLast{}); r.(*messages.ErrorReply).Err != messages.ErrUnavailable {
		t.Errorf("Query before loading = %+v; want service unavailable", r)
	}
	if c := cursor(t, a); c != 0 {
		t.Fatalf("Cursor on an empty Redis = %d; want 0", c)
	}
	half := len(rs) / 2
	applyAll(t, a, rs[:half])
	if v, err := rdb.Get(ctx, prefix+"k:lsn").Result(); err != nil || v != fmt.Sprint(rs[half-1].LSN) {
		t.Fatalf("k:lsn = %q, %v; want %d", v, err, rs[half-1].LSN)
	}

	// A second store loads the same state and cursor.
	b := openRedis(t, cfg, prefix, end)
	if c := cursor(t, b); c != rs[half-1].LSN {
		t.Fatalf("second store's Cursor = %d; want %d", c, rs[half-1].LSN)
	}
	// a goes on; b, now stale, is refused by the LSN guard and writes
	// nothing, then reloads and skips what Redis already holds.
	applyAll(t, a, rs[half:])
	if err := b.Apply(ctx, rs[half:]); !errors.Is(err, marketdata.ErrConflict) {
		t.Fatalf("stale Apply = %v; want ErrConflict", err)
	}
	if c := cursor(t, b); c != rs[len(rs)-1].LSN {
		t.Fatalf("Cursor after the conflict = %d; want %d (reloaded)", c, rs[len(rs)-1].LSN)
	}
	applyAll(t, b, rs[half:]) // repeated: nothing to write
	applyAll(t, a, rs[half:])

	// What Redis holds, loaded by a third store, is exactly the
	// reference: nothing was counted twice.
	c := openRedis(t, cfg, prefix, end)
	if n := cursor(t, c); n != rs[len(rs)-1].LSN {
		t.Fatalf("third store's Cursor = %d; want %d", n, rs[len(rs)-1].LSN)
	}
	for _, s := range []*marketdata.Store{a, b, c} {
		compareAll(t, cfg, ref, querier(t, s), end, rng, 1709600000)
	}

	// The layout, as viabtc's readers expect it.
	last, err := rdb.Get(ctx, prefix+"k:BTCUSDT:last").Result()
	if want := ref.last(0).StringFixed(2); err != nil || last != want {
		t.Errorf("k:BTCUSDT:last = %q, %v; want %q (raw, money_prec decimals)", last, err, want)
	}
	deals, err := rdb.LRange(ctx, prefix+"k:ETHUSDT:deals", 0, -1).Result()
	if err != nil || len(deals) != min(cfg.MarketData.Deals, len(ref.markets[1])) {
		t.Fatalf("k:ETHUSDT:deals has %d entries (%v); want %d", len(deals), err, min(cfg.MarketData.Deals, len(ref.markets[1])))
	}
	newest := ref.markets[1][len(ref.markets[1])-1]
	if !strings.HasPrefix(deals[0], fmt.Sprintf(`{"id":%d,"time":`, newest.id)) || !strings.Contains(deals[0], `"price":"`+newest.price.String()+`"`) {
		t.Errorf("head of k:ETHUSDT:deals = %s; want the newest deal, id %d price %s", deals[0], newest.id, newest.price)
	}
	day, err := rdb.HGetAll(ctx, prefix+"k:BTCUSDT:1d").Result()
	if err != nil || len(day) == 0 {
		t.Fatalf("k:BTCUSDT:1d = %v, %v", day, err)
	}
	want, _ := ref.kline(0, 1, end, 86400, end)
	for _, cd := range want {
		if cd.volume.IsZero() {
			continue
		}
		v := day[fmt.Sprint(cd.t)]
		if w := fmt.Sprintf(`["%s","%s","%s","%s","%s","%s"]`, cd.open, cd.close, cd.high, cd.low, cd.volume, cd.amount); v != w {
			t.Errorf("k:BTCUSDT:1d field %d = %s; want %s", cd.t, v, w)
		}
	}

	// k:lsn moved by someone else: refused.
	if err := rdb.Set(ctx, prefix+"k:lsn", "999999", 0).Err(); err != nil {
		t.Fatal(err)
	}
	extra := []derive.Record{{LSN: rs[len(rs)-1].LSN + 1, Deals: randomTrades(cfg, rng, end, 1)}}
	if err := a.Apply(ctx, extra); !errors.Is(err, marketdata.ErrConflict) {
		t.Errorf("Apply with k:lsn moved = %v; want ErrConflict", err)
	}
	if c := cursor(t, a); c != 999999 {
		t.Errorf("Cursor after the conflict = %d; want 999999 (what Redis holds)", c)
	}
}

// TestRedisRetention: buckets past their retention are dropped from Redis
// at load and by Apply's periodic trim.
func TestRedisRetention(t *testing.T) {
	prefix, rdb := redisPrefix(t)
	ctx := context.Background()
	cfg := parseConfig(t, refConfig) // sec_max 3h
	rng := mrand.New(mrand.NewPCG(14, 1))
	trades := randomTrades(cfg, rng, 1709600000, 100)
	end := int64(0)
	for _, tr := range trades {
		end = max(end, tr.Time/1e6+1)
	}
	first := trades[0].Time / 1e6
	a := openRedis(t, cfg, prefix, first) // the clock at the first deal: nothing trimmed yet
	cursor(t, a)
	rs := records(rng, 1, trades)
	applyAll(t, a, rs)
	n1, _ := rdb.HLen(ctx, prefix+"k:BTCUSDT:1s").Result()
	b := openRedis(t, cfg, prefix, end+4*3600) // four hours after the last deal
	cursor(t, b)
	applyAll(t, b, []derive.Record{{LSN: rs[len(rs)-1].LSN + 1}})
	n2, _ := rdb.HLen(ctx, prefix+"k:BTCUSDT:1s").Result()
	m1, _ := rdb.HLen(ctx, prefix+"k:BTCUSDT:1m").Result()
	if n1 == 0 || n2 != 0 || m1 == 0 {
		t.Errorf("1 s buckets before, after = %d, %d; minute buckets after = %d: want some, 0, some", n1, n2, m1)
	}
}
