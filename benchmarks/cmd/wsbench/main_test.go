package main

import (
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPercentile checks the nearest-rank definition against a count: the
// result is an element of the data, at least ⌈q·n⌉ values are ≤ it and
// fewer than that are < it.
func TestPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 100, 101, 1000, 10000} {
		data := make([]time.Duration, n)
		for i := range data {
			data[i] = time.Duration(rng.IntN(50)) // duplicates on purpose
		}
		slices.Sort(data)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
			got := percentile(data, q)
			need := 0 // ⌈q·n⌉ computed with integers: q is a multiple of 0.001
			for need*1000 < int(q*1000+0.5)*n {
				need++
			}
			need = max(need, 1)
			le, lt := 0, 0
			for _, v := range data {
				if v <= got {
					le++
				}
				if v < got {
					lt++
				}
			}
			if !slices.Contains(data, got) || le < need || lt >= need {
				t.Errorf("n=%d: percentile(%v) = %v; want the value of rank %d (≤: %d, <: %d)", n, q, got, need, le, lt)
			}
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil, 0.5) = %v; want 0", got)
	}
	exact := []time.Duration{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}
	for q, want := range map[float64]time.Duration{0.5: 50, 0.99: 100, 0.1: 10, 0.11: 20, 1: 100} {
		if got := percentile(exact, q); got != want {
			t.Errorf("percentile(10..100, %v) = %v; want %v", q, got, want)
		}
	}
}

