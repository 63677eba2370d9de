package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/shopspring/decimal"
)

// method appends its result to b (which holds resultPrefix) or returns a
// *messages.Error.
type method func(c *conn, b []byte, p [][]byte) ([]byte, error)

// entry is a method and its description (api.go), from which
// docs/openrpc-ws.json is generated.
type entry struct {
	run method
	doc *apidoc.Method
}

// methods is the method table (docs/protocol.md "WebSocket methods").
var methods map[string]entry

func init() {
	methods = map[string]entry{
		"server.ping": {func(_ *conn, b []byte, _ [][]byte) ([]byte, error) { return append(b, `"pong"`...), nil }, &docPing},
		"server.time": {func(_ *conn, b []byte, _ [][]byte) ([]byte, error) {
			return strconv.AppendInt(b, time.Now().Unix(), 10), nil
		}, &docTime},
		"server.auth": {(*conn).auth, &docAuth},
		"server.sign": {(*conn).sign, &docSign},

		"market.list":     {proxy((*httprpc.Invoker).MarketList), docMarketList},
		"kline.query":     {proxy((*httprpc.Invoker).MarketKline), docKlineQuery},
		"depth.query":     {proxy((*httprpc.Invoker).OrderDepth), docDepthQuery},
		"price.query":     {proxy((*httprpc.Invoker).MarketLast), docPriceQuery},
		"state.query":     {proxy((*httprpc.Invoker).MarketStatus), docStateQuery},
		"today.query":     {proxy((*httprpc.Invoker).MarketStatusToday), docTodayQuery},
		"deals.query":     {proxy((*httprpc.Invoker).MarketDeals), docDealsQuery},
		"order.query":     {private((*httprpc.Invoker).OrderPending, -1), docOrderQuery},
		"order.history":   {private((*httprpc.Invoker).OrderFinished, 6), docOrderHistory},
		"asset.query":     {private((*httprpc.Invoker).BalanceQuery, -1), docAssetQuery},
		"asset.history":   {private((*httprpc.Invoker).BalanceHistory, 6), docAssetHistory},
		"kline.subscribe": {(*conn).klineSubscribe, &docKlineSubscribe},
		"depth.subscribe": {(*conn).depthSubscribe, &docDepthSubscribe},
		"price.subscribe": {marketsSubscribe(kPrice), marketsSubscribeDoc("price.update")},
		"state.subscribe": {marketsSubscribe(kState), marketsSubscribeDoc("state.update")},
		"today.subscribe": {marketsSubscribe(kToday), marketsSubscribeDoc("today.update")},
		"deals.subscribe": {marketsSubscribe(kDeals), marketsSubscribeDoc("deals.update")},
		"order.subscribe": {(*conn).orderSubscribe, &docOrderSubscribe},

		"order.put_limit":       {owned((*httprpc.Invoker).PutLimit), docPutLimit},
		"order.put_limit_ex":    {owned((*httprpc.Invoker).PutLimitEx), docPutLimitEx},
		"order.put_market":      {owned((*httprpc.Invoker).PutMarket), docPutMarket},
		"order.put_market_ex":   {owned((*httprpc.Invoker).PutMarketEx), docPutMarketEx},
		"order.put_stop_limit":  {owned((*httprpc.Invoker).PutStopLimit), docPutStopLimit},
		"order.put_stop_market": {owned((*httprpc.Invoker).PutStopMarket), docPutStopMarket},
		"order.cancel":          {owned((*httprpc.Invoker).Cancel), docCancel},
		"order.cancel_all":      {owned((*httprpc.Invoker).CancelAll), docCancelAll},
		"order.amend":           {owned((*httprpc.Invoker).Amend), docAmend},
		"asset.subscribe":       {(*conn).assetSubscribe, &docAssetSubscribe},
	}
	for _, k := range []kind{kKline, kDepth, kPrice, kState, kToday, kDeals, kOrder, kAsset} {
		methods[kindNames[k]+".unsubscribe"] = entry{unsubscribe(k), unsubscribeDoc(k)}
	}
}

// unsubscribe ends the connection's subscription of kind k.
func unsubscribe(k kind) method {
	return func(c *conn, b []byte, _ [][]byte) ([]byte, error) {
		if (k == kOrder || k == kAsset) && c.user == 0 {
			return b, messages.ErrRequireAuth
		}
		if err := c.s.hub.replace(c, k, nil); err != nil {
			return b, err
		}
		return append(b, statusSuccess...), nil
	}
}

