package httprpc

import (
	"context"
	"errors"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
)

func TestInvoke(t *testing.T) {
	f := &fakeExchange{cfg: loadTestConfig(t)}
	inv := NewInvoker(f)
	p := func(raw ...string) [][]byte {
		out := make([][]byte, len(raw))
		for i, r := range raw {
			out[i] = []byte(r)
		}
		return out
	}
	f.reply = func(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
		switch c := cmd.(type) {
		case *messages.OrderDepth:
			return &messages.DepthReply{Asks: []messages.DepthLevel{{Price: 12345, Amount: 1500000}}}, nil
		case *messages.MarketLast:
			if c.Market == 1 {
				return nil, context.DeadlineExceeded
			}
			return nil, errors.New("mailbox gone")
		}
		return &messages.StatusReply{}, nil
	}
	tests := []struct {
		method string
		query  Query
		params [][]byte
		want   string
		err    *messages.Error
	}{
		{"order.depth", (*Invoker).OrderDepth, p(`"BTCUSDT"`, `10`, `"0"`), `>{"asks":[["123.45","1.5"]],"bids":[]}`, nil},
		{"order.depth", (*Invoker).OrderDepth, p(`"BTCUSDT"`, `10`), ">", errCount("3 params", p(`"BTCUSDT"`, `10`), "market", "limit", "interval")},
		{"market.last", (*Invoker).MarketLast, p(`"ETHBTC"`), ">", messages.ErrServiceTimeout},
		{"market.last", (*Invoker).MarketLast, p(`"BTCUSDT"`), ">", messages.ErrInternal},
	}
	for _, tt := range tests {
		got, err := tt.query(inv, context.Background(), []byte(">"), tt.params)
		if string(got) != tt.want || !errors.Is(err, tt.err) && !(err == nil && tt.err == nil) {
			t.Errorf("Invoke(%s %q) = %s, %v; want %s, %v", tt.method, tt.params, got, err, tt.want, tt.err)
		}
	}
}

func TestParseRequestExported(t *testing.T) {
	m, params, id, err := ParseRequest([]byte(`{"method":"a.b","params":[1,"x"],"id":3}`))
	if err != nil || m != "a.b" || len(params) != 2 || string(params[1]) != `"x"` || id != 3 {
		t.Errorf("ParseRequest = %q %q %d %v", m, params, id, err)
	}
	if _, _, _, err := ParseRequest([]byte(`{"method":"a.b","params":[1,"x"]}`)); err == nil || err.Error() != "invalid request: no id (code 1)" {
		t.Errorf("ParseRequest without id: %v", err)
	}
}
