package runtime

import (
	"strconv"
	"time"

	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is a Prometheus collector of the node's journal and followers:
//
//	bourse_journal_last_lsn            last LSN appended
//	bourse_journal_durable_lsn         last LSN durable (published to followers)
//	bourse_journal_failed              1 while the journal is failed (writes get code 3), else 0
//	bourse_follower_cursor{follower}   last LSN the follower's sink holds
//	bourse_follower_lag{follower}      durable records it has not stored yet
//	bourse_follower_errors_total{follower} failed attempts (each retried)
//	bourse_journal_queue               appends waiting for the writer
//	bourse_journal_commit_seconds      group commit time (write + fsync), histogram
//	bourse_journal_commit_records      records per group commit, histogram
//	bourse_market_orders_total{market}    orders the market accepted
//	bourse_market_rejected_total{market}  orders the market refused
//	bourse_market_cancels_total{market}   orders cancelled
//	bourse_market_trades_total{market}    trades (deals)
//	bourse_market_stops_triggered_total{market}  stop orders triggered
//	bourse_market_switches_fired_total{market}   dead-man's switches fired
//	bourse_market_match_seconds{market}   Book.Execute + journal append per order, histogram
//	bourse_market_mailbox_depth{market}   messages waiting for the market actor
//	bourse_shard_mailbox_depth{shard}     messages waiting for the balance shard
//
// Orders/s and trades/s are rates of the counters, e.g.
// rate(bourse_market_orders_total[1m]).
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

// marketMetrics are the per-market instruments. Each market actor gets its
// children once, at start (market.Metrics), so an order costs atomic adds
// and one histogram observation, no label lookup.
type marketMetrics struct {
	orders, rejected, cancels, trades *prometheus.CounterVec
	triggers, switches                *prometheus.CounterVec
	match                             *prometheus.HistogramVec
}

func newMarketMetrics() *marketMetrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"market"})
	}
	return &marketMetrics{
		orders:   counter("bourse_market_orders_total", "Orders the market accepted (placed)."),
		rejected: counter("bourse_market_rejected_total", "Orders the market refused."),
		cancels:  counter("bourse_market_cancels_total", "Orders cancelled."),
		trades:   counter("bourse_market_trades_total", "Trades (deals) made."),
		triggers: counter("bourse_market_stops_triggered_total", "Stop orders triggered."),
		switches: counter("bourse_market_switches_fired_total", "Dead-man's switches (order.cancel_all_after) fired."),
		match: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bourse_market_match_seconds", Help: "Time of one order in the market actor: Book.Execute plus the journal append.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 2, 16), // 1 µs .. 33 ms
		}, []string{"market"}),
	}
}

// market resolves the instruments of one market.
func (m *marketMetrics) market(name string) *market.Metrics {
	return &market.Metrics{
		Orders: m.orders.WithLabelValues(name), Rejected: m.rejected.WithLabelValues(name),
		Cancels: m.cancels.WithLabelValues(name), Trades: m.trades.WithLabelValues(name),
		Triggers: m.triggers.WithLabelValues(name), Switches: m.switches.WithLabelValues(name),
		Match: m.match.WithLabelValues(name),
	}
}

func (m *marketMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.orders, m.rejected, m.cancels, m.trades, m.triggers, m.switches, m.match}
}

var (
	descMarketDepth = prometheus.NewDesc("bourse_market_mailbox_depth", "Messages waiting in the market actor's mailbox.", []string{"market"}, nil)
	descShardDepth  = prometheus.NewDesc("bourse_shard_mailbox_depth", "Messages waiting in the balance shard's mailbox.", []string{"shard"}, nil)
)

var (
	descLastLSN  = prometheus.NewDesc("bourse_journal_last_lsn", "Last LSN appended to the journal.", nil, nil)
	descDurable  = prometheus.NewDesc("bourse_journal_durable_lsn", "Last durable LSN handed to journal followers.", nil, nil)
	descCursor   = prometheus.NewDesc("bourse_follower_cursor", "Last LSN the follower's sink holds.", []string{"follower"}, nil)
	descLag      = prometheus.NewDesc("bourse_follower_lag", "Durable journal records the follower has not stored yet.", []string{"follower"}, nil)
	descFollErrs = prometheus.NewDesc("bourse_follower_errors_total", "Failed follower attempts (each retried with backoff).", []string{"follower"}, nil)
	descQueue    = prometheus.NewDesc("bourse_journal_queue", "Appends waiting for the journal writer.", nil, nil)
	descFailed   = prometheus.NewDesc("bourse_journal_failed", "1 while the journal is failed: every write is refused (code 3) until a restart; else 0.", nil, nil)
)

func (m nodeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLastLSN, descDurable, descCursor, descLag, descFollErrs, descQueue, descFailed} {
		ch <- d
	}
	m.n.jmetrics.commitSeconds.Describe(ch)
	m.n.jmetrics.commitRecords.Describe(ch)
	for _, c := range m.n.mmetrics.collectors() {
		c.Describe(ch)
	}
	ch <- descMarketDepth
	ch <- descShardDepth
}

func (m nodeMetrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descLastLSN, prometheus.GaugeValue, float64(m.n.Journal.LastLSN()))
	ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(m.n.Journal.Queued()))
	failed := 0.0
	if m.n.Journal.Failed() {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(descFailed, prometheus.GaugeValue, failed)
	m.n.jmetrics.commitSeconds.Collect(ch)
	m.n.jmetrics.commitRecords.Collect(ch)
	for _, c := range m.n.mmetrics.collectors() {
		c.Collect(ch)
	}
	markets := m.n.Router.Config().Markets
	for i, q := range m.n.tuning.marketQueues() {
		if i < len(markets) { // a market being listed has its queue first
			ch <- prometheus.MustNewConstMetric(descMarketDepth, prometheus.GaugeValue, float64(q.Depth()), markets[i].Name)
		}
	}
	for i, q := range m.n.tuning.shards {
		ch <- prometheus.MustNewConstMetric(descShardDepth, prometheus.GaugeValue, float64(q.Depth()), strconv.Itoa(i))
	}
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
