package ws

import (
	"strconv"
	"strings"

	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/messages"
)

// The descriptions the method table (methods.go) carries, from which
// docs/openrpc-ws.json is generated (docs/README.md). The queries take the
// HTTP methods' params and results (httprpc.Describe). The test in docs/
// replays the examples in order (by name) on a connection authenticated
// as user 1, after the HTTP document's examples; an example answering
// code 6 runs on a connection that is not authenticated.

// API describes this edge's methods, for docs/openrpc-ws.json.
func API() *apidoc.Doc {
	d := &apidoc.Doc{
		Title: "Bourse websocket",
		Description: "viabtc_exchange_server's websocket API as Bourse serves it (docs/protocol.md \"WebSocket\"). " +
			"A request is {\"method\", \"params\": [positional], \"id\"}; the answer {\"error\", \"result\", \"id\"}; " +
			"pushes are {\"method\", \"params\", \"id\": null}. Generated from edges/ws's method table.",
		Methods: map[string]*apidoc.Method{},
		Schemas: httprpc.Components(),
	}
	for name, e := range methods {
		d.Methods[name] = e.doc
	}
	return d
}

func ex(name string, params ...any) apidoc.Example {
	return apidoc.Example{Name: name, Params: params}
}

func exErr(name string, e *messages.Error, params ...any) apidoc.Example {
	return apidoc.Example{Name: name, Params: params, Error: e}
}

// query describes a query answered as the HTTP method http.
func query(http, summary string, examples ...apidoc.Example) *apidoc.Method {
	m := httprpc.Describe(http)
	m.Summary = summary + " (as " + http + ")"
	m.Examples = examples
	return m
}

// privateQuery describes a query answered as the HTTP method http for the
// connection's user: its user_id param is left out.
func privateQuery(http, summary string, examples ...apidoc.Example) *apidoc.Method {
	m := query(http, summary, examples...)
	m.Params = m.Params[1:]
	m.Auth = true
	m.Errors = append(m.Errors, messages.ErrRequireAuth)
	m.Examples = append(m.Examples, exErr("not authenticated", messages.ErrRequireAuth, examples[0].Params...))
	return m
}

var (
	docKlineQuery = query("market.kline", "Candles", ex("daily", "BTCUSDT", 1, 4102444800, 86400))
	docDepthQuery = query("order.depth", "Depth", ex("ten levels", "BTCUSDT", 10, "0"))
	docPriceQuery = query("market.last", "Last price", ex("BTCUSDT", "BTCUSDT"))
	docStateQuery = query("market.status", "Market status over a period", ex("a day", "BTCUSDT", 86400))
	docTodayQuery = query("market.status_today", "Today's market status", ex("BTCUSDT", "BTCUSDT"))
	docDealsQuery = query("market.deals", "Latest deals", ex("latest", "BTCUSDT", 10, 0))
	// market.list has no query/subscribe pair: the markets change only with
	// the configuration. The web console's market selector reads it.
	docMarketList = query("market.list", "The configured markets, their precisions and min_amount", ex("all"))

	docOrderQuery   = privateQuery("order.pending", "The user's open orders", ex("BTCUSDT", "BTCUSDT", 0, 10))
	docOrderHistory = allRequired(privateQuery("order.finished", "The user's finished orders; all six params needed",
		ex("BTCUSDT", "BTCUSDT", 0, 0, 0, 10, 0)))
	docAssetQuery   = privateQuery("balance.query", "The user's balances", ex("two assets", "BTC", "USDT"))
	docAssetHistory = allRequired(privateQuery("balance.history", "The user's balance changes; all six params needed",
		ex("USDT", "USDT", "", 0, 0, 0, 10)))
)

// allRequired marks every param required (order.history and
// asset.history take exactly six).
func allRequired(m *apidoc.Method) *apidoc.Method {
	for i := range m.Params {
		m.Params[i].Optional = false
	}
	return m
}

var status = apidoc.Status()

var pMarket = apidoc.Param{Name: "market", Schema: apidoc.Str("market name (market.list)"), Rule: errMarket.Message[len("invalid argument: "):]}

var docPing = apidoc.Method{Summary: "Liveness", Result: apidoc.Const("pong"), Examples: []apidoc.Example{ex("ping")}}

var docTime = apidoc.Method{Summary: "The server's clock", Result: apidoc.Integer("Unix seconds"),
	Examples: []apidoc.Example{ex("now")}}

