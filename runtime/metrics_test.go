package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestMetrics: the journal histograms count every committed record once
// (their sum is the last LSN of a journal started empty) and the gauges
// report the journal and follower positions.
func TestMetrics(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	n := startAt(t, cfg, t.TempDir(), "", journal.Sync)
	rec := &recorder{}
	n.Follow(rec, 64)
	workload(t, n, 81, 300)
	last := n.Journal.LastLSN()
	testnode.WaitCursor(t, "follower", last, rec.at)
	reg := prometheus.NewRegistry()
	reg.MustRegister(n.Metrics())
	// The feed records a follower's cursor just after the follower has
	// taken the record: gather until it shows (or the deadline passes).
	var families []*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if families, err = reg.Gather(); err != nil {
			t.Fatal(err)
		}
		if followerCursor(families) == float64(last) || time.Now().After(deadline) {
			break
		}
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[f.GetName()+"_sum"] = m.GetHistogram().GetSampleSum()
				got[f.GetName()+"_count"] = float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	n.Shutdown(context.Background())
	if last == 0 {
		t.Fatal("nothing was journaled")
	}
	for name, want := range map[string]float64{
		// The first record, the configuration, is written at start,
		// before the writer runs.
		"bourse_journal_commit_records_sum": float64(last - 1),
		"bourse_journal_last_lsn":           float64(last),
		"bourse_journal_durable_lsn":        float64(last),
		"bourse_follower_cursor":            float64(last),
		"bourse_follower_lag":               0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v; want %v", name, got[name], want)
		}
	}
	if c := got["bourse_journal_commit_seconds_count"]; c < 1 || c > float64(last) {
		t.Errorf("bourse_journal_commit_seconds_count = %v; want 1..%d commits", c, last)
	}
}

func followerCursor(families []*dto.MetricFamily) float64 {
	for _, f := range families {
		if f.GetName() == "bourse_follower_cursor" {
			for _, m := range f.GetMetric() {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}
