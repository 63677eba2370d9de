package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Bounds of TestWebConsolePerf.
const (
	perfTradesPerSecond = 1000
	perfSeconds         = 10
	perfDrawP99         = 100 * time.Millisecond // depth update received → drawn, p99
	perfHeapGrowth      = 8 << 20                // JavaScript heap after GC, end − start
	// perfTimerLate: beyond this p99 lateness of a 10 ms timer the machine,
	// not the page, sets the timing, and the test skips.
	perfTimerLate = 50.0 // ms
)

// TestWebConsolePerf keeps the trader page open on a market while 1,000
// trades a second for 10 s go through it (each a small order taking from
// a deep book, alternately buying and selling), and checks the page's own
// timing (performance.now() from a depth.update's arrival to the frame
// that drew it) and its JavaScript heap: p99 within perfDrawP99 and the
// heap after garbage collection grown by at most perfHeapGrowth. On a
// machine too loaded to run the feeder at its rate, or the page's own
// 10 ms timer within perfTimerLate at p99, it skips saying so.
//
// It is a timing test, so it runs alone: `make webperf` (BOURSE_TEST_WEBPERF=1),
// not inside `make test`, where the other packages' tests share the cores.
func TestWebConsolePerf(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary and a browser")
	}
	if os.Getenv("BOURSE_TEST_WEBPERF") != "1" {
		t.Skip("a timing test: make webperf (BOURSE_TEST_WEBPERF=1) runs it alone")
	}
	b := newBrowser(t)
	s := startBinary(t, "-dev-auth", "-durability", "batch")
	web := s.webURL(t)
	var markets []webMarket
	mustRPC(t, s.url, "", &markets, "market.list")
	m := markets[0]
	// Makers: 20 asks from user 2, 20 bids from user 5, deep enough for
	// every taker; takers: user 3 buys, user 4 sells.
	mustRPC(t, s.url, "", nil, "balance.update", 2, m.Stock, "deposit", 1, "1000000", map[string]any{})
	mustRPC(t, s.url, "", nil, "balance.update", 5, m.Money, "deposit", 1, "1000000000", map[string]any{})
	mustRPC(t, s.url, "", nil, "balance.update", 3, m.Money, "deposit", 1, "1000000000", map[string]any{})
	mustRPC(t, s.url, "", nil, "balance.update", 4, m.Stock, "deposit", 1, "1000000", map[string]any{})
	for i := 1; i <= 20; i++ {
		mustRPC(t, s.url, "", nil, "order.put_limit", 2, m.Name, 1, "1000", fmt.Sprint(100+i), "0.002", "0.001", "perf")
		mustRPC(t, s.url, "", nil, "order.put_limit", 5, m.Name, 2, "1000", fmt.Sprint(100-i), "0.002", "0.001", "perf")
	}
	b.do(t, chromedp.Navigate(web+"/?market="+m.Name))
	b.waitFor(t, "the ladder", `document.querySelectorAll('#bids tr').length >= 10 && document.querySelectorAll('#asks tr').length >= 10`, 15*time.Second)
	time.Sleep(500 * time.Millisecond)
	before := heapAfterGC(t, b)
	b.eval(t, `(window.bourse.perf.depth.length = 0, window.bourse.perf.drawn = 0, true)`, new(bool))
	// The machine's share: how late a 10 ms timer of the page's own runs.
	// On a machine too busy to run the page on time, no page meets the
	// bound, and the test says so instead of judging the page.
	b.eval(t, `(() => { const late = window.__late = []; let next = performance.now() + 10;
		window.__lateTimer = setInterval(() => { const now = performance.now(); late.push(now - next); next = now + 10; }, 10); return true; })()`, new(bool))

	trades := feedTrades(t, s.url, m)
	time.Sleep(500 * time.Millisecond) // the last pushes drawn
	var lat, late []float64
	var drawn int
	b.eval(t, `window.bourse.perf.depth`, &lat)
	b.eval(t, `window.bourse.perf.drawn`, &drawn)
	b.eval(t, `(clearInterval(window.__lateTimer), window.__late)`, &late)
	after := heapAfterGC(t, b)
	if len(lat) == 0 {
		t.Fatal("no depth update drawn")
	}
	sort.Float64s(lat)
	p50, p99, worst := lat[len(lat)/2], lat[(len(lat)*99)/100], lat[len(lat)-1]
	growth := after - before
	sort.Float64s(late)
	timerP99 := late[(len(late)*99)/100]
	t.Logf("page's 10 ms timer late by p99 %.1f ms; %d trades in %d s; %d depth updates drawn: received → drawn p50 %.1f ms, p99 %.1f ms, max %.1f ms; JS heap after GC %.1f → %.1f MiB (%+.1f MiB)",
		timerP99, trades, perfSeconds, drawn, p50, p99, worst, before/(1<<20), after/(1<<20), growth/(1<<20))
	if growth > perfHeapGrowth {
		t.Errorf("JavaScript heap grew by %.1f MiB; want ≤ %d MiB", growth/(1<<20), perfHeapGrowth>>20)
	}
	b.noConsoleErrors(t)
	if trades < perfTradesPerSecond*perfSeconds*9/10 || timerP99 > perfTimerLate {
		t.Skipf("this machine is too busy to judge the page: the feeder made %d trades in %d s (want %d/s), the page's 10 ms timer ran up to %.0f ms late at p99 (want ≤ %.0f ms; load from other processes)",
			trades, perfSeconds, perfTradesPerSecond, timerP99, perfTimerLate)
	}
	if len(lat) < perfSeconds*5 {
		t.Errorf("%d depth updates drawn in %d s; want at least %d (push_interval is 100 ms)", len(lat), perfSeconds, perfSeconds*5)
	}
	if p99 > float64(perfDrawP99.Milliseconds()) {
		t.Errorf("depth update drawn within %.1f ms at p99; want ≤ %s", p99, perfDrawP99)
	}
}

// heapAfterGC collects the page's garbage and returns the JavaScript heap
// in use, bytes.
func heapAfterGC(t *testing.T, b *browser) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	h, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	return h.UsedSize
}

// feedTrades sends perfTradesPerSecond small taking orders a second for
// perfSeconds, paced per worker, and returns how many traded.
func feedTrades(t *testing.T, url string, m webMarket) int64 {
	t.Helper()
	const workers = 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var trades atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	end := time.Now().Add(perfSeconds * time.Second)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			user, side, price := 3, 2, "120" // buy from the asks
			if w%2 == 1 {
				user, side, price = 4, 1, "80" // sell to the bids
			}
			body, _ := json.Marshal(map[string]any{"method": "order.put_limit", "id": 1,
				"params": []any{user, m.Name, side, "0.001", price, "0.002", "0.001", "perf"}})
			tick := time.NewTicker(time.Second * workers / perfTradesPerSecond)
			defer tick.Stop()
			for now := range tick.C {
				if now.After(end) {
					return
				}
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				var env struct {
					Error  *rpcError
					Result struct {
						Left string
					}
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if json.Unmarshal(raw, &env) != nil || env.Error != nil {
					failed.Store(string(raw))
					return
				}
				if env.Result.Left == "0" {
					trades.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatalf("feeding trades: %v", f)
	}
	return trades.Load()
}