const statusSuccess = `{"status":"success"}`

var errArg = messages.ErrInvalidArgument

// badParam is code 1 naming a param and the rule it broke, as the HTTP
// methods answer.
func badParam(param, rule string) *messages.Error {
	return &messages.Error{Code: messages.ErrInvalidArgument.Code, Message: "invalid argument: " + param + " " + rule}
}

// errCount is the answer to a wrong number of params.
func errCount(want int, got int) *messages.Error {
	return &messages.Error{Code: messages.ErrInvalidArgument.Code,
		Message: "invalid argument: expected " + strconv.Itoa(want) + " params, got " + strconv.Itoa(got)}
}

var (
	errMarket = badParam("market", "must be the name of a listed market (shorter than 16 bytes)")
	errAsset  = badParam("asset", "must be the name of a listed asset (shorter than 16 bytes)")
)

// handle answers one request message.
func (c *conn) handle(p []byte) {
	req, bad := decodeRequest(p)
	if c.limiter != nil && !c.limiter.Allow() {
		c.s.limited.Add(1)
		c.send(appendErrorReply(nil, messages.ErrTooManyRequests, &req))
		return
	}
	if bad != nil {
		c.send(appendErrorReply(nil, bad, &req))
		return
	}
	m := methods[req.method].run
	if m == nil {
		c.send(appendErrorReply(nil, messages.ErrMethodNotFound, &req))
		return
	}
	b, err := m(c, append(make([]byte, 0, 256), resultPrefix...), req.params)
	if err != nil {
		e, ok := err.(*messages.Error)
		if !ok {
			e = messages.ErrInternal
		}
		c.send(appendErrorReply(b[:0], e, &req))
		return
	}
	c.send(appendReplyEnd(b, &req))
}

func (c *conn) backend() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.s.set.BackendTimeout)
}

// proxy answers with the HTTP edge's query q, params passed through.
func proxy(q httprpc.Query) method {
	return func(c *conn, b []byte, p [][]byte) ([]byte, error) {
		ctx, cancel := c.backend()
		defer cancel()
		return q(c.s.inv, ctx, b, p)
	}
}

// private answers with the HTTP edge's query q, the connection's user id
// prepended to params; n ≥ 0 is the exact number of params required.
func private(q httprpc.Query, n int) method {
	return func(c *conn, b []byte, p [][]byte) ([]byte, error) {
		if c.user == 0 {
			return b, messages.ErrRequireAuth
		}
		if n >= 0 && len(p) != n {
			return b, errCount(n, len(p))
		}
		params := make([][]byte, 0, len(p)+1)
		params = append(params, strconv.AppendUint(nil, uint64(c.user), 10))
		params = append(params, p...)
		ctx, cancel := c.backend()
		defer cancel()
		return q(c.s.inv, ctx, b, params)
	}
}

// owned answers with the HTTP edge's order method o for the connection's
// user (order entry, httprpc.OwnCommand): code 6 before authentication.
func owned(o httprpc.OwnCommand) method {
	return func(c *conn, b []byte, p [][]byte) ([]byte, error) {
		if c.user == 0 {
			return b, messages.ErrRequireAuth
		}
		ctx, cancel := c.backend()
		defer cancel()
		return o(c.s.inv, ctx, b, c.user, p)
	}
}

// maxName is the bound on market and asset names in subscriptions (viabtc:
// shorter than 16 bytes).
const maxName = 15

func argName(raw []byte) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil || len(s) == 0 || len(s) > maxName {
		return "", false
	}
	return s, true
}

func argMarket(cfg *config.Config, raw []byte) (*config.Market, bool) {
	name, ok := argName(raw)
	if !ok {
		return nil, false
	}
	m := cfg.Market(name)
	return m, m != nil
}

