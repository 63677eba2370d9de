// Command loadgen is an HTTP JSON-RPC load generator for order.put_limit
// against a running Bourse (docs/protocol.md "HTTP transport" and "order.put_limit").
//
//	loadgen [-addr 127.0.0.1:8080] [-duration 10s] [-concurrency 64] [-rate 0]
//	        [-users 1000] [-market BTCUSDT] [-seed 1] [-baseline]
//
// It first reads the market's precisions with market.list and funds users
// 1..-users in the market's stock and money with balance.update (business
// "deposit", business ids unique per run: a millisecond time base × 10⁶ +
// user). Then -concurrency workers, each with its own keep-alive connection,
// send a seeded mix of buy and sell limit orders around -mid for -duration,
// printing progress every second, and finally print requests/s, errors by
// kind and the latency percentiles p50/p90/p99/p99.9/max.
//
// -rate 0 is a closed loop: each worker sends its next order as soon as the
// previous one is answered (latency = request round trip). -rate R > 0 is an
// open loop: order i is due at start + i/R whatever happened before, and its
// latency is measured from that due time, so a stalled server shows up as
// latency instead of being hidden by the load generator waiting for it
// (coordinated omission). Workers must then be enough to keep up with R.
//
// -baseline targets a server that is not Bourse (benchmarks/cmd/baseline): it
// skips market.list and the deposits, formats orders with BTCUSDT's
// precisions and only checks for HTTP 200, so the same client work measures
// the loopback HTTP ceiling.
//
// Workload: orders come in pairs with the same amount (1..10 × min_amount)
// and opposite sides, users uniform in 1..-users. Each order is aggressive
// with probability -aggressive % (priced -levels ticks through -mid, so it
// crosses what rests) or else passive (1..-levels ticks on its own side of
// -mid, so it rests); fee rates 0.002 taker, 0.001 maker, source "loadgen".
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	addr        string
	duration    time.Duration
	concurrency int
	rate        float64
	users       int
	market      string
	seed        uint64
	baseline    bool
	token       string
	deposit     string
	mid         string
	levels      int
	aggressive  int
	timeout     time.Duration
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "bourse HTTP JSON-RPC address (host:port or http://host:port/path)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send orders")
	fs.IntVar(&o.concurrency, "concurrency", 64, "workers, one keep-alive connection each")
	fs.Float64Var(&o.rate, "rate", 0, "orders per second, open loop; 0 = closed loop, as fast as answers come")
	fs.IntVar(&o.users, "users", 1000, "users 1..N are funded and place orders (N < 1000000)")
	fs.StringVar(&o.market, "market", "BTCUSDT", "market to trade")
	fs.Uint64Var(&o.seed, "seed", 1, "workload seed")
	fs.BoolVar(&o.baseline, "baseline", false, "target is not bourse (benchmarks/cmd/baseline): no setup, only HTTP 200 is checked")
	fs.StringVar(&o.token, "token", os.Getenv("BOURSE_HTTP_TOKEN"), "bearer token, if the server requires one (default $BOURSE_HTTP_TOKEN)")
	fs.StringVar(&o.deposit, "deposit", "100000000", "amount of stock and of money deposited per user")
	fs.StringVar(&o.mid, "mid", "100", "mid price")
	fs.IntVar(&o.levels, "levels", 20, "price band: ticks (money_prec units) each side of the mid")
	fs.IntVar(&o.aggressive, "aggressive", 52, "percentage of orders priced through the mid")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case o.duration <= 0:
		return nil, errors.New("-duration must be positive")
	case o.concurrency < 1:
		return nil, errors.New("-concurrency must be at least 1")
	case o.rate < 0:
		return nil, errors.New("-rate must be >= 0")
	case o.users < 1 || o.users >= 1_000_000:
		return nil, errors.New("-users must be in 1..999999")
	case o.levels < 1:
		return nil, errors.New("-levels must be at least 1")
	case o.aggressive < 0 || o.aggressive > 100:
		return nil, errors.New("-aggressive must be a percentage")
	}
	return o, nil
}

