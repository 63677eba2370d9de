package marketdata_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/marketdata"
	"github.com/bourse-exchange/bourse/runtime"
)

// nodeConfig is the default configuration with day buckets in Tokyo.
func nodeConfig(t *testing.T) *config.Config {
	t.Helper()
	doc := strings.Replace(string(config.Default), "timezone: UTC", "timezone: Asia/Tokyo", 1)
	if doc == string(config.Default) {
		t.Fatal("bourse.yaml has no `timezone: UTC` to replace")
	}
	return parseConfig(t, doc)
}

// session plays a seeded trading session through a node's router, with its
// own clock: order times advance by random gaps (within a second, minutes,
// hours, days), so that the deals span months.
type session struct {
	t     *testing.T
	n     *runtime.Node
	rng   *rand.Rand
	clock atomic.Int64 // Unix µs of the last command
	price []int64      // per market, at money_prec
}

func newSession(t *testing.T, n *runtime.Node, seed uint64, start int64) *session {
	s := &session{t: t, n: n, rng: rand.New(rand.NewPCG(seed, 3))}
	s.clock.Store(start * 1e6)
	for _, m := range n.Config.Markets {
		p := int64(100) * pow10(m.MoneyPrec)
		if m.Money == "BTC" {
			p = 5 * pow10(m.MoneyPrec) / 100
		}
		s.price = append(s.price, p)
	}
	return s
}

func (s *session) do(cmd messages.Command) messages.Reply {
	r, err := s.n.Router.Do(context.Background(), cmd)
	if err != nil {
		s.t.Fatalf("%T: %v", cmd, err)
	}
	return r
}

// deposit gives users 1..6 plenty of every asset.
func (s *session) deposit() {
	for u := uint32(1); u <= 6; u++ {
		for _, a := range s.n.Config.Assets {
			ch, _, _ := fixed.Parse("1000000", a.PrecSave)
			s.do(&messages.BalanceUpdate{User: u, Asset: a.ID, Business: "deposit", BusinessID: s.rng.Uint64(), Change: ch, Detail: []byte("{}"), Time: s.clock.Load()})
		}
	}
}

// now is the session clock in Unix seconds.
func (s *session) now() int64 { return s.clock.Load() / 1e6 }

func (s *session) run(steps int) {
	cfg := s.n.Config
	for i := 0; i < steps; i++ {
		gap := int64(0)
		switch k := s.rng.IntN(20); {
		case k < 8:
			gap = s.rng.Int64N(1e6)
		case k < 13:
			gap = s.rng.Int64N(300e6)
		case k < 18:
			gap = s.rng.Int64N(4 * 3600e6)
		default:
			gap = s.rng.Int64N(3 * 86400e6)
		}
		at := s.clock.Add(gap)
		mi := s.rng.IntN(len(cfg.Markets))
		m := cfg.Markets[mi]
		p := s.price[mi]
		p += p * int64(s.rng.IntN(11)-5) / 200
		s.price[mi] = max(p, 1)
		maker, taker := uint32(1+s.rng.IntN(6)), uint32(1+s.rng.IntN(6))
		side := messages.Side(1 + s.rng.IntN(2))
		amount := m.MinUnits * int64(1+s.rng.IntN(40))
		s.do(&messages.PutLimit{User: maker, Market: m.ID, Side: side, Amount: amount, Price: p,
			TakerFee: 20, MakerFee: 10, Source: "e2e", Time: at})
		switch k := s.rng.IntN(10); {
		case k < 7: // a limit order crossing it, maybe partly
			cross := p + p*int64(s.rng.IntN(3))/100
			if side == messages.Bid {
				cross = p - p*int64(s.rng.IntN(3))/100
			}
			s.do(&messages.PutLimit{User: taker, Market: m.ID, Side: side.Opposite(), Amount: m.MinUnits * int64(1+s.rng.IntN(60)),
				Price: max(cross, 1), TakerFee: 20, MakerFee: 10, Source: "e2e", Time: at + int64(s.rng.IntN(3))})
		case k < 9: // a market order
			amt := m.MinUnits * int64(1+s.rng.IntN(30))
			if side == messages.Ask { // a market buy spends money
				amt = p * int64(1+s.rng.IntN(5)) / 10
			}
			s.do(&messages.PutMarket{User: taker, Market: m.ID, Side: side.Opposite(), Amount: max(amt, 1), TakerFee: 20, Source: "e2e", Time: at + 1})
		}
	}
}

// follow runs store on n's feed until the returned stop is called.
func follow(n *runtime.Node, store *marketdata.Store) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	n.Feed.Follow(ctx, store, 64, testenv.Quiet())
	return func() {
		cancel()
		n.Feed.Wait(marketdata.Name)
	}
}

// caughtUp waits until store holds the journal's last record.
func caughtUp(t *testing.T, n *runtime.Node, store *marketdata.Store) uint64 {
	t.Helper()
	return testnode.WaitCursor(t, "market data", n.Journal.LastLSN(), func() uint64 { return cursor(t, store) })
}

