package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gobwas/ws/wsutil"
)

// success is the result of a subscribe.
var success = []byte(`{"status":"success"}`)

func subscribe(c *wsConn, timeout time.Duration, method string, params ...any) error {
	res, err := call(c, timeout, 1, method, params...)
	if err != nil {
		return err
	}
	var got, want any
	json.Unmarshal(res, &got)
	json.Unmarshal(success, &want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s result %s, want %s", method, res, success)
	}
	return nil
}

// isNotification reports whether msg is a notification named method: its
// "method" member, wherever it is in the object, is that string.
func isNotification(msg []byte, method string) bool {
	i := bytes.Index(msg, []byte(`"method"`))
	if i < 0 {
		return false
	}
	rest := bytes.TrimLeft(msg[i+len(`"method"`):], " \t\r\n")
	rest, ok := bytes.CutPrefix(rest, []byte(":"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t\r\n")
	return bytes.HasPrefix(rest, []byte(strconv.Quote(method)))
}

// dealsCount returns the number of deals a deals.update carries.
func dealsCount(msg []byte) (int, error) {
	var n struct {
		Params []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(msg, &n); err != nil {
		return 0, err
	}
	if len(n.Params) != 2 {
		return 0, fmt.Errorf("deals.update has %d params, want 2", len(n.Params))
	}
	var deals []json.RawMessage
	if err := json.Unmarshal(n.Params[1], &deals); err != nil {
		return 0, err
	}
	return len(deals), nil
}

// fanout is the shared state of the fanout readers.
type fanout struct {
	t0       time.Time
	round    atomic.Int64
	expect   atomic.Pointer[[]byte] // `"price"` of the current round's order
	got      atomic.Int64           // subscribers that got the current round
	lastAny  atomic.Int64           // ns since t0 of the last depth.update
	extra    atomic.Int64           // depth.updates beyond the first per round
	dead     atomic.Int64
	firstErr atomic.Pointer[error]
	subRound []atomic.Int64
	arrival  []atomic.Int64 // ns since t0
}

func (f *fanout) read(i int, c *wsConn) {
	for {
		msg, _, err := wsutil.ReadServerData(c)
		if err != nil {
			f.dead.Add(1)
			f.firstErr.CompareAndSwap(nil, &err)
			return
		}
		now := int64(time.Since(f.t0))
		if !isNotification(msg, "depth.update") {
			continue
		}
		f.lastAny.Store(now)
		r := f.round.Load()
		if r == 0 {
			continue
		}
		if f.subRound[i].Load() == r {
			f.extra.Add(1)
			continue
		}
		if e := f.expect.Load(); e != nil && bytes.Contains(msg, *e) {
			f.arrival[i].Store(now)
			f.subRound[i].Store(r)
			f.got.Add(1)
		}
	}
}

func runFanout(ctx context.Context, o *options, hc *httpClient, out io.Writer) error {
	m, amount, p0, err := fanoutSetup(ctx, o, hc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "fanout: %d subscribers of depth.subscribe [%q, %d, %q] on ws://%s from %d source addresses; %d rounds, one ask of %s %s by user %d each\n",
		o.conns, m.Name, o.limit, o.interval, o.wsAddr, o.sources, o.rounds, amount, m.Stock, o.user)
	conns, elapsed, err := connectAll(ctx, o, out, func(i int, c *wsConn) error {
		return subscribe(c, o.timeout, "depth.subscribe", m.Name, o.limit, o.interval)
	})
	if err != nil {
		return err
	}
	defer closeAll(conns)
	fmt.Fprintf(out, "subscribed %d in %v\n", len(conns), elapsed.Round(time.Millisecond))

	f := &fanout{t0: time.Now(), subRound: make([]atomic.Int64, len(conns)), arrival: make([]atomic.Int64, len(conns))}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); f.read(i, c) }()
	}
	defer wg.Wait()
	defer closeAll(conns)

	var ids []int64
	defer func() { // best effort: leave the book as it was
		for _, id := range ids {
			hc.call(context.Background(), "order.cancel", []any{o.user, m.Name, id}, nil)
		}
	}()
	var results []fanoutRound
	var all []time.Duration
	cpu, cpuStart := startCPU(o.pid), time.Now()
	for k := 1; k <= o.rounds; k++ {
		if err := f.quiet(ctx, o.gap); err != nil {
			return err
		}
		price := formatFixed(p0-int64(k-1), m.MoneyPrec)
		r, lat, id, err := f.playRound(ctx, o, hc, m.Name, amount, price, k, len(conns))
		if err != nil {
			return fmt.Errorf("round %d: %w", k, err)
		}
		ids = append(ids, id)
		all = append(all, lat...)
		results = append(results, r)
		fmt.Fprintf(out, "  round %d: ask %s @ %s, %d/%d got it, p50 %v p99 %v max %v\n", k, amount, price, r.got, r.alive, rd(r.p50), rd(r.p99), rd(r.maxd))
	}

	fmt.Fprintf(out, "\nWebSocket depth.update fan-out: %d subscribers, %q limit %d interval %q (latency from the HTTP reply to the push's arrival)\n", len(conns), m.Name, o.limit, o.interval)
	slices.Sort(all)
	total := len(results) * len(conns)
	printFanoutTable(out, results, all, total)
	fmt.Fprintf(out, "  extra depth.updates in rounds: %d; subscribers disconnected: %d; bourse CPU during the rounds: %s\n", f.extra.Load(), f.dead.Load(), cpu.since(time.Since(cpuStart)))
	if p := f.firstErr.Load(); p != nil && f.dead.Load() > 0 {
		fmt.Fprintf(out, "  first disconnect: %v\n", *p)
	}
	if len(all) < total {
		return fmt.Errorf("%d of %d deliveries missing", total-len(all), total)
	}
	return nil
}

