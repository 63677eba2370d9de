package main

import (
	"fmt"
	"image/color"
	"math"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// fmtDur prints d with 3 significant digits in ns, µs, ms or s.
func fmtDur(d time.Duration) string {
	v := float64(d)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d)
	case d < time.Millisecond:
		return sig3(v/1e3) + " µs"
	case d < time.Second:
		return sig3(v/1e6) + " ms"
	default:
		return sig3(v/1e9) + " s"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// fmtRate prints a rate with thousands as k and millions as M.
func fmtRate(r float64) string {
	switch {
	case r >= 1e6:
		return strings.TrimSuffix(fmt.Sprintf("%.2f", r/1e6), ".00") + "M"
	case r >= 1e3:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", r/1e3), ".0") + "k"
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// summary is one mode's headline: the highest rate it sustained and its
// latency at about half of that.
type summary struct {
	mode      string
	sustained float64 // highest offered rate of a step that was not saturated (0: none)
	peak      float64 // highest achieved rate of any step
	saturated bool    // the ladder ended in a saturated step (else it hit -max-rate)
	half      *row    // the step closest to half of sustained, at or below it
}

func summarize(rows []row) []summary {
	var out []summary
	for i := 0; i < len(rows); {
		j := i
		s := summary{mode: rows[i].mode}
		for ; j < len(rows) && rows[j].mode == s.mode; j++ {
			r := &rows[j]
			s.peak = max(s.peak, r.achieved)
			if r.saturated {
				s.saturated = true
			} else {
				s.sustained = max(s.sustained, r.offered)
			}
		}
		for k := i; k < j; k++ {
			r := &rows[k]
			if !r.saturated && r.offered <= s.sustained/2*1.05 && (s.half == nil || r.offered > s.half.offered) {
				s.half = r
			}
		}
		if s.half == nil && s.sustained > 0 {
			for k := i; k < j; k++ {
				if rows[k].offered == s.sustained {
					s.half = &rows[k]
				}
			}
		}
		out = append(out, s)
		i = j
	}
	return out
}

func commit() string {
	b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "?"
	}
	c := strings.TrimSpace(string(b))
	if err := exec.Command("git", "diff", "--quiet", "HEAD", "--", ".").Run(); err != nil {
		c += " (with uncommitted changes)"
	}
	return c
}

// table renders the run as markdown.
func table(o *options, rows []row, mix [4]int, args []string, load0, load1 string, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- written by benchmarks/cmd/harness; do not edit -->\n")
	fmt.Fprintf(&b, "Command: `harness %s` (%s, %d markets, %d users, seed %d, steps of %v)  \n",
		strings.Join(args, " "), o.ladder, o.markets, o.users, o.seed, o.step)
	c := o.commit
	if c == "" {
		c = commit()
	}
	fmt.Fprintf(&b, "Run: %s, took %v, commit %s, %s %s/%s, %d CPUs; load average before %s, after %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second), c, runtime.Version(),
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), load0, load1)

	fmt.Fprintf(&b, "Modes: book = book.Execute alone, one goroutine; inproc = runtime.Start without journal, protoactor Send to the shard/market and a collector actor; "+
		"sync, batch = the same with a segment-file journal in that durability mode; http = a bourse process (-durability %s) over %d keep-alive connections; "+
		"baseline = benchmarks/cmd/baseline (bare net/http) with the same client and requests. Latency = due time → reply (open loop); send lag = how late the sender sent (pacing: %s). "+
		"Workload: %d markets, 1,000 resting orders over 750 levels each before the run; then %s resting limits, %s crossing limits, %s market orders, %s cancels; Zipf over markets and users.\n\n",
		o.httpDur, o.conns, paceNote(o.pace), o.markets, pct(mix, 0), pct(mix, 1), pct(mix, 2), pct(mix, 3))
	sums := summarize(rows)
	b.WriteString("| mode | sustained (offered, < p99-max, ≥ 90 % achieved) | peak achieved | at about half load: rate | p50 | p99 | p99.9 |\n|---|---|---|---|---|---|---|\n")
	var httpS, baseS float64
	for _, s := range sums {
		sus := fmtRate(s.sustained) + "/s"
		if !s.saturated {
			sus = "≥ " + sus + " (not saturated)"
		}
		if s.sustained == 0 {
			sus = "none (first step saturated)"
		}
		h := "| — | — | — | — |"
		if s.half != nil {
			h = fmt.Sprintf("| %s/s | %s | %s | %s |", fmtRate(s.half.offered), fmtDur(s.half.p[0]), fmtDur(s.half.p[2]), fmtDur(s.half.p[3]))
		}
		fmt.Fprintf(&b, "| %s | %s | %s/s %s\n", s.mode, sus, fmtRate(s.peak), h)
		switch s.mode {
		case "http":
			httpS = s.sustained
		case "baseline":
			baseS = s.sustained
		}
	}
	if httpS > 0 && baseS > 0 {
		fmt.Fprintf(&b, "\nhttp ÷ baseline (sustained rates, same run): %.2f\n", httpS/baseS)
	}
	b.WriteString("\n| mode | offered/s | achieved/s | p50 | p90 | p99 | p99.9 | max | send lag p50 / p99 | errors | cpu cores: harness / server / others | |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		sat := ""
		if r.saturated {
			sat = "saturated"
		}
		errs := fmt.Sprint(r.errs)
		if r.errKinds != "" {
			errs += " (" + r.errKinds + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %.2f / %.2f / %.2f | %s |\n",
			r.mode, fmtRate(r.offered), fmtRate(r.achieved), fmtDur(r.p[0]), fmtDur(r.p[1]), fmtDur(r.p[2]),
			fmtDur(r.p[3]), fmtDur(r.p[4]), fmtDur(r.lag[0]), fmtDur(r.lag[1]), errs, r.cpuSelf, r.cpuServer, r.cpuOthers, sat)
	}
	return b.String()
}

var pctNames = [5]string{"p50", "p90", "p99", "p99.9", "max"}

// plots writes PREFIX-<mode>.png (every percentile of one mode) and
// PREFIX.png (p99 of every mode): achieved throughput on x, latency in ms on
// y, both logarithmic.
func plots(prefix string, rows []row) ([]string, error) {
	var files []string
	byMode := map[string][]row{}
	var modes []string
	for _, r := range rows {
		if byMode[r.mode] == nil {
			modes = append(modes, r.mode)
		}
		byMode[r.mode] = append(byMode[r.mode], r)
	}
	for _, m := range modes {
		var lines []any
		for i, name := range pctNames {
			lines = append(lines, name, points(byMode[m], i))
		}
		f := prefix + "-" + m + ".png"
		if err := savePlot(f, "Bourse harness: "+m+" (open loop)", lines); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	var lines []any
	for _, m := range modes {
		lines = append(lines, m+" p99", points(byMode[m], 2))
	}
	f := prefix + ".png"
	if err := savePlot(f, "Bourse harness: p99 latency vs throughput, every mode", lines); err != nil {
		return files, err
	}
	return append(files, f), nil
}

func points(rows []row, pct int) plotter.XYs {
	var xy plotter.XYs
	for _, r := range rows {
		ms := float64(r.p[pct]) / 1e6
		if r.achieved <= 0 || ms <= 0 {
			continue
		}
		xy = append(xy, plotter.XY{X: r.achieved, Y: ms})
	}
	return xy
}

func savePlot(file, title string, lines []any) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "achieved throughput (commands/s)"
	p.Y.Label.Text = "latency from due time (ms)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	// Log axes need positive bounds: pad the data range.
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := 1; i < len(lines); i += 2 {
		for _, pt := range lines[i].(plotter.XYs) {
			minX, maxX = min(minX, pt.X), max(maxX, pt.X)
			minY, maxY = min(minY, pt.Y), max(maxY, pt.Y)
		}
	}
	if math.IsInf(minX, 1) {
		minX, maxX, minY, maxY = 1, 10, 0.001, 1
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return err
	}
	p.X.Min, p.X.Max = minX/1.5, maxX*1.5
	p.Y.Min, p.Y.Max = minY/2, maxY*2
	p.BackgroundColor = color.White
	return p.Save(9*vg.Inch, 6*vg.Inch, file)
}

func pct(mix [4]int, k int) string {
	n := mix[0] + mix[1] + mix[2] + mix[3]
	if n == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(mix[k])/float64(n))
}