func argInt(raw []byte) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	for i, ch := range raw {
		if (ch < '0' || ch > '9') && !(i == 0 && ch == '-') {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	return v, err == nil
}

// kline.subscribe [market, interval]
func (c *conn) klineSubscribe(b []byte, p [][]byte) ([]byte, error) {
	if len(p) != 2 {
		return b, errCount(2, len(p))
	}
	m, ok := argMarket(c.s.config(), p[0])
	if !ok {
		return b, errMarket
	}
	iv, ok := argInt(p[1])
	if !ok || iv <= 0 {
		return b, badParam("interval", "must be an integer > 0 (seconds)")
	}
	if err := c.s.hub.replace(c, kKline, []chanKey{{kind: kKline, market: m.ID, interval: iv}}); err != nil {
		return b, err
	}
	return append(b, statusSuccess...), nil
}

// depth.subscribe [market, limit, interval]
func (c *conn) depthSubscribe(b []byte, p [][]byte) ([]byte, error) {
	if len(p) != 3 {
		return b, errCount(3, len(p))
	}
	m, ok := argMarket(c.s.config(), p[0])
	if !ok {
		return b, errMarket
	}
	limit, ok := argInt(p[1])
	if !ok || !c.s.depthLimitOK(limit) {
		return b, badParam("limit", fmt.Sprintf("must be one of websocket.depth_limit %v", c.s.set.DepthLimit))
	}
	errInterval := badParam("interval", fmt.Sprintf("must be a decimal string, one of websocket.depth_merge %q", c.s.set.DepthMerge))
	var s string
	if len(p[2]) == 0 || p[2][0] != '"' || json.Unmarshal(p[2], &s) != nil || len(s) > maxName {
		return b, errInterval
	}
	d, err := decimal.NewFromString(s)
	if err != nil || !c.s.depthMergeOK(d) {
		return b, errInterval
	}
	// At the market's money_prec, truncated like order.depth's interval
	// (a finer interval than the price's precision merges nothing).
	units := d.Shift(int32(m.MoneyPrec)).Truncate(0)
	if units.IsNegative() || !units.LessThan(decimal.New(1, 18)) {
		return b, errInterval
	}
	key := chanKey{kind: kDepth, market: m.ID, limit: int(limit), interval: units.IntPart()}
	if err := c.s.hub.replace(c, kDepth, []chanKey{key}); err != nil {
		return b, err
	}
	return append(b, statusSuccess...), nil
}

func (s *Server) depthLimitOK(l int64) bool {
	for _, v := range s.set.DepthLimit {
		if int64(v) == l {
			return true
		}
	}
	return false
}

func (s *Server) depthMergeOK(d decimal.Decimal) bool {
	for _, v := range s.set.DepthMerge {
		if m, err := decimal.NewFromString(v); err == nil && m.Equal(d) {
			return true
		}
	}
	return false
}

// price/state/today/deals.subscribe [market, …]
func marketsSubscribe(k kind) method {
	return func(c *conn, b []byte, p [][]byte) ([]byte, error) {
		keys, err := c.marketKeys(k, p, 0)
		if err != nil {
			return b, err
		}
		if err := c.s.hub.replace(c, k, keys); err != nil {
			return b, err
		}
		return append(b, statusSuccess...), nil
	}
}

func (c *conn) marketKeys(k kind, p [][]byte, user uint32) ([]chanKey, error) {
	keys := make([]chanKey, 0, len(p))
	for _, raw := range p {
		m, ok := argMarket(c.s.config(), raw)
		if !ok {
			return nil, errMarket
		}
		keys = append(keys, chanKey{kind: k, market: m.ID, user: user})
	}
	return keys, nil
}

// order.subscribe [market, …]
func (c *conn) orderSubscribe(b []byte, p [][]byte) ([]byte, error) {
	if c.user == 0 {
		return b, messages.ErrRequireAuth
	}
	keys, err := c.marketKeys(kOrder, p, c.user)
	if err != nil {
		return b, err
	}
	if err := c.s.hub.replace(c, kOrder, keys); err != nil {
		return b, err
	}
	return append(b, statusSuccess...), nil
}

// asset.subscribe [asset, …]
func (c *conn) assetSubscribe(b []byte, p [][]byte) ([]byte, error) {
	if c.user == 0 {
		return b, messages.ErrRequireAuth
	}
	keys := make([]chanKey, 0, len(p))
	for _, raw := range p {
		name, ok := argName(raw)
		if !ok {
			return b, errAsset
		}
		a := c.s.config().Asset(name)
		if a == nil {
			return b, errAsset
		}
		keys = append(keys, chanKey{kind: kAsset, asset: a.ID, user: c.user})
	}
	if err := c.s.hub.replace(c, kAsset, keys); err != nil {
		return b, err
	}
	return append(b, statusSuccess...), nil
}
