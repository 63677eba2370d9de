package httprpc

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// testConfig has precisions that all differ, so that a value printed at the
// wrong scale shows.
const testConfig = `
assets:
  - { name: BTC,  prec_save: 14, prec_show: 8 }
  - { name: USDT, prec_save: 12, prec_show: 6 }
  - { name: ETH,  prec_save: 10 }
markets:
  - { name: BTCUSDT, stock: BTC, money: USDT, stock_prec: 6, money_prec: 2, fee_prec: 4, min_amount: "0.0001" }
  - { name: ETHBTC,  stock: ETH, money: BTC,  stock_prec: 4, money_prec: 6, fee_prec: 3 }
`

func loadTestConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeExchange records every command and answers with reply (a
// StatusReply when reply is nil).
type fakeExchange struct {
	cfg *config.Config

	mu    sync.Mutex
	cmds  []messages.Command // guarded by mu
	reply func(ctx context.Context, cmd messages.Command) (messages.Reply, error)
}

func (f *fakeExchange) Config() *config.Config { return f.cfg }

func (f *fakeExchange) Do(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	f.mu.Lock()
	f.cmds = append(f.cmds, cmd)
	reply := f.reply
	f.mu.Unlock()
	if reply == nil {
		return &messages.StatusReply{}, nil
	}
	return reply(ctx, cmd)
}

func (f *fakeExchange) commands() []messages.Command {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]messages.Command(nil), f.cmds...)
}

func newTestServer(t testing.TB) (*Server, *fakeExchange) {
	t.Helper()
	f := &fakeExchange{cfg: loadTestConfig(t)}
	return New(f), f
}

// post sends body to h as POST / and returns the status and response body.
func post(h http.Handler, body string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	return serve(h, req)
}

func serve(h http.Handler, req *http.Request) (int, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// envelope builds a request body.
func envelope(method, params string) string {
	return `{"method":"` + method + `","params":` + params + `,"id":1}`
}

// clearTime zeroes a write command's Time and returns it.
func clearTime(cmd messages.Command) int64 {
	var p *int64
	switch c := cmd.(type) {
	case *messages.BalanceUpdate:
		p = &c.Time
	case *messages.PutLimit:
		p = &c.Time
	case *messages.PutMarket:
		p = &c.Time
	case *messages.Cancel:
		p = &c.Time
	case *messages.CancelAll:
		p = &c.Time
	case *messages.Amend:
		p = &c.Time
	case *messages.CancelAfter:
		p = &c.Time
	default:
		return -1
	}
	t := *p
	*p = 0
	return t
}