var docAuth = apidoc.Method{
	Summary: "Authenticate the connection with a token checked by websocket.auth_url (or, with -dev-auth, \"dev:<user_id>\")",
	Params: []apidoc.Param{{Name: "token", Schema: apidoc.Str(""), Rule: "must be a string"},
		{Name: "source", Schema: apidoc.StrLen(0, maxSource, ""), Rule: "must be a string shorter than 32 bytes"}},
	Result: status,
	Errors: []*messages.Error{{Code: 11, Message: "the auth service's refusal"}},
	Examples: []apidoc.Example{ex("development token", "dev:1", "web"),
		exErr("bad development token", &messages.Error{Code: 11, Message: "invalid development token"}, "dev:x", "web")},
}

var docSign = apidoc.Method{
	Summary: "Authenticate the connection with an access id and signature checked by websocket.sign_url",
	Params: []apidoc.Param{{Name: "access_id", Schema: apidoc.Str(""), Rule: "must be a string"},
		{Name: "authorisation", Schema: apidoc.Str(""), Rule: "must be a string"},
		{Name: "tonce", Schema: apidoc.Integer("non-zero"), Rule: "must be a non-zero integer"}},
	Result:   status,
	Errors:   []*messages.Error{{Code: 11, Message: "the sign service's refusal"}},
	Examples: []apidoc.Example{exErr("no sign service configured", errSignNotConfigured, "id", "signature", 1)},
}

var docKlineSubscribe = apidoc.Method{
	Summary: "Follow the market's last candle: kline.update pushes [[time, open, close, high, low, volume, deal, market]…]",
	Params: []apidoc.Param{pMarket, {Name: "interval", Schema: apidoc.Int(1, 1<<63-1, "seconds"),
		Rule: "must be an integer > 0 (seconds)"}},
	Result:   status,
	Errors:   []*messages.Error{messages.ErrLimitExceeded},
	Examples: []apidoc.Example{ex("a minute", "BTCUSDT", 60)},
}

var docDepthSubscribe = apidoc.Method{
	Summary: "Follow the market's depth: depth.update pushes [clean, {asks, bids}, market], snapshots and diffs",
	Params: []apidoc.Param{pMarket,
		{Name: "limit", Schema: apidoc.Integer("levels"), Rule: "must be one of websocket.depth_limit"},
		{Name: "interval", Schema: apidoc.DecIn("merge step"), Rule: "must be a decimal string, one of websocket.depth_merge"}},
	Result:   status,
	Errors:   []*messages.Error{messages.ErrLimitExceeded},
	Examples: []apidoc.Example{ex("ten levels", "BTCUSDT", 10, "0")},
}

// marketsSubscribeDoc describes price, state, today and deals.subscribe.
func marketsSubscribeDoc(push string) *apidoc.Method {
	return &apidoc.Method{
		Summary: "Follow markets (replacing this connection's previous list): " + push + " pushes",
		Params: []apidoc.Param{{Name: "market", Schema: apidoc.Str("market name"), Repeated: true,
			Rule: pMarket.Rule}},
		Result:   status,
		Errors:   []*messages.Error{messages.ErrLimitExceeded},
		Examples: []apidoc.Example{ex("BTCUSDT", "BTCUSDT")},
	}
}

var docOrderSubscribe = apidoc.Method{
	Summary: "Follow the user's orders in markets: order.update pushes [event, order]",
	Params: []apidoc.Param{{Name: "market", Schema: apidoc.Str("market name"), Repeated: true,
		Rule: pMarket.Rule}},
	Result: status,
	Auth:   true,
	Errors: []*messages.Error{messages.ErrRequireAuth, messages.ErrLimitExceeded},
	Examples: []apidoc.Example{ex("BTCUSDT", "BTCUSDT"),
		exErr("not authenticated", messages.ErrRequireAuth, "BTCUSDT")},
}

var docAssetSubscribe = apidoc.Method{
	Summary: "Follow the user's balances: asset.update pushes [{asset: {available, freeze}}]",
	Params: []apidoc.Param{{Name: "asset", Schema: apidoc.Str("asset name"), Repeated: true,
		Rule: errAsset.Message[len("invalid argument: "):]}},
	Result: status,
	Auth:   true,
	Errors: []*messages.Error{messages.ErrRequireAuth, messages.ErrLimitExceeded},
	Examples: []apidoc.Example{ex("USDT", "USDT"),
		exErr("not authenticated", messages.ErrRequireAuth, "USDT")},
}

