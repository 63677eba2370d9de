// Command harness measures Bourse's throughput against latency: it injects
// one seeded workload (benchmarks/internal/workload) open loop at fixed,
// rising rates into each mode until the mode saturates, and reports the
// latency percentiles at every rate as a markdown table and a PNG plot.
//
//	harness [-modes book,inproc,sync,batch,http,baseline] [-step 2s] [-markets 10]
//	        [-users 1000] [-seed 1] [-ladder short|full] [-p99-max 100ms]
//	        [-out benchmarks/harness] [-bourse PATH] [-baseline PATH]
//
// Modes:
//
//   - book: the order books alone (book.Execute in one goroutine, one book per
//     market), no actors, no balances.
//   - inproc: a node (runtime.Start) without journal (journal.Discard); the
//     harness sends each command to the user's balance shard with protoactor
//     Send and a collector actor receives the replies.
//   - sync, batch: the same with a journal of segment files in a temporary
//     data directory, in that durability mode.
//   - http: a bourse process built from ./cmd/bourse (-durability
//     -http-durability, temporary data directory, websocket off) loaded with
//     JSON-RPC order.put_limit / order.put_market / order.cancel over
//     keep-alive HTTP connections (-conns).
//   - baseline: the bare net/http server of benchmarks/cmd/baseline, loaded
//     with the very same requests by the same client, in the same run; the
//     summary gives http as a ratio of it. (There is no websocket order
//     entry in Bourse, so there is no websocket mode.)
//
// Every mode starts from a fresh state: users 1..-users funded in every asset
// (so no order is refused for balance), every market pre-filled with 1,000
// resting orders over 750 levels (untimed), then the stream. The stream
// continues from step to step, so each step sees the books the previous one
// left.
//
// Open loop: in a step at rate R, command i (counted from the step's start t0)
// is due at t0 + i/R, whatever happened before; the sender waits until the
// next command is due (-pace) and then sends everything due. Latency is measured from
// the due time to the reply, so a stall shows up as latency of every command
// due during it (no coordinated omission). A step is saturated when the
// achieved rate (commands ÷ time from t0 to the last reply) is below 90 % of
// R or its p99 exceeds -p99-max; the mode stops after its first saturated
// step. Progress is printed every second.
//
// Output: the table on stdout and in OUT.md, and OUT-<mode>.png (throughput
// against latency percentiles, log-log) plus OUT.png (p99 of every mode).
// CPU columns: the cores used by the harness process, by the bourse process
// (http, baseline) and by everything else on the machine (from /proc/stat),
// averaged over the step.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
	"github.com/bourse-exchange/bourse/benchmarks/internal/workload"
	"github.com/bourse-exchange/bourse/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}

type options struct {
	modes    []string
	step     time.Duration
	warmup   time.Duration
	markets  int
	users    int
	seed     uint64
	ladder   string
	p99Max   time.Duration
	out      string
	bourse   string
	baseline string
	conns    int
	httpDur  string
	maxRate  float64
	shards   int
	pace     string
	commit   string
	replot   string
}

var allModes = []string{"book", "inproc", "sync", "batch", "http", "baseline"}

// startRate is the first rate of each mode's ladder: about a tenth of what
// it sustains on the 2-core machine of RESULTS.md.
var startRate = map[string]float64{
	"book": 20000, "inproc": 10000, "sync": 5000, "batch": 10000, "http": 1000, "baseline": 1000,
}

