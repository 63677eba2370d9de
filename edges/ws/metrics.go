package ws

import "github.com/prometheus/client_golang/prometheus"

var (
	descOpen     = prometheus.NewDesc("bourse_ws_connections", "Open websocket connections.", nil, nil)
	descAccepted = prometheus.NewDesc("bourse_ws_accepted_total", "Websocket upgrades accepted.", nil, nil)
	descRejected = prometheus.NewDesc("bourse_ws_rejected_total", "Websocket upgrade requests refused.", nil, nil)
	descClosed   = prometheus.NewDesc("bourse_ws_closed_total", "Websocket connections closed, by reason (slow: evicted for not keeping up).", []string{"reason"}, nil)
	descPushed   = prometheus.NewDesc("bourse_ws_pushed_total", "Notifications queued to websocket connections.", nil, nil)
	descChannels = prometheus.NewDesc("bourse_ws_channels", "Push channels with subscribers.", nil, nil)
	descBusDrops = prometheus.NewDesc("bourse_ws_bus_drops_total", "Times the event bus dropped the websocket push loop for being slow.", nil, nil)
	descLimited  = prometheus.NewDesc("bourse_ws_rate_limited_total", "Websocket requests refused by the per-connection rate limit (code 7).", nil, nil)
)

// Collector returns a Prometheus collector of the server's Stats.
func (s *Server) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descAccepted, descRejected, descClosed, descPushed, descChannels, descBusDrops, descLimited} {
		ch <- d
	}
	c.s.fanout.Describe(ch)
	c.s.lnStats.Collector("websocket").Describe(ch)
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Open))
	ch <- prometheus.MustNewConstMetric(descAccepted, prometheus.CounterValue, float64(st.Accepted))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(st.Rejected))
	for r, n := range st.Closed {
		ch <- prometheus.MustNewConstMetric(descClosed, prometheus.CounterValue, float64(n), CloseReason(r).String())
	}
	ch <- prometheus.MustNewConstMetric(descPushed, prometheus.CounterValue, float64(st.Pushed))
	ch <- prometheus.MustNewConstMetric(descChannels, prometheus.GaugeValue, float64(st.Channels))
	ch <- prometheus.MustNewConstMetric(descBusDrops, prometheus.CounterValue, float64(st.BusDrops))
	ch <- prometheus.MustNewConstMetric(descLimited, prometheus.CounterValue, float64(st.Limited))
	c.s.fanout.Collect(ch)
	c.s.lnStats.Collector("websocket").Collect(ch)
}
