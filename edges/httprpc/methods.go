package httprpc

import (
	"context"
	"time"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// call is one request being served: its params, the deadline for the
// exchange, and the response buffer, which holds resultPrefix when a method
// starts and to which the method appends its result.
type call struct {
	s      *Server
	cfg    *config.Config
	ctx    context.Context
	params [][]byte
	out    []byte
}

// method decodes c.params, asks the exchange and appends the result to
// c.out. It returns nil, a *messages.Error (answered with HTTP 200), or a
// timeout (answered with HTTP 504 and code 5).
type method func(c *call) error

// methods is the method table, the one place that names every method
// (docs/protocol.md "HTTP methods"); each is written in the file of its
// namespace: balance.go, order.go, market.go, history.go (the readhistory
// methods), admin.go (the operator's) and serverstate.go.
var methods = map[string]method{
	"balance.query":   (*call).balanceQuery,
	"balance.update":  (*call).balanceUpdate,
	"balance.history": (*call).balanceHistory,
	"asset.list":      (*call).assetList,
	"asset.summary":   (*call).assetSummary,

	"order.put_limit":                   (*call).putLimit,
	"order.put_market":                  (*call).putMarket,
	"order.cancel":                      (*call).cancel,
	"order.put_limit_ex":                (*call).putLimitEx,
	"order.put_market_ex":               (*call).putMarketEx,
	"order.put_stop_limit":              (*call).putStopLimit,
	"order.put_stop_market":             (*call).putStopMarket,
	"order.cancel_all":                  (*call).cancelAll,
	"order.cancel_by_client_id":         (*call).cancelByClientID,
	"order.cancel_all_after":            (*call).cancelAllAfter,
	"order.amend":                       (*call).amend,
	"order.amend_by_client_id":          (*call).amendByClientID,
	"order.pending_detail_by_client_id": (*call).orderPendingDetailByClientID,
	"order.book":                        (*call).orderBook,
	"order.depth":                       (*call).orderDepth,
	"order.pending":                     (*call).orderPending,
	"order.pending_detail":              (*call).orderPendingDetail,
	"order.finished":                    (*call).orderFinished,
	"order.finished_detail":             (*call).orderFinishedDetail,
	"order.deals":                       (*call).orderDeals,

	"market.list":         (*call).marketList,
	"market.summary":      (*call).marketSummary,
	"market.last":         (*call).marketLast,
	"market.deals":        (*call).marketDeals,
	"market.kline":        (*call).marketKline,
	"market.status":       (*call).marketStatus,
	"market.status_today": (*call).marketStatusToday,
	"market.user_deals":   (*call).marketUserDeals,
	"market.halt":         (*call).marketHalt,
	"market.resume":       (*call).marketResume,

	"server.state": (*call).serverState,
}

var (
	errArg      = messages.ErrInvalidArgument
	errInternal = messages.ErrInternal
)

// timeoutError is the exchange's failure to answer in time.
type timeoutError struct{ err error }

func (e timeoutError) Error() string { return "httprpc: exchange: " + e.err.Error() }

// do sends cmd and returns its reply, the reply's catalogue error, or a
// timeoutError.
func (c *call) do(cmd messages.Command) (messages.Reply, error) {
	rep, err := c.s.ex.Do(c.ctx, cmd)
	if err != nil {
		return nil, timeoutError{err}
	}
	switch r := rep.(type) {
	case nil:
		return nil, errInternal
	case *messages.ErrorReply:
		if r == nil || r.Err == nil {
			return nil, errInternal
		}
		return nil, r.Err
	}
	return rep, nil
}

func now() int64 { return time.Now().UnixMicro() }

// nameSet records which configuration indexes a request already named, so
// that repeated names are answered once.
type nameSet []uint64

func newNameSet(n int) nameSet { return make(nameSet, (n+63)/64) }

// add reports whether i was not yet in the set, and adds it.
func (s nameSet) add(i int) bool {
	w, bit := i/64, uint64(1)<<(i%64)
	if s[w]&bit != 0 {
		return false
	}
	s[w] |= bit
	return true
}