// fanoutSetup finds the fanout market, the amount of each round's ask (the
// market's minimum) and the first round's price in units, and funds the
// user with stock.
func fanoutSetup(ctx context.Context, o *options, hc *httpClient) (market, string, int64, error) {
	ms, err := hc.markets(ctx, []string{o.market})
	if err != nil {
		return market{}, "", 0, err
	}
	m := ms[0]
	minAmount, err := parseFixed(m.MinAmount, m.StockPrec)
	if err != nil {
		return market{}, "", 0, fmt.Errorf("min_amount %q: %w", m.MinAmount, err)
	}
	amount := formatFixed(max(minAmount, 1), m.StockPrec)
	p0, err := parseFixed(o.price, m.MoneyPrec)
	if err != nil || p0 <= int64(o.rounds) {
		return market{}, "", 0, fmt.Errorf("-price %q must exceed -rounds ticks at money_prec %d", o.price, m.MoneyPrec)
	}
	if err := hc.deposit(ctx, o.user, "1000000", m.Stock); err != nil {
		return market{}, "", 0, err
	}
	return m, amount, p0, nil
}

// fanoutRound is what one fanout round measured.
type fanoutRound struct {
	got, alive            int
	first, p50, p99, maxd time.Duration
	fromSend              time.Duration // p50 from the request
	http                  time.Duration
	server                time.Duration // the server's own fan-out time (bourse_ws_fanout_seconds); -1: unknown
}