func TestFixed(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{
		{9000000, 2, "90000"},
		{8999999, 2, "89999.99"},
		{8999990, 2, "89999.9"},
		{10000, 8, "0.0001"},
		{1, 8, "0.00000001"},
		{0, 8, "0"},
		{123, 0, "123"},
		{100, 3, "0.1"},
	} {
		if got := formatFixed(c.v, c.scale); got != c.want {
			t.Errorf("formatFixed(%d, %d) = %q; want %q", c.v, c.scale, got, c.want)
		}
		if back, err := parseFixed(c.want, c.scale); err != nil || back != c.v {
			t.Errorf("parseFixed(%q, %d) = %d, %v; want %d", c.want, c.scale, back, err, c.v)
		}
	}
	if got, err := parseFixed("1.23456", 2); err != nil || got != 123 {
		t.Errorf("parseFixed(1.23456, 2) = %d, %v; want 123 (truncated)", got, err)
	}
	for _, bad := range []string{"-1", "+1", "x", "1e3", "1.-2"} {
		if _, err := parseFixed(bad, 2); err == nil {
			t.Errorf("parseFixed(%q) accepted", bad)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-mode", "idle", "-pid", "42", "-conns", "100000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.sources != 10 {
		t.Errorf("-conns 100000: sources = %d; want 10 (one per 10000)", o.sources)
	}
	o, err = parseFlags([]string{"-mode", "throughput", "-markets", "BTCUSDT, ETHUSDT,", "-bin-args", "-config  x.yaml"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.markets, []string{"BTCUSDT", "ETHUSDT"}) || !slices.Equal(o.binArgs, []string{"-config", "x.yaml"}) {
		t.Errorf("markets = %q, bin args = %q", o.markets, o.binArgs)
	}
	for _, args := range [][]string{
		{"-mode", "nope"},
		{"-mode", "idle"}, // no -pid nor -bin
		{"-mode", "fanout", "-bin", "b", "-pid", "1"},
		{"-mode", "fanout", "-conns", "0"},
		{"-mode", "fanout", "-sources", "255"},
		{"-mode", "fanout", "-rounds", "0"},
		{"-mode", "fanout", "-price", "-3"},
		{"-mode", "throughput", "-channel", "kline"},
		{"-mode", "throughput", "-rate", "0"},
		{"-mode", "fanout", "extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestSourceAddr(t *testing.T) {
	seen := map[string]int{}
	for i := range 10 {
		seen[sourceAddr(i, 3).String()]++
	}
	want := map[string]int{"127.0.0.1": 4, "127.0.0.2": 3, "127.0.0.3": 3}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("sourceAddr over 10 connections, 3 sources: %s used %d times; want %d (%v)", k, seen[k], v, seen)
		}
	}
	if !sourceAddr(7, 5).IsLoopback() || sourceAddr(7, 5).To4() == nil || !sourceAddr(0, 1).Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("sourceAddr not IPv4 loopback")
	}
}

func TestNotifications(t *testing.T) {
	for _, c := range []struct {
		msg, method string
		want        bool
	}{
		{`{"method":"depth.update","params":[true,{},"BTCUSDT"],"id":null}`, "depth.update", true},
		{`{"id":null, "method" : "depth.update","params":[]}`, "depth.update", true},
		{`{"method":"deals.update","params":["BTCUSDT",[]],"id":null}`, "depth.update", false},
		{`{"error":null,"result":"depth.update","id":1}`, "depth.update", false},
		{`{"method":"depth.updated","params":[]}`, "depth.update", false},
	} {
		if got := isNotification([]byte(c.msg), c.method); got != c.want {
			t.Errorf("isNotification(%s, %s) = %v; want %v", c.msg, c.method, got, c.want)
		}
	}
	n, err := dealsCount([]byte(`{"method":"deals.update","params":["BTCUSDT",[{"id":2},{"id":1}]],"id":null}`))
	if err != nil || n != 2 {
		t.Errorf("dealsCount = %d, %v; want 2", n, err)
	}
	if _, err := dealsCount([]byte(`{"method":"deals.update","params":["BTCUSDT"]}`)); err == nil {
		t.Errorf("dealsCount accepted a deals.update without deals")
	}
}

func TestProcFiles(t *testing.T) {
	limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max cpu time              unlimited            unlimited            seconds   \n" +
		"Max open files            20000                20000                files     \n"
	if got, err := parseLimits([]byte(limits)); err != nil || got != 20000 {
		t.Errorf("parseLimits = %d, %v; want 20000", got, err)
	}
	if _, err := parseLimits([]byte("Max cpu time unlimited\n")); err == nil {
		t.Errorf("parseLimits without the line accepted")
	}
	status := strings.Join([]string{"Name:\tbourse", "VmHWM:\t  40000 kB", "VmRSS:\t   33900 kB", "Threads:\t8"}, "\n")
	for name, want := range map[string]int64{"VmRSS": 33900, "VmHWM": 40000, "Threads": 8} {
		if got, err := statusField([]byte(status), name); err != nil || got != want {
			t.Errorf("statusField(%s) = %d, %v; want %d", name, got, err, want)
		}
	}
	if _, err := statusField([]byte(status), "VmSwap"); err == nil {
		t.Errorf("statusField(VmSwap) found a missing field")
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 130 ticks; the command
	// name holds a space and a parenthesis.
	stat := "4242 (bo) ur se) R 1 4242 4242 0 -1 4194304 1000 0 0 0 250 130 0 0 20 0 10 0 5000 100000 2000"
	if got, err := parseStatCPU([]byte(stat)); err != nil || got != 3800*time.Millisecond {
		t.Errorf("parseStatCPU = %v, %v; want 3.8s", got, err)
	}
	if _, err := parseStatCPU([]byte("4242 (x) R 1 2")); err == nil {
		t.Errorf("parseStatCPU accepted a short stat")
	}
}

func TestIDGaps(t *testing.T) {
	got := idGaps([]uint64{7, 3, 4, 4, 9, 10, 14})
	want := "3..14, 6 distinct, 1 duplicates, 6 missing inside the range [5..6 8..8 11..13]"
	if got != want {
		t.Errorf("idGaps = %q; want %q", got, want)
	}
	ids := dealIDs([]byte(`{"method":"deals.update","params":["BTCUSDT",[{"id":12,"price":"1"},{"id":11,"price":"1"}]],"id":null}`))
	if !slices.Equal(ids, []uint64{12, 11}) {
		t.Errorf("dealIDs = %v; want [12 11]", ids)
	}
}
