package httprpc

import (
	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/messages"
)

// The descriptions the method table (methods.go) carries: params, result,
// codes and examples of each method. docs/openrpc-http.json is written from
// them (docs/README.md says how); the test in docs/ replays every example
// against a live node, in the document's order (by name), after seeding it
// with deposits and seven orders in BTCUSDT (docs/openrpc_live_test.go):
// the examples name those orders (seedOrder).

type api = apidoc.Method

type p = []apidoc.Param

// ex is an example that succeeds; exErr one that answers e.
func ex(name string, params ...any) apidoc.Example {
	return apidoc.Example{Name: name, Params: params}
}

func exErr(name string, e *messages.Error, params ...any) apidoc.Example {
	return apidoc.Example{Name: name, Params: params, Error: e}
}

type errs = []*messages.Error

type exs = []apidoc.Example

// API describes this edge's methods, for docs/openrpc-http.json.
func API() *apidoc.Doc {
	d := &apidoc.Doc{
		Title: "Bourse HTTP JSON-RPC",
		Description: "viabtc_exchange_server's HTTP API as Bourse serves it (docs/protocol.md). " +
			"A request is POST {\"method\", \"params\": [positional], \"id\"}; " +
			"the answer {\"error\", \"result\", \"id\"}. Generated from edges/httprpc's method table.",
		Methods: map[string]*apidoc.Method{},
		Schemas: components(),
	}
	for name, e := range methods {
		d.Methods[name] = e.doc
	}
	return d
}

// seedOrder is the id of the k-th order placed in BTCUSDT, market 0
// (README "Order and deal ids").
func seedOrder(k int) uint64 { return uint64(k) << 10 }

var (
	emptyObj = map[string]any{}
	seedA    = "seed-a" // client id of order 3 (user 2)
	seedB    = "seed-b" // client id of order 5 (user 1)
)

var docBalanceQuery = api{
	Summary: "Balances of a user: the named assets, or all",
	Params:  p{pUserZero, {Name: "asset", Schema: str("asset name"), Repeated: true, Rule: rule(errAsset)}},
	Result:  apidoc.Map("asset name → balance", ref("Balance")),
	Examples: exs{ex("two assets", 1, "BTC", "USDT"),
		exErr("unknown asset", errAsset, 1, "XYZ")},
}

var docBalanceUpdate = api{
	Summary: "Deposit (change > 0) or withdraw (change < 0); idempotent on (user_id, asset, business, business_id)",
	Params: p{pUser, pAsset,
		param("business", apidoc.StrLen(1, MaxBusinessLen, "kind of change, e.g. deposit"), errBusiness),
		param("business_id", apidoc.Int(0, 1<<64-1, "the caller's id of the change"), errBusinessID),
		{Name: "change", Schema: decIn("signed change"), Rule: "must be a decimal string at the asset's prec_show, negative to withdraw"},
		param("detail", apidoc.Any("stored with the history record", "object"), errDetail)},
	Result: apidoc.Status(),
	Errors: errs{messages.ErrRepeatUpdate, messages.ErrWithdrawNotEnough},
	Examples: exs{ex("deposit", 4, "USDT", "deposit", 1, "100", map[string]any{"note": "example"}),
		exErr("the same again", messages.ErrRepeatUpdate, 4, "USDT", "deposit", 1, "100", map[string]any{"note": "example"}),
		exErr("withdraw too much", messages.ErrWithdrawNotEnough, 4, "USDT", "withdraw", 2, "-1000", emptyObj)},
}

var docBalanceHistory = api{
	Summary: "A user's balance changes, newest first",
	Params: p{pHistUser,
		{Name: "asset", Schema: str(`asset name, "" for any`), Rule: `must be a string ("" for any)`},
		{Name: "business", Schema: str(`business, "" for any`), Rule: `must be a string ("" for any)`},
		pHistTime, pHistEnd, pHistOff, pHistLimit},
	Result:   page(ref("BalanceRecord")),
	Examples: exs{ex("user 1's USDT", 1, "USDT", "", 0, 0, 0, 10)},
}

var docAssetList = api{
	Summary:  "The configured assets (params ignored)",
	Result:   arr("", obj("", f("name", str("")), f("prec", integer("prec_show")))),
	Examples: exs{ex("all")},
}

var docAssetSummary = api{
	Summary: "Totals per asset over every user: all assets, or the named ones",
	Params:  p{{Name: "asset", Schema: str("asset name"), Repeated: true, Rule: rule(errAsset)}},
	Result: arr("", obj("", f("name", str("")), f("total_balance", dec("")),
		f("available_count", integer("users with an available balance")), f("available_balance", dec("")),
		f("freeze_count", integer("users with a frozen balance")), f("freeze_balance", dec("")))),
	Examples: exs{ex("two assets", "BTC", "USDT")},
}

// Describe returns a copy of the description of the HTTP method name (nil
// if there is none), for the websocket methods that answer as it does.
func Describe(name string) *apidoc.Method {
	e, ok := methods[name]
	if !ok {
		return nil
	}
	m := *e.doc
	m.Params = append([]apidoc.Param(nil), m.Params...)
	m.Errors = append([]*messages.Error(nil), m.Errors...)
	m.Examples = nil
	return &m
}

// Components are the shared schemas the descriptions refer to.
func Components() map[string]apidoc.Schema { return components() }