// quiet waits until no depth.update came for gap, so that the previous
// round's pushes are over.
func (f *fanout) quiet(ctx context.Context, gap time.Duration) error {
	for time.Since(f.t0)-time.Duration(f.lastAny.Load()) < gap {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// playRound places round k's ask at price, waits until each of the n
// subscribers still connected got it (or o.timeout), and returns the
// round's figures, its latencies sorted, and the order id.
func (f *fanout) playRound(ctx context.Context, o *options, hc *httpClient, name, amount, price string, k, n int) (fanoutRound, []time.Duration, int64, error) {
	e := []byte(strconv.Quote(price))
	f.expect.Store(&e)
	f.got.Store(0)
	f.round.Store(int64(k))
	alive := n - int(f.dead.Load())
	fan0, fanErr := hc.fanout(ctx)
	tSend := time.Since(f.t0)
	id, err := hc.putLimit(ctx, o.user, name, 1, amount, price)
	tReply := time.Since(f.t0)
	if err != nil {
		return fanoutRound{}, nil, 0, err
	}
	deadline := time.Now().Add(o.timeout)
	for f.got.Load() < int64(alive-int(f.dead.Load())) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	var lat, lsend []time.Duration
	for i := range n {
		if f.subRound[i].Load() == int64(k) {
			a := time.Duration(f.arrival[i].Load())
			lat = append(lat, max(a-tReply, 0))
			lsend = append(lsend, a-tSend)
		}
	}
	slices.Sort(lat)
	slices.Sort(lsend)
	r := fanoutRound{got: len(lat), alive: alive, http: tReply - tSend, fromSend: percentile(lsend, 0.5), server: -1}
	if fan1, err := hc.fanout(ctx); err == nil && fanErr == nil && fan1.count > fan0.count {
		// Mean over the round's fan-outs: one, unless other pushes
		// went to several connections meanwhile.
		r.server = time.Duration((fan1.sum - fan0.sum) / float64(fan1.count-fan0.count) * 1e9)
	}
	if len(lat) > 0 {
		r.first, r.p50, r.p99, r.maxd = lat[0], percentile(lat, 0.5), percentile(lat, 0.99), lat[len(lat)-1]
	}
	return r, lat, id, nil
}

// printFanoutTable prints one line per round and one for all deliveries
// (all sorted; total the deliveries expected).
func printFanoutTable(out io.Writer, results []fanoutRound, all []time.Duration, total int) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  round\treceived\tHTTP put_limit\tfirst\tp50\tp99\tmax\tp50 from request\tserver fan-out")
	for k, r := range results {
		server := "unknown"
		if r.server >= 0 {
			server = rd(r.server).String()
		}
		fmt.Fprintf(tw, "  %d\t%d/%d\t%v\t%v\t%v\t%v\t%v\t%v\t%s\n", k+1, r.got, r.alive, rd(r.http), rd(r.first), rd(r.p50), rd(r.p99), rd(r.maxd), rd(r.fromSend), server)
	}
	if len(all) > 0 {
		fmt.Fprintf(tw, "  all\t%d/%d\t\t%v\t%v\t%v\t%v\t\n", len(all), total, rd(all[0]), rd(percentile(all, 0.5)), rd(percentile(all, 0.99)), rd(all[len(all)-1]))
	}
	tw.Flush()
}

// rd rounds a duration for the tables.
func rd(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// counts are a throughput reader's tallies.
type counts struct {
	msgs, bytes, deals atomic.Int64
}

func runThroughput(ctx context.Context, o *options, hc *httpClient, out io.Writer) error {
	ms, method, params, err := throughputSetup(ctx, o, hc)
	if err != nil {
		return err
	}
	seller, buyer := o.user, o.user+1
	fmt.Fprintf(out, "throughput: %d subscribers of %s %v on ws://%s; crossing pairs at %.0f orders/s for %v over %d workers (users %d, %d)\n",
		o.conns, method, params, o.wsAddr, o.rate, o.duration, o.workers, seller, buyer)
	conns, elapsed, err := connectAll(ctx, o, out, func(i int, c *wsConn) error {
		return subscribe(c, o.timeout, method, params...)
	})
	if err != nil {
		return err
	}
	defer closeAll(conns)
	fmt.Fprintf(out, "subscribed %d in %v\n", len(conns), elapsed.Round(time.Millisecond))

	t := &throughput{o: o, hc: hc, ms: ms, notif: o.channel + ".update", per: make([]counts, len(conns))}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.read(i, c)
		}()
	}
	defer wg.Wait()
	defer closeAll(conns)

	// Let the pushes that answer the subscriptions (recent deals) pass.
	time.Sleep(o.settle)
	t.base = t.snapshot()
	cpu := startCPU(o.pid)
	t.interval = time.Duration(float64(2*time.Second) / o.rate) // per pair
	t.start = time.Now()
	t.end = t.start.Add(o.duration)
	var ow sync.WaitGroup
	for range o.workers {
		ow.Add(1)
		go func() {
			defer ow.Done()
			t.place(ctx)
		}()
	}
	finished := make(chan struct{})
	go func() { ow.Wait(); close(finished) }()
	t.progress(out, finished)
	window := time.Since(t.start)
	serverCPU := cpu.since(window)
	inWindow := t.total.msgs.Load() - t.base.msgs
	t.drain()
	return t.report(out, method, params, window, inWindow, serverCPU)
}