// unsubscribeDoc describes <kind>.unsubscribe.
func unsubscribeDoc(k kind) *apidoc.Method {
	m := &apidoc.Method{
		Summary:  "End this connection's " + kindNames[k] + " subscription (params ignored)",
		Result:   status,
		Examples: []apidoc.Example{ex("end")},
	}
	if k == kOrder || k == kAsset {
		m.Auth = true
		m.Errors = []*messages.Error{messages.ErrRequireAuth}
	}
	return m
}

// ownOrder describes an order method a connection calls for its own user
// (httprpc.OwnCommand): the HTTP method http without user_id and the fee
// rates (httprpc.OwnBound), code 6 before authentication, code 10 for
// another user's order (never 11).
func ownOrder(http string, examples ...apidoc.Example) *apidoc.Method {
	m := httprpc.Describe(http)
	m.Summary += ", for the connection's user"
	params := make([]apidoc.Param, 0, len(m.Params))
	for _, p := range m.Params {
		switch {
		case p.Name == "taker_fee_rate":
			m.Summary += ", at the market's fee rates in force (maker_fee, taker_fee: the file seeds them, market.update changes them; never the client's)"
		case !httprpc.OwnBound(p.Name):
			params = append(params, p)
		}
	}
	m.Params = params
	m.Auth = true
	errs := []*messages.Error{messages.ErrRequireAuth}
	for _, e := range m.Errors {
		if e != messages.ErrUserNotMatch {
			errs = append(errs, e)
		}
	}
	m.Errors = errs
	m.Examples = append(examples, exErr("not authenticated", messages.ErrRequireAuth, examples[0].Params...))
	return m
}

// feesSent is the answer to an order sent with the HTTP method's fee
// rates: too many params.
func feesSent(names ...string) *messages.Error {
	return &messages.Error{Code: messages.ErrInvalidArgument.Code,
		Message: "invalid argument: expected " + strconv.Itoa(len(names)) + " params [" + strings.Join(names, ", ") + "], got " + strconv.Itoa(len(names)+2)}
}

// The order entry examples run after the HTTP document's (seed orders 3, 4
// and 6 belong to users 2 and 3; 7 is user 1's bid of 0.2 at 95).
var (
	wsBTC       = "BTCUSDT"
	docPutLimit = ownOrder("order.put_limit", ex("buy 0.1 BTC at 80", wsBTC, 2, "0.1", "80", "web"),
		exErr("below min_amount", messages.ErrAmountTooSmall, wsBTC, 2, "0.00001", "80", "web"),
		exErr("fee rates sent", feesSent("market", "side", "amount", "price", "source"), wsBTC, 2, "0.1", "80", "0", "0", "web"))
	docPutLimitEx = ownOrder("order.put_limit_ex",
		ex("with a client id", wsBTC, 2, "0.1", "85", "web", map[string]any{"client_id": "ws-1", "time_in_force": "GTC"}),
		exErr("client id in use", messages.ErrClientIDInUse, wsBTC, 2, "0.1", "84", "web", map[string]any{"client_id": "ws-1"}))
	docPutMarket   = ownOrder("order.put_market", ex("buy for 10 USDT", wsBTC, 2, "10", "web"))
	docPutMarketEx = ownOrder("order.put_market_ex",
		ex("buy for 10 USDT", wsBTC, 2, "10", "web", map[string]any{"stp": "cancel_taker", "client_id": "ws-m"}))
	docPutStopLimit = ownOrder("order.put_stop_limit",
		ex("sell if the price falls to 90", wsBTC, 1, "0.01", "90", "89", "web"),
		exErr("stop already reached", messages.ErrStopWouldTrigger, wsBTC, 1, "0.01", "200", "199", "web"))
	docPutStopMarket = ownOrder("order.put_stop_market",
		ex("buy for 10 USDT if the price rises to 130", wsBTC, 2, "10", "130", "web", map[string]any{"client_id": "ws-s"}))
	docCancel = ownOrder("order.cancel", ex("order 7", wsBTC, seedOrder(7)),
		exErr("another user's", messages.ErrOrderNotFound, wsBTC, seedOrder(4)))
	docCancelAll = ownOrder("order.cancel_all", ex("both sides", wsBTC, 0))
	docAmend     = ownOrder("order.amend", ex("order 7 to 0.1", wsBTC, seedOrder(7), "0.1"),
		exErr("another user's", messages.ErrOrderNotFound, wsBTC, seedOrder(3), "0.5"))
)

// seedOrder is the id of the k-th order placed in BTCUSDT (as the HTTP
// document's examples name them).
func seedOrder(k int) uint64 { return uint64(k) << 10 }
