package httprpc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
)

// discardWriter is a ResponseWriter that keeps only the status, so that
// benchmarks measure the edge rather than httptest.ResponseRecorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkHandler measures one request through Handler, from body bytes to
// response bytes, with an exchange that answers at once with a fixed reply.
// It excludes the network and net/http's connection handling.
func BenchmarkHandler(b *testing.B) {
	cases := []struct {
		name  string
		body  string
		reply messages.Reply
	}{
		{"method=order.put_limit", envelope("order.put_limit", `[1,"BTCUSDT",2,"1.2345678","30000.129","0.002","0.001","web"]`),
			&messages.OrderReply{Order: limitBid}},
		{"method=balance.query", envelope("balance.query", `[1,"BTC","USDT"]`),
			&messages.BalanceQueryReply{Assets: []messages.AssetID{0, 1}, Balances: make([]messages.Balance, 2)}},
		{"method=order.depth", envelope("order.depth", `["BTCUSDT",20,"0"]`),
			&messages.DepthReply{Asks: make([]messages.DepthLevel, 20), Bids: make([]messages.DepthLevel, 20)}},
		{"method=asset.list", envelope("asset.list", `[]`), nil},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			s, f := newTestServer(b)
			f.reply = func(context.Context, messages.Command) (messages.Reply, error) { return tc.reply, nil }
			f.cmds = make([]messages.Command, 0, 1)
			h := s.Handler()
			body := []byte(tc.body)
			rd := bytes.NewReader(body)
			req, _ := http.NewRequest(http.MethodPost, "/", io.NopCloser(rd))
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rd.Reset(body)
				req.ContentLength = int64(len(body))
				clear(w.h)
				f.cmds = f.cmds[:0]
				h.ServeHTTP(w, req)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