// throughputSetup finds the markets, funds the two trading users with
// their assets and returns the subscription's method and params.
func throughputSetup(ctx context.Context, o *options, hc *httpClient) ([]market, string, []any, error) {
	ms, err := hc.markets(ctx, o.markets)
	if err != nil {
		return nil, "", nil, err
	}
	var assets []string
	for _, m := range ms {
		for _, a := range []string{m.Stock, m.Money} {
			if !slices.Contains(assets, a) {
				assets = append(assets, a)
			}
		}
	}
	for _, u := range []int64{o.user, o.user + 1} {
		if err := hc.deposit(ctx, u, "1000000000", assets...); err != nil {
			return nil, "", nil, err
		}
	}
	method := o.channel + ".subscribe"
	params := make([]any, len(o.markets))
	for i, m := range o.markets {
		params[i] = m
	}
	if o.channel == "depth" {
		if len(ms) != 1 {
			return nil, "", nil, errors.New("-channel depth takes one market")
		}
		params = []any{ms[0].Name, o.limit, o.interval}
	}
	return ms, method, params, nil
}

// throughput is the shared state of a throughput run: the subscribers'
// readers count what arrives, the order workers place crossing pairs.
type throughput struct {
	o     *options
	hc    *httpClient
	ms    []market
	notif string // the notification method counted

	total  counts
	per    []counts // per subscriber
	base   countsAt // total when the order window opens
	dead   atomic.Int64
	badErr atomic.Pointer[error]
	ids0Mu sync.Mutex
	ids0   []uint64 // deal ids subscriber 0 received (to tell late from lost); guarded by ids0Mu

	start, end time.Time     // the order window
	interval   time.Duration // between pairs
	ticket     atomic.Int64  // the next pair's index
	pairsDone  atomic.Int64
	httpErrs   atomic.Int64
	firstHTTP  atomic.Pointer[error]
	latMu      sync.Mutex
	orderLat   []time.Duration // per order.put_limit round trip; guarded by latMu
}

// countsAt is a reading of counts, and of each subscriber's deals.
type countsAt struct {
	msgs, bytes, deals int64
	perDeals           []int64
}

// snapshot reads the counts now.
func (t *throughput) snapshot() countsAt {
	c := countsAt{msgs: t.total.msgs.Load(), bytes: t.total.bytes.Load(), deals: t.total.deals.Load(), perDeals: make([]int64, len(t.per))}
	for i := range t.per {
		c.perDeals[i] = t.per[i].deals.Load()
	}
	return c
}