// ladders: rates are start × 10^k × each factor, rising.
var ladders = map[string][]float64{
	"short": {1, 2, 5},
	"full":  {1, 1.5, 2, 3, 5, 7},
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("harness", flag.ContinueOnError)
	fs.SetOutput(out)
	modes := fs.String("modes", strings.Join(allModes, ","), "modes to run, in order: "+strings.Join(allModes, ","))
	fs.DurationVar(&o.step, "step", 2*time.Second, "duration of the commands of one rate step")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "an unmeasured step at the first rate before the ladder (start-up work, page cache, first fsyncs); 0: none")
	fs.IntVar(&o.markets, "markets", 10, "markets (M000…, each its stock against USD)")
	fs.IntVar(&o.users, "users", 1000, "users 1..N")
	fs.Uint64Var(&o.seed, "seed", 1, "workload seed")
	fs.StringVar(&o.ladder, "ladder", "short", "rate ladder: short (1, 2, 5 × 10^k) or full (1, 1.5, 2, 3, 5, 7 × 10^k)")
	fs.DurationVar(&o.p99Max, "p99-max", 100*time.Millisecond, "a step whose p99 exceeds this is saturated")
	fs.StringVar(&o.out, "out", "benchmarks/harness", "output prefix: OUT.md, OUT.png, OUT-<mode>.png")
	fs.StringVar(&o.bourse, "bourse", "", "bourse binary for mode http (default: go build ./cmd/bourse)")
	fs.StringVar(&o.baseline, "baseline", "", "baseline binary for mode baseline (default: go build ./benchmarks/cmd/baseline)")
	fs.IntVar(&o.conns, "conns", 128, "HTTP client connections (one worker each)")
	fs.StringVar(&o.httpDur, "http-durability", "sync", "bourse -durability in mode http")
	fs.Float64Var(&o.maxRate, "max-rate", 5e6, "highest rate tried")
	fs.IntVar(&o.shards, "shards", 4, "balance_shards of the generated configuration")
	fs.StringVar(&o.replot, "replot", "", "only redraw the PNGs (at -out) from the detailed table of this harness .md file")
	fs.StringVar(&o.commit, "commit", "", "the commit measured, for the report (default: git rev-parse HEAD here, marked if the tree has changes)")
	fs.StringVar(&o.pace, "pace", "auto", "how the sender waits for a due time: sleep, spin, yield (spin with Gosched) or auto (spin for book, yield for inproc, sleep for sync, batch and HTTP)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, m := range strings.Split(*modes, ",") {
		if _, ok := startRate[m]; !ok {
			return nil, fmt.Errorf("unknown mode %q (modes: %s)", m, strings.Join(allModes, ","))
		}
		o.modes = append(o.modes, m)
	}
	switch {
	case ladders[o.ladder] == nil:
		return nil, fmt.Errorf("-ladder %q: short or full", o.ladder)
	case o.step < 100*time.Millisecond:
		return nil, errors.New("-step must be at least 100ms")
	case o.markets < 1 || o.markets > 1000:
		return nil, errors.New("-markets must be in 1..1000")
	case o.users < 1 || o.users > 1_000_000:
		return nil, errors.New("-users must be in 1..1000000")
	case o.conns < 1:
		return nil, errors.New("-conns must be at least 1")
	case o.pace != "auto" && o.pace != "sleep" && o.pace != "spin" && o.pace != "yield":
		return nil, fmt.Errorf("-pace %q: auto, sleep, spin or yield", o.pace)
	}
	return o, nil
}

// rates returns the ladder of mode: start × 10^k × factor, ≤ max.
func rates(start float64, factors []float64, maxRate float64) []float64 {
	var out []float64
	for p := 1.0; ; p *= 10 {
		for _, f := range factors {
			r := p * f * start / factors[0]
			if r > maxRate {
				return out
			}
			out = append(out, r)
		}
	}
}

// result is one step's measurement.
type result struct {
	n          int           // commands in the step
	elapsed    time.Duration // t0 → last reply
	hist       *hist.Histogram
	lag        *hist.Histogram  // send time − due time
	errs       map[string]int64 // refused commands by error
	unresolved int64            // cancels sent before their order's id was known
	unmatched  int64            // replies the harness could not attribute
}

// progress is what a target reports while a step runs.
type progress struct {
	sent, done atomic.Int64
}

// target is one mode's system under test.
type target interface {
	// setup funds the users and places the prefill (untimed).
	setup(ctx context.Context, prefill []workload.Cmd) error
	// step sends cmds (global indexes first, first+1, …) open loop at rate
	// and returns once every one is answered.
	step(ctx context.Context, cmds []workload.Cmd, first int, rate float64, pace pacer, p *progress) (*result, error)
	// pid is the server process measured, 0 if in process.
	pid() int
	close() error
}

// row is one line of the table.
type row struct {
	mode      string
	offered   float64
	achieved  float64
	p         [5]time.Duration // p50, p90, p99, p99.9, max
	lag       [2]time.Duration // send lag p50, p99
	errs      int64
	errKinds  string
	saturated bool
	cpuSelf   float64
	cpuServer float64
	cpuOthers float64
}

