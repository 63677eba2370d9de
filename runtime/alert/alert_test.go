package alert_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/runtime/alert"
	"github.com/redis/go-redis/v9"
)

// uniqueKey returns a list key for this test, deleted when it ends.
func uniqueKey(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	key := "bourse:test:alert:" + hex.EncodeToString(b[:])
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	return key
}

func redisClient(t *testing.T) (*redis.Client, string) {
	t.Helper()
	addr := testenv.RedisAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb, addr
}

// waitList waits until the list holds n entries and returns them.
func waitList(t *testing.T, rdb *redis.Client, key string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := rdb.LRange(context.Background(), key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAlerts: error records reach the Redis list as "<host>: <message>
// attrs", in order; lower levels do not; every record reaches the wrapped
// handler.
func TestAlerts(t *testing.T) {
	rdb, addr := redisClient(t)
	key := uniqueKey(t, rdb)
	var out bytes.Buffer
	var mu sync.Mutex
	next := slog.NewTextHandler(lockedWriter{&mu, &out}, &slog.HandlerOptions{Level: slog.LevelInfo})
	h, err := alert.New(next, alert.Options{Redis: addr, Key: key, Host: "node-7"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h)
	log.Debug("not even logged")
	log.Info("started", "markets", 3)
	log.Error("journal write failed", "err", "disk full", "lsn", 42)
	log.With("follower", "history").WithGroup("sql").Error("insert failed", "table", "deals", "retry", true,
		slog.Group("row", "id", 7), "note", "two words")
	log.Warn("lagging", "lag", 1000)
	log.Log(context.Background(), slog.LevelError+4, "fatal", "at", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	want := []string{
		"node-7: journal write failed err=\"disk full\" lsn=42",
		`node-7: insert failed follower=history sql.table=deals sql.retry=true sql.row.id=7 sql.note="two words"`,
		"node-7: fatal at=2024-01-02T03:04:05Z",
	}
	got := waitList(t, rdb, key, len(want))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("alerts =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if st := h.Stats(); st.Sent != 3 || st.Dropped != 0 {
		t.Errorf("Stats = %+v; want 3 sent, none dropped", st)
	}
	mu.Lock()
	logged := out.String()
	mu.Unlock()
	for _, s := range []string{"started", "journal write failed", "insert failed", "lagging", "fatal"} {
		if !strings.Contains(logged, s) {
			t.Errorf("wrapped handler missed %q:\n%s", s, logged)
		}
	}
	if strings.Contains(logged, "not even logged") {
		t.Errorf("wrapped handler got a debug record it does not enable")
	}
	log.Error("after close") // still logged, not alerted
	if st := h.Stats(); st.Dropped != 1 {
		t.Errorf("after Close: Stats = %+v; want 1 dropped", st)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestAlertTruncated: an alert is at most 10240 bytes, cut at a UTF-8
// boundary.
func TestAlertTruncated(t *testing.T) {
	rdb, addr := redisClient(t)
	key := uniqueKey(t, rdb)
	h, err := alert.New(slog.DiscardHandler, alert.Options{Redis: addr, Key: key, Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	slog.New(h).Error(strings.Repeat("€", 5000), "k", "v") // 15000 bytes
	got := waitList(t, rdb, key, 1)
	if len(got) != 1 {
		t.Fatalf("got %d alerts; want 1", len(got))
	}
	a := got[0]
	if len(a) > alert.MaxAlert || len(a) < alert.MaxAlert-3 || !utf8.ValidString(a) || !strings.HasPrefix(a, "h: €€") {
		t.Errorf("alert of %d bytes (valid UTF-8: %v), prefix %q; want ≤ %d, cut at a rune", len(a), utf8.ValidString(a), a[:8], alert.MaxAlert)
	}
}

// flakyProxy forwards TCP connections to a Redis server while up; while
// down it accepts and closes them at once.
type flakyProxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
}

func newProxy(t *testing.T, target string) *flakyProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

// TestAlertOutage: while Redis is unreachable, logging goes on at full
// speed (alerts beyond the queue are dropped and counted); the queued ones
// arrive once it is back.
func TestAlertOutage(t *testing.T) {
	rdb, addr := redisClient(t)
	key := uniqueKey(t, rdb)
	proxy := newProxy(t, addr)
	h, err := alert.New(slog.DiscardHandler, alert.Options{
		Redis: proxy.ln.Addr().String(), Key: key, Host: "h", Queue: 8, Timeout: 200 * time.Millisecond, RetryBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(h)
	start := time.Now()
	for i := 0; i < 10000; i++ {
		log.Error("down", "i", i)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10000 error records took %s with Redis down: logging waited for it", d)
	}
	time.Sleep(100 * time.Millisecond) // the worker fails at least once
	st := h.Stats()
	if st.Failed == 0 || st.Dropped < 10000-8-maxPushPlus || st.Sent != 0 {
		t.Errorf("Stats with Redis down = %+v; want failures, most dropped, none sent", st)
	}
	proxy.up.Store(true)
	got := waitList(t, rdb, key, int(10000-st.Dropped))
	if uint64(len(got)) != 10000-st.Dropped {
		t.Fatalf("%d alerts arrived after the outage; want the %d not dropped", len(got), 10000-st.Dropped)
	}
	last := -1
	for _, a := range got {
		i, err := strconv.Atoi(strings.TrimPrefix(a, "h: down i="))
		if err != nil || i <= last {
			t.Fatalf("alert %q after i=%d: want \"h: down i=N\" in increasing order", a, last)
		}
		last = i
	}
	log.Error("back")
	if got := waitList(t, rdb, key, len(got)+1); got[len(got)-1] != "h: back" {
		t.Errorf("last alert = %q; want %q", got[len(got)-1], "h: back")
	}
}

// maxPushPlus: besides the queue, the worker holds up to one batch of
// alerts it keeps retrying.
const maxPushPlus = 100

func TestOptions(t *testing.T) {
	if _, err := alert.New(slog.DiscardHandler, alert.Options{}); err == nil {
		t.Error("New without an address succeeded")
	}
	if _, err := alert.New(slog.DiscardHandler, alert.Options{Redis: "redis://%zz"}); err == nil {
		t.Error("New with a bad URL succeeded")
	}
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Alert.Redis, cfg.Alert.Host = "127.0.0.1:1", "x"
	o := alert.FromConfig(cfg.Alert)
	if o.Redis != "127.0.0.1:1" || o.Key != "alert:message" || o.Host != "x" {
		t.Errorf("FromConfig = %+v", o)
	}
	h, err := alert.New(slog.DiscardHandler, o)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(h).Error("nobody listens")
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs while Redis is unreachable")
	}
	if st := h.Stats(); st.Dropped != 1 || st.Sent != 0 {
		t.Errorf("Stats = %+v; want the alert dropped at Close", st)
	}
}