// read counts subscriber i's notifications (and, for deals, the deals
// they carry, checked by a full decode every 64th) until c fails.
func (t *throughput) read(i int, c *wsConn) {
	for {
		msg, _, err := wsutil.ReadServerData(c)
		if err != nil {
			t.dead.Add(1)
			return
		}
		if !isNotification(msg, t.notif) {
			continue
		}
		t.per[i].msgs.Add(1)
		t.total.msgs.Add(1)
		t.total.bytes.Add(int64(len(msg)))
		if t.o.channel != "deals" {
			continue
		}
		// Count deals cheaply; decode every 64th message fully to check
		// the cheap count.
		n := bytes.Count(msg, []byte(`"price":`))
		if i == 0 {
			ids := dealIDs(msg)
			t.ids0Mu.Lock()
			t.ids0 = append(t.ids0, ids...)
			t.ids0Mu.Unlock()
		}
		if t.per[i].msgs.Load()%64 == 1 {
			if full, err := dealsCount(msg); err != nil || full != n {
				err = fmt.Errorf("%v (deals: %d decoded, %d counted) in %.300s", err, full, n, msg)
				t.badErr.CompareAndSwap(nil, &err)
			}
		}
		t.per[i].deals.Add(int64(n))
		t.total.deals.Add(int64(n))
	}
}

// place is one order worker: it places crossing pairs (an ask, then a bid
// at the same price) at their due times, rotating over the markets, until
// the window is over.
func (t *throughput) place(ctx context.Context) {
	o := t.o
	seller, buyer := o.user, o.user+1
	for ctx.Err() == nil {
		j := t.ticket.Add(1) - 1
		due := t.start.Add(time.Duration(j) * t.interval)
		if !due.Before(t.end) || !time.Now().Before(t.end) {
			return // the window is over, even if the server fell behind
		}
		time.Sleep(time.Until(due))
		m := t.ms[int(j)%len(t.ms)]
		minAmount, _ := parseFixed(m.MinAmount, m.StockPrec)
		amount := formatFixed(max(minAmount, 1), m.StockPrec)
		price := o.price
		t1 := time.Now()
		_, err := t.hc.putLimit(ctx, seller, m.Name, 1, amount, price)
		t2 := time.Now()
		if err == nil {
			_, err = t.hc.putLimit(ctx, buyer, m.Name, 2, amount, price)
			t.latMu.Lock()
			t.orderLat = append(t.orderLat, t2.Sub(t1), time.Since(t2))
			t.latMu.Unlock()
		}
		if err != nil {
			t.httpErrs.Add(1)
			t.firstHTTP.CompareAndSwap(nil, &err)
			continue
		}
		t.pairsDone.Add(1)
	}
}

// progress prints the counts every second until finished is closed.
func (t *throughput) progress(out io.Writer, finished <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-tick.C:
			fmt.Fprintf(out, "  %5.1fs  pairs %d  notifications %d  deals carried %d\n", time.Since(t.start).Seconds(), t.pairsDone.Load(),
				t.total.msgs.Load()-t.base.msgs, t.total.deals.Load()-t.base.deals)
		}
	}
}

// drain waits until nothing arrived for -drain (at most -timeout).
func (t *throughput) drain() {
	last, quietSince, deadline := t.total.msgs.Load(), time.Now(), time.Now().Add(t.o.timeout)
	for time.Since(quietSince) < t.o.drain && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if n := t.total.msgs.Load(); n != last {
			last, quietSince = n, time.Now()
		}
	}
}

