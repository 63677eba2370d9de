package workload

import (
	"slices"
	"sort"
	"testing"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

func markets(t *testing.T, n int) []*config.Market {
	t.Helper()
	cfg, err := config.Parse(Config(n, 4))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Markets) != n {
		t.Fatalf("Config(%d) has %d markets", n, len(cfg.Markets))
	}
	return cfg.Markets
}

func stream(t *testing.T, n int, o Options, count int) (*Generator, []Cmd) {
	t.Helper()
	g, err := New(markets(t, n), o)
	if err != nil {
		t.Fatal(err)
	}
	cmds := append([]Cmd(nil), g.Prefill()...)
	return g, g.Next(cmds, count)
}

func TestDeterministicBySeed(t *testing.T) {
	_, a := stream(t, 5, Options{Seed: 7}, 20000)
	_, b := stream(t, 5, Options{Seed: 7}, 20000)
	if !slices.Equal(a, b) {
		t.Fatal("two generators with seed 7 produced different streams")
	}
	_, c := stream(t, 5, Options{Seed: 8}, 20000)
	if slices.Equal(a, c) {
		t.Fatal("seeds 7 and 8 produced the same stream")
	}
}

func TestPrefill(t *testing.T) {
	g, cmds := stream(t, 3, Options{}, 0)
	if len(cmds) != 3*1000 {
		t.Fatalf("prefill has %d commands; want 3000", len(cmds))
	}
	for i := range 3 {
		if r := g.Resting(i); r != 1000 {
			t.Errorf("market %d: %d resting after the prefill; want 1000 (none crosses)", i, r)
		}
		levels := map[int64]bool{}
		for _, c := range cmds[i*1000 : (i+1)*1000] {
			if c.Kind != Rest || c.Market != i {
				t.Fatalf("prefill command %+v", c)
			}
			levels[c.Price] = true
		}
		if len(levels) != 750 {
			t.Errorf("market %d: prefill over %d levels; want 750", i, len(levels))
		}
	}
}

// TestMix checks the stream's kinds against Options.Mix (within the
// rebalancing), that no command is refused by the generator's own books,
// that the books keep about Prefill orders, and that replaying the stream on
// fresh books gives the same ids (SimID) and refuses nothing: every cancel
// names an order resting at that point, placed by command Ref.
func TestMix(t *testing.T) {
	const n = 100000
	g, cmds := stream(t, 4, Options{Seed: 3}, n)
	if len(g.Rejects()) > 0 {
		t.Fatalf("generator's books refused commands: %v", g.Rejects())
	}
	counts := g.Counts()
	want := Defaults.Mix
	for k := range nKinds {
		got := 100 * float64(counts[k]) / n
		if d := got - float64(want[k]); d < -3 || d > 3 {
			t.Errorf("%v: %.1f %% of the stream; want %d ± 3", k, got, want[k])
		}
	}
	t.Logf("kinds %v of %d; per market %v", counts, n, g.PerMarket())
	for i := range 4 {
		t.Logf("market %d: %d resting", i, g.Resting(i))
		if r := g.Resting(i); r < 800 || r > 1200 {
			t.Errorf("market %d: %d resting after the stream; want about 1000", i, r)
		}
	}

	ms := g.Markets()
	books := make([]*book.Book, len(ms))
	for i, m := range ms {
		books[i] = book.New(actors.BookConfig(m))
	}
	for i, c := range cmds {
		if c.Kind == Cancel {
			ref := cmds[c.Ref]
			if !ref.Placement() || ref.SimID != c.SimID || ref.Market != c.Market || ref.User != c.User || c.Ref >= i ||
				c.Ref >= 4*1000 && c.Ref > i-Defaults.MinAge {
				t.Fatalf("cancel %d (%+v) refers to command %d (%+v)", i, c, c.Ref, ref)
			}
		}
		_, o, err := books[c.Market].Execute(c.Message(ms[c.Market], c.SimID, int64(i+1)))
		if err != nil {
			t.Fatalf("command %d (%+v) refused on replay: %v", i, c, err)
		}
		if c.Placement() && o.ID != c.SimID {
			t.Fatalf("command %d: id %d on replay; SimID %d", i, o.ID, c.SimID)
		}
		if c.Kind == Market && o.DealStock == 0 {
			t.Fatalf("market order %d (%+v) did not trade", i, c)
		}
		if c.Kind == Rest && o.DealStock != 0 {
			t.Fatalf("rest order %d (%+v) traded", i, c)
		}
	}
}

// TestSkew checks that activity is skewed over markets and users: the busiest
// market and the busiest 10 % of users carry far more than a uniform share.
func TestSkew(t *testing.T) {
	const n = 50000
	g, _ := stream(t, 20, Options{Seed: 5}, n)
	per := g.PerMarket()
	sort.Sort(sort.Reverse(sort.IntSlice(per)))
	if top := float64(per[0]) / n; top < 0.2 {
		t.Errorf("busiest of 20 markets has %.2f of the stream; want ≥ 0.2 (uniform: 0.05)", top)
	}
	if per[len(per)-1] == 0 {
		t.Errorf("a market got no command at all: %v", per)
	}
	var users []int
	for _, c := range g.PerUser() {
		users = append(users, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(users)))
	top := 0
	for _, c := range users[:100] {
		top += c
	}
	if f := float64(top) / n; f < 0.5 {
		t.Errorf("busiest 100 of 1000 users have %.2f of the stream; want ≥ 0.5 (uniform: 0.1)", f)
	}
}

func TestOneMarket(t *testing.T) {
	g, cmds := stream(t, 1, Options{Seed: 1}, 5000)
	if len(cmds) != 6000 || len(g.Rejects()) > 0 {
		t.Fatalf("%d commands, rejects %v", len(cmds), g.Rejects())
	}
	for _, c := range cmds {
		if c.Market != 0 || c.Side != messages.Ask && c.Side != messages.Bid {
			t.Fatalf("command %+v", c)
		}
	}
}

func TestOptionsChecked(t *testing.T) {
	ms := markets(t, 1)
	for _, o := range []Options{
		{Mix: [nKinds]int{50, 50, 50, 0}},
		{MarketSkew: 1},
		{Levels: 2000000},
	} {
		if _, err := New(ms, o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
}
