package httprpc

import (
	"context"
	"errors"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/messages"
)

// Invoker runs this edge's query methods in-process for the websocket
// edge, whose queries take the same params and answer the same results and
// codes (docs/protocol.md "WebSocket methods"), and the order methods for a
// connection's own user (owncall.go). Each is a Go method of its own, so
// no caller names a method by string. It is safe for concurrent use.
type Invoker struct{ s *Server }

// NewInvoker returns an Invoker asking ex.
func NewInvoker(ex actors.Exchange) *Invoker { return &Invoker{s: New(ex)} }

// Query is one of the queries below: it decodes params (each the raw JSON of one param), asks the
// exchange and appends its JSON result to dst. The error is nil or a
// *messages.Error: the method's own code, code 5 when ctx ended before the
// exchange answered, code 2 when the exchange could not be asked. On error
// dst is returned unchanged.
type Query func(v *Invoker, ctx context.Context, dst []byte, params [][]byte) ([]byte, error)

// BalanceQuery answers balance.query.
func (v *Invoker) BalanceQuery(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).balanceQuery)
}

// BalanceHistory answers balance.history.
func (v *Invoker) BalanceHistory(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).balanceHistory)
}

// OrderDepth answers order.depth.
func (v *Invoker) OrderDepth(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).orderDepth)
}

// OrderPending answers order.pending.
func (v *Invoker) OrderPending(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).orderPending)
}

// OrderFinished answers order.finished.
func (v *Invoker) OrderFinished(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).orderFinished)
}

// MarketLast answers market.last.
func (v *Invoker) MarketLast(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketLast)
}

// MarketDeals answers market.deals.
func (v *Invoker) MarketDeals(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketDeals)
}

// MarketKline answers market.kline.
func (v *Invoker) MarketKline(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketKline)
}

// MarketStatus answers market.status.
func (v *Invoker) MarketStatus(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketStatus)
}

// MarketStatusToday answers market.status_today.
func (v *Invoker) MarketStatusToday(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketStatusToday)
}

// MarketList answers market.list.
func (v *Invoker) MarketList(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).marketList)
}

// ServerState answers server.state (the operator page of edges/web).
func (v *Invoker) ServerState(ctx context.Context, dst []byte, params [][]byte) ([]byte, error) {
	return v.run(ctx, dst, params, (*call).serverState)
}

func (v *Invoker) run(ctx context.Context, dst []byte, params [][]byte, m method) ([]byte, error) {
	return v.exec(&call{s: v.s, cfg: v.s.ex.Config(), ctx: ctx, params: params, out: dst}, dst, m)
}

// exec runs m on c, whose out is dst, and maps its error as Query says.
func (v *Invoker) exec(c *call, dst []byte, m method) ([]byte, error) {
	ctx := c.ctx
	switch e := m(c).(type) {
	case nil:
		return c.out, nil
	case *messages.Error:
		return dst, e
	case timeoutError:
		if errors.Is(e.err, context.DeadlineExceeded) || ctx.Err() != nil {
			return dst, messages.ErrServiceTimeout
		}
		return dst, messages.ErrInternal
	default:
		return dst, messages.ErrInternal
	}
}

// ParseRequest decodes a JSON-RPC envelope {"method": string, "params":
// array or null, "id": integer} exactly as the HTTP edge does (see the
// package documentation); params are the raw JSON of each element and
// alias body. When body is not such an envelope, err is a *messages.Error
// of code 1 whose message says what is wrong.
func ParseRequest(body []byte) (method string, params [][]byte, id int64, err error) {
	req, why := parseRequest(body)
	if why != "" {
		e, _, _ := badRequest(body, why)
		return "", nil, 0, e
	}
	return string(req.method), req.params, req.id, nil
}