var quantiles = [4]float64{0.5, 0.9, 0.99, 0.999}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if o.replot != "" {
		b, err := os.ReadFile(o.replot)
		if err != nil {
			return err
		}
		rows, err := parseTable(string(b))
		if err != nil {
			return err
		}
		files, err := plots(o.out, rows)
		fmt.Fprintf(out, "wrote %s\n", strings.Join(files, " "))
		return err
	}
	harnessUsers = o.users
	cfgDoc := workload.Config(o.markets, o.shards)
	cfg, err := config.Parse(cfgDoc)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bourse-harness-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	load0 := loadavg()
	started := time.Now()
	fmt.Fprintf(out, "harness: modes %s, %d markets, %d users, seed %d, steps of %v, ladder %s; load average %s\n",
		strings.Join(o.modes, ","), o.markets, o.users, o.seed, o.step, o.ladder, load0)
	var rows []row
	var mix [4]int
	for _, mode := range o.modes {
		mr, counts, err := runMode(ctx, o, mode, cfg, cfgDoc, tmp, out)
		rows = append(rows, mr...)
		if counts[0]+counts[1]+counts[2]+counts[3] > mix[0]+mix[1]+mix[2]+mix[3] {
			mix = counts
		}
		if err != nil {
			return fmt.Errorf("mode %s: %w", mode, err)
		}
	}
	load1 := loadavg()
	md := table(o, rows, mix, args, load0, load1, time.Since(started))
	fmt.Fprint(out, "\n"+md)
	if err := os.WriteFile(o.out+".md", []byte(md), 0o644); err != nil {
		return err
	}
	files, err := plots(o.out, rows)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s.md %s\n", o.out, strings.Join(files, " "))
	return nil
}

func newTarget(ctx context.Context, o *options, mode string, cfg *config.Config, cfgDoc []byte, tmp string) (target, error) {
	switch mode {
	case "book":
		return newBookTarget(cfg), nil
	case "inproc", "sync", "batch":
		return newActorTarget(cfg, mode, tmp)
	case "http":
		bin, err := binary(ctx, o.bourse, "./cmd/bourse", tmp)
		if err != nil {
			return nil, err
		}
		return startHTTP(ctx, o, cfg, bin, cfgDoc, tmp, false)
	default: // baseline
		bin, err := binary(ctx, o.baseline, "./benchmarks/cmd/baseline", tmp)
		if err != nil {
			return nil, err
		}
		return startHTTP(ctx, o, cfg, bin, nil, tmp, true)
	}
}

// binary returns path, or builds pkg into dir if path is empty.
func binary(ctx context.Context, path, pkg, dir string) (string, error) {
	if path != "" {
		return path, nil
	}
	path = filepath.Join(dir, filepath.Base(pkg))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, pkg)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return path, nil
}

// runMode runs mode's ladder; it also returns the stream's command counts
// per kind.
func runMode(ctx context.Context, o *options, mode string, cfg *config.Config, cfgDoc []byte, tmp string, out io.Writer) (rows []row, counts [4]int, err error) {
	gen, err := workload.New(cfg.Markets, workload.Options{Seed: o.seed, Users: o.users})
	if err != nil {
		return nil, counts, err
	}
	defer func() { counts = gen.Counts() }()
	t, err := newTarget(ctx, o, mode, cfg, cfgDoc, tmp)
	if err != nil {
		return nil, counts, err
	}
	defer func() {
		if err := t.close(); err != nil {
			fmt.Fprintf(out, "%s: close: %v\n", mode, err)
		}
	}()
	t0 := time.Now()
	prefill := gen.Prefill()
	if err := t.setup(ctx, prefill); err != nil {
		return nil, counts, fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(out, "%s: funded %d users, pre-filled %d orders in %d markets in %v\n",
		mode, o.users, len(prefill), len(cfg.Markets), time.Since(t0).Round(time.Millisecond))

	var cmds []workload.Cmd
	ladder := rates(startRate[mode], ladders[o.ladder], o.maxRate)
	if o.warmup > 0 && len(ladder) > 0 {
		// Not measured: what a freshly started target does once (the
		// snapshot follower's first pass, first fsyncs, page faults)
		// would otherwise land in the first step.
		n := max(1, int(ladder[0]*o.warmup.Seconds()))
		first := gen.Produced()
		cmds = gen.Next(cmds[:0], n)
		fmt.Fprintf(out, "%s: warm-up, %v at %.0f/s (not measured)\n", mode, o.warmup, ladder[0])
		if _, err := measure(ctx, o, mode, t, cmds, first, ladder[0], out); err != nil {
			return rows, counts, err
		}
	}
	for _, rate := range ladder {
		if ctx.Err() != nil {
			return rows, counts, ctx.Err()
		}
		n := max(1, int(rate*o.step.Seconds()))
		first := gen.Produced()
		cmds = gen.Next(cmds[:0], n)
		if rj := gen.Rejects(); len(rj) > 0 {
			return rows, counts, fmt.Errorf("workload refused by its own books: %v", rj)
		}
		r, err := measure(ctx, o, mode, t, cmds, first, rate, out)
		if err != nil {
			return rows, counts, err
		}
		rows = append(rows, r)
		if r.saturated {
			break
		}
	}
	return rows, counts, nil
}

// measure runs one step with a progress line every second and CPU
// accounting.
func measure(ctx context.Context, o *options, mode string, t target, cmds []workload.Cmd, first int, rate float64, out io.Writer) (row, error) {
	var p progress
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		start := time.Now()
		var last int64
		lastT := start
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				d := p.done.Load()
				fmt.Fprintf(out, "  %-8s %9.0f/s %5.1fs  sent %8d  answered %8d  (%9.0f/s)\n", mode, rate,
					now.Sub(start).Seconds(), p.sent.Load(), d, float64(d-last)/now.Sub(lastT).Seconds())
				last, lastT = d, now
			}
		}
	}()
	c0 := sampleCPU(t.pid())
	res, err := t.step(ctx, cmds, first, rate, pacerFor(o.pace, mode), &p)
	c1 := sampleCPU(t.pid())
	close(stop)
	<-finished
	if err != nil {
		return row{}, err
	}
	r := row{mode: mode, offered: rate, achieved: float64(res.n) / res.elapsed.Seconds()}
	for i, q := range quantiles {
		r.p[i] = time.Duration(res.hist.Quantile(q))
	}
	r.p[4] = time.Duration(res.hist.Max())
	r.lag = [2]time.Duration{time.Duration(res.lag.Quantile(0.5)), time.Duration(res.lag.Quantile(0.99))}
	var kinds []string
	for k, v := range res.errs {
		r.errs += v
		kinds = append(kinds, fmt.Sprintf("%s ×%d", k, v))
	}
	if res.unresolved > 0 {
		kinds = append(kinds, fmt.Sprintf("unresolved cancel ×%d", res.unresolved))
	}
	if res.unmatched > 0 {
		kinds = append(kinds, fmt.Sprintf("unmatched reply ×%d", res.unmatched))
	}
	r.errKinds = strings.Join(kinds, ", ")
	r.saturated = r.achieved < 0.9*rate || r.p[2] > o.p99Max
	r.cpuSelf, r.cpuServer, r.cpuOthers = c1.cores(c0)
	sat := ""
	if r.saturated {
		sat = "  SATURATED"
	}
	fmt.Fprintf(out, "%-8s offered %9.0f/s achieved %9.0f/s  p50 %v p90 %v p99 %v p99.9 %v max %v  send lag p50 %v p99 %v  errors %d  cpu %.2f/%.2f/%.2f%s\n",
		mode, rate, r.achieved, r.p[0], r.p[1], r.p[2], r.p[3], r.p[4], r.lag[0], r.lag[1], r.errs, r.cpuSelf, r.cpuServer, r.cpuOthers, sat)
	if r.errKinds != "" {
		fmt.Fprintf(out, "         errors: %s\n", r.errKinds)
	}
	return r, nil
}

