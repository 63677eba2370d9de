package httprpc

import (
	"context"
	"time"

	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
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
	// user is the websocket connection's user when the call places,
	// cancels or amends that user's orders (owncall.go); 0 over HTTP.
	user uint32
}

// method decodes c.params, asks the exchange and appends the result to
// c.out. It returns nil, a *messages.Error (answered with HTTP 200), or a
// timeout (answered with HTTP 504 and code 5).
type method func(c *call) error

// entry is a method and its description: params, result, codes and
// examples (api.go), from which docs/openrpc-http.json is generated.
type entry struct {
	run method
	doc *apidoc.Method
}

// methods is the method table, the one place that names every method
// (docs/protocol.md "HTTP methods"); each is written in the file of its
// namespace: balance.go, order.go, market.go, history.go (the readhistory
// methods), admin.go (the operator's) and serverstate.go, and described in
// api.go, api_order.go and api_market.go.
var methods = map[string]entry{
	"balance.query":   {(*call).balanceQuery, &docBalanceQuery},
	"balance.update":  {(*call).balanceUpdate, &docBalanceUpdate},
	"balance.history": {(*call).balanceHistory, &docBalanceHistory},
	"asset.list":      {(*call).assetList, &docAssetList},
	"asset.summary":   {(*call).assetSummary, &docAssetSummary},

	"order.put_limit":                   {(*call).putLimit, &docPutLimit},
	"order.put_market":                  {(*call).putMarket, &docPutMarket},
	"order.cancel":                      {(*call).cancel, &docCancel},
	"order.put_limit_ex":                {(*call).putLimitEx, &docPutLimitEx},
	"order.put_market_ex":               {(*call).putMarketEx, &docPutMarketEx},
	"order.put_stop_limit":              {(*call).putStopLimit, &docPutStopLimit},
	"order.put_stop_market":             {(*call).putStopMarket, &docPutStopMarket},
	"order.cancel_all":                  {(*call).cancelAll, &docCancelAll},
	"order.cancel_by_client_id":         {(*call).cancelByClientID, &docCancelByClientID},
	"order.cancel_all_after":            {(*call).cancelAllAfter, &docCancelAllAfter},
	"order.amend":                       {(*call).amend, &docAmend},
	"order.amend_by_client_id":          {(*call).amendByClientID, &docAmendByClientID},
	"order.pending_detail_by_client_id": {(*call).orderPendingDetailByClientID, &docPendingDetailByClientID},
	"order.book":                        {(*call).orderBook, &docOrderBook},
	"order.depth":                       {(*call).orderDepth, &docOrderDepth},
	"order.pending":                     {(*call).orderPending, &docOrderPending},
	"order.pending_detail":              {(*call).orderPendingDetail, &docOrderPendingDetail},
	"order.finished":                    {(*call).orderFinished, &docOrderFinished},
	"order.finished_detail":             {(*call).orderFinishedDetail, &docOrderFinishedDetail},
	"order.deals":                       {(*call).orderDeals, &docOrderDeals},

	"market.list":         {(*call).marketList, &docMarketList},
	"market.summary":      {(*call).marketSummary, &docMarketSummary},
	"market.last":         {(*call).marketLast, &docMarketLast},
	"market.deals":        {(*call).marketDeals, &docMarketDeals},
	"market.kline":        {(*call).marketKline, &docMarketKline},
	"market.status":       {(*call).marketStatus, &docMarketStatus},
	"market.status_today": {(*call).marketStatusToday, &docMarketStatusToday},
	"market.user_deals":   {(*call).marketUserDeals, &docMarketUserDeals},
	"market.halt":         {(*call).marketHalt, &docMarketHalt},
	"market.resume":       {(*call).marketResume, &docMarketResume},
	"market.update":       {(*call).marketUpdate, &docMarketUpdate},
	"market.add":          {(*call).marketAdd, &docMarketAdd},
	"asset.add":           {(*call).assetAdd, &docAssetAdd},

	"server.state": {(*call).serverState, &docServerState},
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
		if c.user != 0 && *r.Err == *messages.ErrUserNotMatch {
			// Another user's order does not exist for a connection
			// (owncall.go): its existence is not told.
			return nil, messages.ErrOrderNotFound
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
