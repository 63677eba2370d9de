package ws

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/gobwas/ws"
)

// BenchmarkFanout measures one depth.update reaching every subscriber of a
// depth channel: the time from the order's HTTP reply to each client's
// receipt (p50, p99 and the last, averaged over ops; a push may arrive
// before the reply, counted as 0). Clients only scan frames; in-process, on
// loopback. CPU profiles show write and read syscalls dominate (~65%).
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, n int) {
	e := startEnv(b, func(s *config.WebSocket, o *Options) { s.PushInterval = 100 * time.Millisecond })
	e.rpc(b, "balance.update", 1, "BTC", "deposit", 1, "1000000", map[string]any{})
	var mu sync.Mutex
	var want []byte
	var got atomic.Int64
	arrivals := make([]time.Duration, n)
	start := time.Now()
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		nc, br, _, err := ws.Dial(context.Background(), e.wsURL)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, nc)
		var r io.Reader = nc
		if br != nil {
			r = io.MultiReader(br, nc)
		}
		req := []byte(`{"method":"depth.subscribe","params":["BTCUSDT",10,"0"],"id":1}`)
		f := ws.MaskFrameInPlace(ws.NewTextFrame(req))
		if err := ws.WriteFrame(nc, f); err != nil {
			b.Fatal(err)
		}
		go func(i int) {
			br := bufio.NewReaderSize(r, 4096)
			buf := make([]byte, 0, 4096)
			for {
				h, err := ws.ReadHeader(br)
				if err != nil {
					return
				}
				buf = slices.Grow(buf[:0], int(h.Length))[:h.Length]
				if _, err := io.ReadFull(br, buf); err != nil {
					return
				}
				mu.Lock()
				w := want
				mu.Unlock()
				if w != nil && bytes.Contains(buf, w) {
					arrivals[i] = time.Since(start)
					got.Add(1)
				}
			}
		}(i)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for e.srv.Stats().Channels != 1 || e.srv.Stats().Pushed < uint64(n) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // past push_interval since the first push
	var p50, p99, last time.Duration
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		price := fmt.Sprintf("%d", 50000-k)
		mu.Lock()
		want = []byte(`["` + price + `",`)
		mu.Unlock()
		got.Store(0)
		e.rpc(b, "order.put_limit", 1, "BTCUSDT", 1, "0.01", price, "0", "0", "web")
		t0 := time.Since(start)
		for got.Load() < int64(n) {
			time.Sleep(100 * time.Microsecond)
		}
		lat := make([]time.Duration, n)
		for i, a := range arrivals {
			lat[i] = max(a-t0, 0)
		}
		slices.Sort(lat)
		p50 += lat[n/2]
		p99 += lat[n*99/100]
		last += lat[n-1]
		b.StopTimer()
		time.Sleep(150 * time.Millisecond) // past push_interval: the next push goes at once
		b.StartTimer()
	}
	b.ReportMetric(float64(p50.Microseconds())/float64(b.N)/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/float64(b.N)/1000, "p99-ms")
	b.ReportMetric(float64(last.Microseconds())/float64(b.N)/1000, "last-ms")
}