// A pacer waits until due (an offset from t0) if it is in the future and
// returns the time then.
type pacer func(t0 time.Time, due time.Duration) time.Duration

// paceSleep sleeps: cheap, but the wake-up comes late by the timer's slack
// (tens of µs on a quiet machine, more on a busy one), which shows as send
// lag and adds to latency.
func paceSleep(t0 time.Time, due time.Duration) time.Duration {
	now := time.Since(t0)
	if d := due - now; d > 0 {
		time.Sleep(d)
		now = time.Since(t0)
	}
	return now
}

// paceSpin busy-waits: exact, but the thread never sleeps.
func paceSpin(t0 time.Time, due time.Duration) time.Duration {
	now := time.Since(t0)
	for now < due {
		now = time.Since(t0)
	}
	return now
}

// paceYield busy-waits with runtime.Gosched, so goroutines of this process
// (the actors under test) run on the sender's P whenever they have work.
func paceYield(t0 time.Time, due time.Duration) time.Duration {
	now := time.Since(t0)
	for now < due {
		goruntime.Gosched()
		now = time.Since(t0)
	}
	return now
}

// pacerFor is -pace for mode. auto spins in mode book (the book runs in the
// pacing goroutine anyway); yields in mode inproc (sleeping would add the
// timer's slack, ~0.4 ms on the VM of RESULTS.md, to every latency); sleeps
// in modes sync and batch (a Gosched-spinning sender delays the journal
// writer's return from write/fsync: sync p50 1.6 ms instead of 0.5 ms at
// 5,000/s) and for HTTP (a spinning client would take a core from the
// server process). The table shows the send lag this leaves.
func pacerFor(pace, mode string) pacer {
	switch pace {
	case "sleep":
		return paceSleep
	case "spin":
		return paceSpin
	case "yield":
		return paceYield
	}
	switch mode {
	case "book":
		return paceSpin
	case "inproc":
		return paceYield
	}
	return paceSleep
}

// dueAt is the due offset of the i-th command of a step at rate.
func dueAt(i int, rate float64) time.Duration {
	return time.Duration(float64(i) * 1e9 / rate)
}