// report prints the run's table and fails on a malformed deals.update or a
// subscriber that missed deals.
func (t *throughput) report(out io.Writer, method string, params []any, window time.Duration, inWindow int64, serverCPU string) error {
	o, n := t.o, len(t.per)
	msgs := t.total.msgs.Load() - t.base.msgs
	bytesN := t.total.bytes.Load() - t.base.bytes
	deals := t.total.deals.Load() - t.base.deals
	minD, maxD := int64(-1), int64(0)
	for i := range t.per {
		d := t.per[i].deals.Load() - t.base.perDeals[i]
		if minD < 0 || d < minD {
			minD = d
		}
		maxD = max(maxD, d)
	}
	pairs := t.pairsDone.Load()
	t.latMu.Lock()
	orderLat := t.orderLat
	t.latMu.Unlock()
	slices.Sort(orderLat)
	rows := [][2]string{
		{"subscribers", fmt.Sprintf("%d (%s %v)", n, method, params)},
		{"orders placed", fmt.Sprintf("%d in %v = %.0f orders/s (%d pairs; HTTP errors %d)", 2*pairs, window.Round(time.Millisecond), float64(2*pairs)/window.Seconds(), pairs, t.httpErrs.Load())},
		{"order.put_limit round trip", fmt.Sprintf("p50 %v  p99 %v  max %v", rd(percentile(orderLat, 0.5)), rd(percentile(orderLat, 0.99)), rd(percentile(orderLat, 1)))},
		{"notifications received", fmt.Sprintf("%d (%d during the order window, the rest in the drain)", msgs, inWindow)},
		{"notifications/s", fmt.Sprintf("%.0f (%.1f per subscriber per second)", float64(inWindow)/window.Seconds(), float64(inWindow)/window.Seconds()/float64(n))},
		{"bytes/s", fmt.Sprintf("%.1f MB/s (%.0f B per notification)", float64(bytesN)/window.Seconds()/1e6, float64(bytesN)/float64(max(msgs, 1)))},
	}
	if o.channel == "deals" {
		rows = append(rows,
			[2]string{"deals carried/s", fmt.Sprintf("%.0f (%.1f deals per notification)", float64(deals)/window.Seconds(), float64(deals)/float64(max(msgs, 1)))},
			[2]string{"deals per subscriber", fmt.Sprintf("min %d max %d (deals made: %d)", minD, maxD, pairs)})
	}
	rows = append(rows, [2]string{"subscribers disconnected", strconv.FormatInt(t.dead.Load(), 10)},
		[2]string{"bourse CPU in the window", serverCPU})
	table(out, "WebSocket push throughput", rows)
	if p := t.firstHTTP.Load(); p != nil {
		fmt.Fprintf(out, "  first HTTP error: %v\n", *p)
	}
	if p := t.badErr.Load(); p != nil {
		return fmt.Errorf("malformed deals.update: %v", *p)
	}
	if o.channel == "deals" && minD < pairs {
		t.ids0Mu.Lock()
		fmt.Fprintf(out, "  subscriber 0's deal ids: %s\n", idGaps(t.ids0))
		t.ids0Mu.Unlock()
		return fmt.Errorf("a subscriber received %d deals of the %d made", minD, pairs)
	}
	return nil
}

// dealIDs returns the ids of the deals a deals.update carries (nil if it
// does not decode).
func dealIDs(msg []byte) []uint64 {
	var n struct {
		Params []json.RawMessage `json:"params"`
	}
	if json.Unmarshal(msg, &n) != nil || len(n.Params) != 2 {
		return nil
	}
	var deals []struct {
		ID uint64 `json:"id"`
	}
	if json.Unmarshal(n.Params[1], &deals) != nil {
		return nil
	}
	ids := make([]uint64, len(deals))
	for i, d := range deals {
		ids[i] = d.ID
	}
	return ids
}

// idGaps describes a set of ids: range, count, duplicates and the ids
// missing inside the range.
func idGaps(ids []uint64) string {
	if len(ids) == 0 {
		return "none"
	}
	s := slices.Clone(ids)
	slices.Sort(s)
	u := slices.Compact(s)
	dups := len(s) - len(u)
	var missing []string
	nMissing := 0
	for k := 1; k < len(u); k++ {
		if gap := u[k] - u[k-1] - 1; gap > 0 {
			nMissing += int(gap)
			if len(missing) < 5 {
				missing = append(missing, fmt.Sprintf("%d..%d", u[k-1]+1, u[k]-1))
			}
		}
	}
	return fmt.Sprintf("%d..%d, %d distinct, %d duplicates, %d missing inside the range %v", u[0], u[len(u)-1], len(u), dups, nMissing, missing)
}