// market is what loadgen needs to know of the traded market.
type market struct {
	Name      string `json:"name"`
	Stock     string `json:"stock"`
	Money     string `json:"money"`
	StockPrec int    `json:"stock_prec"`
	MoneyPrec int    `json:"money_prec"`
	MinAmount string `json:"min_amount"`

	minUnits int64 // min_amount at stock_prec
	mid      int64 // -mid at money_prec
}

// client sends JSON-RPC requests over keep-alive connections.
type client struct {
	url   string
	token string
	http  *http.Client
}

func newClient(o *options) *client {
	url := o.addr
	if !strings.Contains(url, "://") {
		url = "http://" + url + "/"
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        o.concurrency + 8,
		MaxIdleConnsPerHost: o.concurrency + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &client{url: url, token: o.token, http: &http.Client{Transport: tr, Timeout: o.timeout}}
}

// rpcError is the error member of a reply; kind classifies failures for the
// report ("rpc 10", "http 504", "transport").
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type callError struct {
	kind string
	err  error
}

func (e *callError) Error() string { return e.kind + ": " + e.err.Error() }

// post sends one request body and returns the reply body. A transport
// failure, a non-200 status or, unless raw, a reply whose error is not null
// is a *callError.
func (c *client) post(ctx context.Context, body []byte, raw bool, buf *bytes.Buffer) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{"transport", err}
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &callError{"transport", err}
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, &callError{"transport", err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &callError{"http " + strconv.Itoa(resp.StatusCode), errors.New(strings.TrimSpace(buf.String()))}
	}
	out := buf.Bytes()
	if raw || bytes.HasPrefix(out, []byte(`{"error":null,`)) {
		return out, nil
	}
	var r struct {
		Error *rpcError `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, &callError{"bad reply", err}
	}
	if r.Error != nil {
		return nil, &callError{"rpc " + strconv.Itoa(r.Error.Code), errors.New(r.Error.Message)}
	}
	return out, nil
}

// call sends method(params) and decodes the result into result.
func (c *client) call(ctx context.Context, method string, params []any, result any) error {
	body, err := json.Marshal(map[string]any{"method": method, "params": params, "id": 1})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	out, err := c.post(ctx, body, false, &buf)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	var r struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%s result: %w", method, err)
	}
	return nil
}

// setup reads the market from market.list (or assumes BTCUSDT's
// precisions for -baseline) and funds the users.
func setup(ctx context.Context, c *client, o *options, out io.Writer) (*market, error) {
	m := &market{Name: o.market, Stock: "BTC", Money: "USDT", StockPrec: 8, MoneyPrec: 2, MinAmount: "0.0001"}
	if !o.baseline {
		var list []market
		if err := c.call(ctx, "market.list", []any{}, &list); err != nil {
			return nil, err
		}
		found := false
		for _, l := range list {
			if l.Name == o.market {
				*m, found = l, true
			}
		}
		if !found {
			return nil, fmt.Errorf("market %q is not listed by market.list", o.market)
		}
	}
	var err error
	if m.minUnits, err = parseFixed(m.MinAmount, m.StockPrec); err != nil {
		return nil, fmt.Errorf("min_amount %q: %w", m.MinAmount, err)
	}
	if m.minUnits == 0 {
		m.minUnits = 1
	}
	if m.mid, err = parseFixed(o.mid, m.MoneyPrec); err != nil || m.mid <= int64(o.levels) {
		return nil, fmt.Errorf("-mid %q must exceed -levels ticks at money_prec %d", o.mid, m.MoneyPrec)
	}
	if o.baseline {
		return m, nil
	}

	// Deposits: unique business ids per run (millisecond base), so the
	// same server can be loaded again without "repeat update".
	base := uint64(time.Now().UnixMilli()) * 1_000_000
	start := time.Now()
	var next atomic.Int64
	errc := make(chan error, o.concurrency)
	var wg sync.WaitGroup
	for range min(o.concurrency, o.users) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				u := next.Add(1)
				if u > int64(o.users) {
					return
				}
				for _, asset := range []string{m.Stock, m.Money} {
					params := []any{u, asset, "deposit", base + uint64(u), o.deposit, map[string]any{}}
					if err := c.call(ctx, "balance.update", params, nil); err != nil {
						errc <- fmt.Errorf("deposit user %d %s: %w", u, asset, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "funded users 1..%d with %s %s and %s %s in %v (business ids %d+user)\n",
		o.users, o.deposit, m.Stock, o.deposit, m.Money, time.Since(start).Round(time.Millisecond), base)
	return m, nil
}

// parseFixed parses a plain non-negative decimal into units of 10^-scale,
// truncating extra digits.
func parseFixed(s string, scale int) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > scale {
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a plain non-negative decimal: %q", s)
	}
	return v, nil
}

// appendFixed appends v units of 10^-scale as a plain decimal.
func appendFixed(b []byte, v int64, scale int) []byte {
	if scale == 0 {
		return strconv.AppendInt(b, v, 10)
	}
	var tmp [24]byte
	d := strconv.AppendInt(tmp[:0], v, 10)
	for len(d) <= scale {
		d = append([]byte{'0'}, d...)
	}
	b = append(b, d[:len(d)-scale]...)
	b = append(b, '.')
	return append(b, d[len(d)-scale:]...)
}

// workload generates one worker's orders (see the package comment).
type workload struct {
	rng    *rand.Rand
	m      *market
	o      *options
	pair   bool
	side   int
	amount int64
	id     int64
}

// next appends the next order.put_limit request body to b.
func (w *workload) next(b []byte) []byte {
	rng := w.rng
	if w.pair {
		w.side = 3 - w.side
	} else {
		w.side = 1 + rng.IntN(2) // 1 ask, 2 bid
		w.amount = int64(1+rng.IntN(10)) * w.m.minUnits
	}
	w.pair = !w.pair
	levels := int64(w.o.levels)
	price := w.m.mid
	off := 1 + rng.Int64N(levels)
	switch aggressive := rng.IntN(100) < w.o.aggressive; {
	case w.side == 2 && aggressive:
		price += levels
	case w.side == 2:
		price -= off
	case aggressive:
		price -= levels
	default:
		price += off
	}
	user := 1 + rng.IntN(w.o.users)
	w.id++
	b = append(b, `{"method":"order.put_limit","params":[`...)
	b = strconv.AppendInt(b, int64(user), 10)
	b = append(b, ',')
	b = strconv.AppendQuote(b, w.m.Name)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(w.side), 10)
	b = append(b, `,"`...)
	b = appendFixed(b, w.amount, w.m.StockPrec)
	b = append(b, `","`...)
	b = appendFixed(b, price, w.m.MoneyPrec)
	b = append(b, `","0.002","0.001","loadgen"],"id":`...)
	b = strconv.AppendInt(b, w.id, 10)
	return append(b, '}')
}

// result is one worker's tally.
type result struct {
	hist   *hist.Histogram
	sent   int64
	errors map[string]int64
	first  map[string]string // first message per error kind
}

// run sets up the market, sends orders from o.concurrency workers for the
// run's duration and prints the results.
func run(args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c := newClient(o)
	m, err := setup(ctx, c, o, out)
	if err != nil {
		return err
	}
	mode := "closed loop"
	if o.rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f orders/s", o.rate)
	}
	target := "bourse"
	if o.baseline {
		target = "baseline (not bourse: only HTTP 200 checked)"
	}
	fmt.Fprintf(out, "order.put_limit → %s [%s]: market %s, %d users, %d connections, %s, %v, seed %d\n",
		c.url, target, m.Name, o.users, o.concurrency, mode, o.duration, o.seed)

	l := &load{c: c, o: o, start: time.Now()}
	l.end = l.start.Add(o.duration)
	if o.rate > 0 {
		l.interval = time.Duration(float64(time.Second) / o.rate)
	}
	results := make([]*result, o.concurrency)
	var wg sync.WaitGroup
	for i := range o.concurrency {
		r := &result{hist: hist.New(), errors: map[string]int64{}, first: map[string]string{}}
		results[i] = r
		w := &workload{rng: rand.New(rand.NewPCG(o.seed, uint64(i))), m: m, o: o, id: int64(i) << 40}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.worker(ctx, w, r)
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	l.progress(out, finished)
	l.report(out, results, time.Since(l.start))
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}

// load is one run's shared state: the client, the clock and the counts.
type load struct {
	c            *client
	o            *options
	start, end   time.Time
	interval     time.Duration // between due times; 0: closed loop
	ticket       atomic.Int64  // the next due time's index (open loop)
	done, failed atomic.Int64
}

// worker sends orders from w until the run's end, at due times in an open
// loop, and tallies them in r.
func (l *load) worker(ctx context.Context, w *workload, r *result) {
	var body []byte
	var buf bytes.Buffer
	for ctx.Err() == nil {
		var due time.Time
		if l.interval > 0 {
			due = l.start.Add(time.Duration(l.ticket.Add(1)-1) * l.interval)
			if !due.Before(l.end) {
				return
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		} else {
			due = time.Now()
			if !due.Before(l.end) {
				return
			}
		}
		body = w.next(body[:0])
		_, err := l.c.post(ctx, body, l.o.baseline, &buf)
		r.hist.Record(int64(time.Since(due)))
		r.sent++
		l.done.Add(1)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.failed.Add(1)
			kind, msg := "other", err.Error()
			var ce *callError
			if errors.As(err, &ce) {
				kind, msg = ce.kind, ce.err.Error()
			}
			if r.errors[kind]++; r.errors[kind] == 1 {
				r.first[kind] = msg
			}
		}
	}
}

// progress prints the rate every second until finished is closed.
func (l *load) progress(out io.Writer, finished <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	lastT := l.start
	for {
		select {
		case <-finished:
			return
		case now := <-tick.C:
			n := l.done.Load()
			fmt.Fprintf(out, "%6.1fs  %9.0f req/s  total %d  errors %d\n",
				now.Sub(l.start).Seconds(), float64(n-last)/now.Sub(lastT).Seconds(), n, l.failed.Load())
			last, lastT = n, now
		}
	}
}

// report prints the workers' results merged: throughput, errors by kind
// and latency quantiles.
func (l *load) report(out io.Writer, results []*result, elapsed time.Duration) {
	o := l.o
	total := hist.New()
	errs := map[string]int64{}
	first := map[string]string{}
	var sent int64
	for _, r := range results {
		total.Merge(r.hist)
		sent += r.sent
		for k, v := range r.errors {
			errs[k] += v
			if _, ok := first[k]; !ok {
				first[k] = r.first[k]
			}
		}
	}
	fmt.Fprintf(out, "requests %d in %v: %.0f requests/s", sent, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	if o.rate > 0 {
		fmt.Fprintf(out, " (target %.0f/s)", o.rate)
	}
	fmt.Fprintf(out, ", errors %d\n", l.failed.Load())
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(out, "  %-10s %d  (first: %s)\n", k, errs[k], first[k])
	}
	d := func(q float64) time.Duration { return time.Duration(total.Quantile(q)) }
	from := "send"
	if o.rate > 0 {
		from = "due time"
	}
	fmt.Fprintf(out, "latency (from %s): p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n",
		from, d(0.5), d(0.9), d(0.99), d(0.999), time.Duration(total.Max()))
}
