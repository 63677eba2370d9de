package httprpc

import (
	"context"
	"errors"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/messages"
)

// Invoker runs this edge's methods in-process for another edge (the
// websocket edge proxies its queries to them, docs/protocol.md "WebSocket transport"), so both edges
// decode params and encode results the same way. It is safe for concurrent
// use.
type Invoker struct{ s *Server }

// NewInvoker returns an Invoker asking ex.
func NewInvoker(ex actors.Exchange) *Invoker { return &Invoker{s: New(ex)} }

// Invoke runs method with params (each the raw JSON of one param) and
// appends its JSON result to dst. The error is nil or a *messages.Error:
// the method's own code, code 4 for an unknown method, code 5 when ctx
// ended before the exchange answered, code 2 when the exchange could not be
// asked. On error dst is returned unchanged.
func (v *Invoker) Invoke(ctx context.Context, dst []byte, method string, params [][]byte) ([]byte, error) {
	m := methods[method]
	if m == nil {
		return dst, messages.ErrMethodNotFound
	}
	c := call{s: v.s, cfg: v.s.cfg, ctx: ctx, params: params, out: dst}
	switch e := m(&c).(type) {
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
