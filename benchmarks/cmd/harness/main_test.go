package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/benchmarks/internal/workload"
	"github.com/bourse-exchange/bourse/internal/config"
)

func TestRates(t *testing.T) {
	got := rates(1000, ladders["short"], 60000)
	want := []float64{1000, 2000, 5000, 10000, 20000, 50000}
	if len(got) != len(want) {
		t.Fatalf("rates = %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rates = %v; want %v", got, want)
		}
	}
	if f := rates(20000, ladders["full"], 1e6); f[0] != 20000 || f[1] != 30000 || f[6] != 200000 {
		t.Errorf("full ladder from 20k = %v", f)
	}
}

func TestAppendFixedAndOrderID(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{{1000000, 4, "100.0000"}, {10, 4, "0.0010"}, {5, 0, "5"}, {0, 2, "0.00"}} {
		if got := string(appendFixed(nil, c.v, c.scale)); got != c.want {
			t.Errorf("appendFixed(%d, %d) = %q; want %q", c.v, c.scale, got, c.want)
		}
	}
	if id := orderID([]byte(`{"error":null,"result":{"id":123456,"market":"M000"},"id":7}`)); id != 123456 {
		t.Errorf("orderID = %d", id)
	}
	if id := orderID([]byte(`{"error":{"code":10,"message":"order not found"},"result":null,"id":7}`)); id != 0 {
		t.Errorf("orderID of an error = %d", id)
	}
}

func TestBodies(t *testing.T) {
	cfg, err := config.Parse(workload.Config(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	ht := &httpTarget{cfg: cfg}
	for _, c := range []struct {
		cmd  workload.Cmd
		id   uint64
		want string
	}{
		{workload.Cmd{Kind: workload.Rest, Market: 1, User: 7, Side: 2, Price: 999990, Amount: 30}, 0,
			`{"method":"order.put_limit","params":[7,"M001",2,"0.0030","99.9990","0.002","0.001","harness"],"id":5}`},
		{workload.Cmd{Kind: workload.Market, Market: 0, User: 8, Side: 1, Amount: 20}, 0,
			`{"method":"order.put_market","params":[8,"M000",1,"0.0020","0.002","harness"],"id":5}`},
		{workload.Cmd{Kind: workload.Cancel, Market: 0, User: 9, Ref: 3}, 4096,
			`{"method":"order.cancel","params":[9,"M000",4096],"id":5}`},
	} {
		if got := string(ht.body(nil, &c.cmd, c.id, 5)); got != c.want {
			t.Errorf("body(%+v) =\n%s\nwant\n%s", c.cmd, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	rows := []row{
		{mode: "a", offered: 1000, achieved: 1000},
		{mode: "a", offered: 2000, achieved: 2000},
		{mode: "a", offered: 5000, achieved: 4000, saturated: true},
		{mode: "b", offered: 10, achieved: 5, saturated: true},
	}
	s := summarize(rows)
	if len(s) != 2 || s[0].sustained != 2000 || s[0].peak != 4000 || s[0].half == nil || s[0].half.offered != 1000 {
		t.Errorf("summary a = %+v", s[0])
	}
	if s[1].sustained != 0 || s[1].half != nil || !s[1].saturated {
		t.Errorf("summary b = %+v", s[1])
	}
}

// TestModes runs the in-process modes briefly at a low rate: every command
// answered, none refused, every reply attributed, every cancel resolved to
// an id the engine gave, and the output files written.
func TestModes(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	args := []string{"-modes", "book,inproc,batch", "-step", "300ms", "-markets", "3", "-users", "200",
		"-max-rate", "20000", "-out", filepath.Join(dir, "h")}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	md, err := os.ReadFile(filepath.Join(dir, "h.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"book", "inproc", "batch"} {
		if !strings.Contains(string(md), "| "+mode+" | ") {
			t.Errorf("table has no %s row:\n%s", mode, md)
		}
		if _, err := os.Stat(filepath.Join(dir, "h-"+mode+".png")); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "h.png")); err != nil {
		t.Error(err)
	}
	rows, err := parseTable(string(md))
	if err != nil || len(rows) < 3 || rows[0].mode != "book" || rows[0].offered != 20000 || rows[0].p[0] <= 0 || rows[0].p[4] < rows[0].p[0] {
		t.Errorf("parseTable: %v, %+v", err, rows)
	}
	if err := run(context.Background(), []string{"-replot", filepath.Join(dir, "h.md"), "-out", filepath.Join(dir, "r")}, &out); err != nil {
		t.Error(err)
	} else if _, err := os.Stat(filepath.Join(dir, "r-book.png")); err != nil {
		t.Error(err)
	}
	// Errors may only come from cancels sent before their order's reply
	// (possible when the machine is slow); a reply the harness cannot
	// attribute is a bug.
	for _, line := range strings.Split(string(md), "\n") {
		f := strings.Split(line, "|")
		if strings.Contains(line, "unmatched") || len(f) == 14 && f[1] == " book " && f[10] != " 0 " {
			t.Errorf("bad row: %s", line)
		}
	}
	if testing.Verbose() {
		t.Log(out.String())
	}
}

func TestActorTargetAttributes(t *testing.T) {
	cfg, err := config.Parse(workload.Config(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := workload.New(cfg.Markets, workload.Options{Seed: 2, Users: 100, MinAge: 2000})
	if err != nil {
		t.Fatal(err)
	}
	harnessUsers = 100
	defer func() { harnessUsers = 1000 }()
	tg, err := newActorTarget(cfg, "inproc", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.close()
	ctx := context.Background()
	if err := tg.setup(ctx, gen.Prefill()); err != nil {
		t.Fatal(err)
	}
	first := gen.Produced()
	cmds := gen.Next(nil, 5000)
	res, err := tg.step(ctx, cmds, first, 10000, paceYield, &progress{})
	if err != nil {
		t.Fatal(err)
	}
	var errs int64
	for _, v := range res.errs {
		errs += v
	}
	// A cancel sent before its order's reply came back (unresolved) may
	// miss; nothing else should fail.
	if res.n != 5000 || res.unmatched > 0 || errs > res.unresolved+10 {
		t.Fatalf("n %d, errors %v, unmatched %d, unresolved %d", res.n, res.errs, res.unmatched, res.unresolved)
	}
	if got := res.hist.Count(); got != uint64(5000-errs) {
		t.Errorf("%d latencies recorded; want %d", got, 5000-errs)
	}
	if res.elapsed < 400*time.Millisecond {
		t.Errorf("5000 commands at 10000/s took %v; the pacing is broken", res.elapsed)
	}
	// Every placement's reply was attributed: it has its own id.
	seen := map[uint64]bool{}
	for i, c := range cmds {
		if c.Placement() {
			id := tg.ids[first+i].Load()
			if id == 0 || seen[id] {
				t.Fatalf("command %d (%+v): id %d (0: never attributed)", first+i, c, id)
			}
			seen[id] = true
		}
	}
}