// journalReference builds the reference straight from the Trade events of
// the journal under dir.
func journalReference(t *testing.T, cfg *config.Config, dir string, upto uint64) (*reference, int) {
	t.Helper()
	ref := newReference(cfg)
	deals := 0
	err := pj.ReadFiles(runtime.JournalDir(dir), 0, upto, func(r pj.Record) error {
		for _, ev := range r.Events {
			if tr, ok := ev.(*messages.Trade); ok {
				ref.add(tr)
				deals++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref, deals
}

// check compares everything store answers with the journal's reference, at
// the session's end and later.
func check(t *testing.T, s *session, dir string, store *marketdata.Store, upto uint64, start int64) {
	t.Helper()
	ref, deals := journalReference(t, s.n.Config, dir, upto)
	if deals < 100 {
		t.Fatalf("only %d deals in the journal", deals)
	}
	end := s.now() + 1
	for _, now := range []int64{end, end + 86400, end + 40*86400} {
		compareAll(t, s.n.Config, ref, querier(t, store), now, s.rng, start)
	}
}

// Session start: 2024-01-25 (Thursday) 21:00 in Tokyo, so that deals
// cross local midnights that are not UTC ones.
const sessionStart = 1706184000

// TestNodeMemory: the memory store follows a real node; its answers match
// the journal's deals; after a clean stop, a node restart and more trading
// it resumes from its checkpoint, and so does a copy of an older
// checkpoint (a crash): no deal missing, none counted twice.
func TestNodeMemory(t *testing.T) {
	cfg := nodeConfig(t)
	dir := t.TempDir()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir})
	s := newSession(t, n, 21, sessionStart)
	s.deposit()
	s.run(150)

	var wall atomic.Int64 // the store's clock follows the session's
	wall.Store(s.now())
	opts := marketdata.Options{
		Dir: filepath.Join(dir, "marketdata"), Logger: testenv.Quiet(), CheckpointInterval: 20 * time.Millisecond,
		Now: func() time.Time { return time.Unix(wall.Load(), 0) },
	}
	store, err := marketdata.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := follow(n, store)
	for i := 0; i < 5; i++ { // trading while the follower follows
		s.run(50)
		wall.Store(s.now())
	}
	lsn := caughtUp(t, n, store)
	check(t, s, dir, store, lsn, sessionStart)

	// An older checkpoint, kept aside as a crashed store would have left it.
	if err := store.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	crashed := t.TempDir()
	data, err := marketdata.ReadCheckpoint(opts.Dir)
	if err != nil || data == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if err := marketdata.WriteCheckpoint(crashed, data); err != nil {
		t.Fatal(err)
	}
	s.run(100)
	wall.Store(s.now())
	caughtUp(t, n, store)
	stop()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	closedAt := n.Journal.LastLSN()
	s.run(100) // nobody follows
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	n = testnode.Start(t, cfg, runtime.Options{DataDir: dir})
	defer n.Shutdown(context.Background())
	s.n = n
	s.run(50)
	wall.Store(s.now())
	for _, c := range []struct {
		name, dir string
		from      uint64
	}{{"clean", opts.Dir, closedAt}, {"crashed", crashed, lsn}} {
		o := opts
		o.Dir = c.dir
		store, err := marketdata.Open(cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := cursor(t, store); got != c.from {
			t.Fatalf("%s: Cursor after reopening = %d; want %d", c.name, got, c.from)
		}
		stop := follow(n, store)
		lsn := caughtUp(t, n, store)
		check(t, s, dir, store, lsn, sessionStart)
		stop()
		store.Close()
	}
}

// TestNodeRedis: the Redis store follows a real node; after a stop and
// more trading a new store resumes from k:lsn; a store on an empty Redis
// prefix rebuilds everything from the journal.
func TestNodeRedis(t *testing.T) {
	prefix, _ := redisPrefix(t)
	empty, _ := redisPrefix(t)
	cfg := nodeConfig(t)
	dir := t.TempDir()
	n := testnode.Start(t, cfg, runtime.Options{DataDir: dir})
	defer n.Shutdown(context.Background())
	s := newSession(t, n, 22, sessionStart)
	s.deposit()

	var wall atomic.Int64
	wall.Store(s.now())
	opts := marketdata.Options{
		Redis: testenv.RedisAddr(t), KeyPrefix: prefix, Logger: testenv.Quiet(),
		Now: func() time.Time { return time.Unix(wall.Load(), 0) },
	}
	store, err := marketdata.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := follow(n, store)
	for i := 0; i < 6; i++ {
		s.run(50)
		wall.Store(s.now())
	}
	caughtUp(t, n, store)
	stop()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	closedAt := n.Journal.LastLSN()
	s.run(150)
	wall.Store(s.now())

	for _, c := range []struct {
		name, prefix string
		from         uint64
	}{{"resumed", prefix, closedAt}, {"rebuilt", empty, 0}} {
		o := opts
		o.KeyPrefix = c.prefix
		store, err := marketdata.Open(cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		if got := cursor(t, store); got != c.from {
			t.Fatalf("%s: Cursor = %d; want %d", c.name, got, c.from)
		}
		stop := follow(n, store)
		lsn := caughtUp(t, n, store)
		check(t, s, dir, store, lsn, sessionStart)
		stop()
		store.Close()
	}
}