func paceNote(p string) string {
	if p == "auto" {
		return "spin for book, Gosched-spin for inproc, sleep for the others"
	}
	return p
}

// parseTable reads back the detailed rows (mode, offered, achieved and the
// five percentiles) of a table written by table.
func parseTable(md string) ([]row, error) {
	var rows []row
	for _, line := range strings.Split(md, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 14 || strings.TrimSpace(f[1]) == "mode" || strings.HasPrefix(f[1], "-") {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		r := row{mode: f[1], saturated: f[12] == "saturated"}
		var err error
		if r.offered, err = parseRate(f[2]); err != nil {
			return nil, err
		}
		if r.achieved, err = parseRate(f[3]); err != nil {
			return nil, err
		}
		for i := range 5 {
			if r.p[i], err = parseDur(f[4+i]); err != nil {
				return nil, err
			}
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no rows found")
	}
	return rows, nil
}

func parseRate(s string) (float64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", s, err)
	}
	return v * mult, nil
}

func parseDur(s string) (time.Duration, error) {
	v, unit, ok := strings.Cut(s, " ")
	if !ok {
		return 0, fmt.Errorf("duration %q", s)
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", s, err)
	}
	scale := map[string]float64{"ns": 1, "µs": 1e3, "ms": 1e6, "s": 1e9}[unit]
	if scale == 0 {
		return 0, fmt.Errorf("duration unit %q", unit)
	}
	return time.Duration(x * scale), nil
}
