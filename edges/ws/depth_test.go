package ws

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
)

// applyDiff is the client's side of docs/protocol.md "Depth diffs", written from the spec:
// set or delete (amount 0) each level, sort best first, keep limit.
func applyDiff(old, diff []messages.DepthLevel, limit int, ask bool) []messages.DepthLevel {
	m := map[int64]int64{}
	for _, l := range old {
		m[l.Price] = l.Amount
	}
	for _, l := range diff {
		if l.Amount == 0 {
			delete(m, l.Price)
		} else {
			m[l.Price] = l.Amount
		}
	}
	out := []messages.DepthLevel{}
	for p, a := range m {
		out = append(out, messages.DepthLevel{Price: p, Amount: a})
	}
	sort.Slice(out, func(i, j int) bool {
		if ask {
			return out[i].Price < out[j].Price
		}
		return out[i].Price > out[j].Price
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// randomSide returns up to limit distinct levels, best first.
func randomSide(r *rand.Rand, limit int, ask bool) []messages.DepthLevel {
	n := r.Intn(limit + 1)
	seen := map[int64]bool{}
	var out []messages.DepthLevel
	for len(out) < n {
		p := int64(90 + r.Intn(20))
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, messages.DepthLevel{Price: p, Amount: int64(1 + r.Intn(3))})
	}
	sort.Slice(out, func(i, j int) bool {
		if ask {
			return out[i].Price < out[j].Price
		}
		return out[i].Price > out[j].Price
	})
	return out
}

func TestDiffLevelsTable(t *testing.T) {
	lv := func(pa ...int64) []messages.DepthLevel {
		var out []messages.DepthLevel
		for i := 0; i < len(pa); i += 2 {
			out = append(out, messages.DepthLevel{Price: pa[i], Amount: pa[i+1]})
		}
		return out
	}
	tests := []struct {
		name     string
		old, new []messages.DepthLevel
		limit    int
		ask      bool
		want     []messages.DepthLevel
	}{
		{"unchanged", lv(1, 1, 2, 2), lv(1, 1, 2, 2), 5, true, nil},
		{"amount changed", lv(1, 1, 2, 2), lv(1, 1, 2, 3), 5, true, lv(2, 3)},
		{"level added in between", lv(1, 1, 3, 3), lv(1, 1, 2, 2, 3, 3), 5, true, lv(2, 2)},
		{"level removed", lv(1, 1, 2, 2, 3, 3), lv(1, 1, 3, 3), 5, true, lv(2, 0)},
		{"tail removed, short list", lv(1, 1, 2, 2), lv(1, 1), 5, true, lv(2, 0)},
		{"tail beyond a full list", lv(1, 1, 2, 2, 3, 3), lv(0, 5, 1, 1), 2, true, lv(0, 5)},
		{"bids descend", lv(5, 1, 4, 1), lv(6, 1, 5, 1), 5, false, lv(6, 1, 4, 0)},
		{"new levels after old end", lv(1, 1), lv(1, 1, 2, 2, 3, 3), 5, true, lv(2, 2, 3, 3)},
		{"emptied", lv(1, 1, 2, 2), nil, 5, true, lv(1, 0, 2, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffLevels(tt.old, tt.new, tt.limit, tt.ask)
			if !slices.Equal(got, tt.want) {
				t.Errorf("diffLevels(%v, %v, %d) = %v; want %v", tt.old, tt.new, tt.limit, got, tt.want)
			}
		})
	}
}

// TestDiffLevelsModel: for random books, applying the diff to the old
// snapshot as a client does gives the new one.
func TestDiffLevelsModel(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		limit := 1 + r.Intn(8)
		ask := r.Intn(2) == 0
		old, new := randomSide(r, limit, ask), randomSide(r, limit, ask)
		diff := diffLevels(old, new, limit, ask)
		got := applyDiff(old, diff, limit, ask)
		if fmt.Sprint(got) != fmt.Sprint(append([]messages.DepthLevel{}, new...)) {
			t.Fatalf("limit %d ask %v: old %v new %v diff %v: applied %v", limit, ask, old, new, diff, got)
		}
		if slices.Equal(old, new) != (len(diff) == 0) {
			t.Fatalf("old %v new %v: diff %v (empty iff equal)", old, new, diff)
		}
	}
}
