package runtime

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is a Prometheus collector of the node's journal and followers:
//
//	bourse_journal_last_lsn            last LSN appended
//	bourse_journal_durable_lsn         last LSN durable (published to followers)
//	bourse_follower_cursor{follower}   last LSN the follower's sink holds
//	bourse_follower_lag{follower}      durable records it has not stored yet
//	bourse_follower_errors_total{follower} failed attempts (each retried)
//	bourse_journal_queue               appends waiting for the writer
//	bourse_journal_commit_seconds      group commit time (write + fsync), histogram
//	bourse_journal_commit_records      records per group commit, histogram
func (n *Node) Metrics() prometheus.Collector { return nodeMetrics{n} }

type nodeMetrics struct{ n *Node }

// journalMetrics are the journal writer's histograms, fed by its OnCommit
// hook.
type journalMetrics struct {
	commitSeconds prometheus.Histogram
	commitRecords prometheus.Histogram
}

func newJournalMetrics() *journalMetrics {
	return &journalMetrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bourse_journal_commit_seconds", Help: "Group commit time: write plus fsync (sync mode).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14), // 50 µs .. 0.4 s
		}),
		commitRecords: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bourse_journal_commit_records", Help: "Journal records per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13), // 1 .. 4096
		}),
	}
}

func (m *journalMetrics) observe(records int, took time.Duration) {
	m.commitSeconds.Observe(took.Seconds())
	m.commitRecords.Observe(float64(records))
}

var (
	descLastLSN  = prometheus.NewDesc("bourse_journal_last_lsn", "Last LSN appended to the journal.", nil, nil)
	descDurable  = prometheus.NewDesc("bourse_journal_durable_lsn", "Last durable LSN handed to journal followers.", nil, nil)
	descCursor   = prometheus.NewDesc("bourse_follower_cursor", "Last LSN the follower's sink holds.", []string{"follower"}, nil)
	descLag      = prometheus.NewDesc("bourse_follower_lag", "Durable journal records the follower has not stored yet.", []string{"follower"}, nil)
	descFollErrs = prometheus.NewDesc("bourse_follower_errors_total", "Failed follower attempts (each retried with backoff).", []string{"follower"}, nil)
	descQueue    = prometheus.NewDesc("bourse_journal_queue", "Appends waiting for the journal writer.", nil, nil)
)

func (m nodeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastLSN, descDurable, descCursor, descLag, descFollErrs, descQueue} {
		ch <- d
	}
	m.n.jmetrics.commitSeconds.Describe(ch)
	m.n.jmetrics.commitRecords.Describe(ch)
}

func (m nodeMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descLastLSN, prometheus.GaugeValue, float64(m.n.Journal.LastLSN()))
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(m.n.Journal.Queued()))
	m.n.jmetrics.commitSeconds.Collect(ch)
	m.n.jmetrics.commitRecords.Collect(ch)
	if m.n.Feed == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descDurable, prometheus.GaugeValue, float64(m.n.Feed.Durable()))
	for _, f := range m.n.Feed.Followers() {
		ch <- prometheus.MustNewConstMetric(descCursor, prometheus.GaugeValue, float64(f.Cursor), f.Name)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(f.Lag), f.Name)
		ch <- prometheus.MustNewConstMetric(descFollErrs, prometheus.CounterValue, float64(f.Errors), f.Name)
	}
}
