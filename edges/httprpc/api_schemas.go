package httprpc

import (
	"math"
	"strings"

	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/messages"
)

// The schemas of this API's params and results, which the method table's
// descriptions (api.go) use and docs/openrpc-http.json shows. Each says
// exactly what internal/wire writes and params.go accepts.

type schema = apidoc.Schema

var (
	dec     = apidoc.Dec
	decIn   = apidoc.DecIn
	str     = apidoc.Str
	integer = apidoc.Integer
	ref     = apidoc.Ref
	f, opt  = apidoc.F, apidoc.Opt
	obj     = apidoc.Obj
	arr     = apidoc.Arr
)

// rule is the rule text of a code 1 answer: its message without the
// "invalid argument: " prefix.
func rule(e *messages.Error) string { return strings.TrimPrefix(e.Message, "invalid argument: ") }

// param is a positional param whose rule is the text of its code 1 answer.
func param(name string, s schema, e *messages.Error) apidoc.Param {
	return apidoc.Param{Name: name, Schema: s, Rule: rule(e)}
}

// The params shared by several methods.
var (
	pUser      = param("user_id", apidoc.Int(1, math.MaxUint32, "user id"), errUserID)
	pUserZero  = param("user_id", apidoc.Int(0, math.MaxUint32, "user id; 0 is the fee account"), errUserIDZero)
	pMarket    = param("market", str("market name (market.list)"), errMarket)
	pAsset     = param("asset", str("asset name (asset.list)"), errAsset)
	pSide      = param("side", apidoc.Enum("1 ask (sell), 2 bid (buy)", 1, 2), errSide)
	pSideBoth  = param("side", apidoc.Enum("0 both, 1 ask (sell), 2 bid (buy)", 0, 1, 2), errSideOrBoth)
	pSource    = param("source", apidoc.StrLen(0, MaxSourceLen, "the caller's tag (at most 30 bytes)"), errSource)
	pOrderID   = param("order_id", apidoc.Int(0, math.MaxUint64, "order id"), errOrderID)
	pClientID  = param("client_id", apidoc.StrLen(1, 32, "client order id: A-Z a-z 0-9 . _ : -"), errClientID)
	pOffset    = param("offset", apidoc.Int(0, math.MaxInt64, "records to skip"), errOffset)
	pLimit     = param("limit", apidoc.Int(0, MaxLimit, "records at most"), errLimit)
	pTakerFee  = apidoc.Param{Name: "taker_fee_rate", Schema: decIn("taker fee rate, 0 ≤ rate < 1"), Rule: "must be a decimal string at the market's fee_prec from 0 to less than 1"}
	pMakerFee  = apidoc.Param{Name: "maker_fee_rate", Schema: decIn("maker fee rate, 0 ≤ rate < 1"), Rule: "must be a decimal string at the market's fee_prec from 0 to less than 1"}
	pPrice     = apidoc.Param{Name: "price", Schema: decIn("limit price"), Rule: "must be a decimal string > 0 once truncated at the market's money_prec"}
	pStopPrice = apidoc.Param{Name: "stop_price", Schema: decIn("trigger price"), Rule: "must be a decimal string > 0 once truncated at the market's money_prec"}
	pAmount    = apidoc.Param{Name: "amount", Schema: decIn("amount of stock"), Rule: "must be a decimal string > 0 once truncated at the market's stock_prec"}
	pMktAmount = apidoc.Param{Name: "amount", Schema: decIn("a sell's amount of stock; a buy's amount of money"), Rule: "must be a decimal string > 0 once truncated at the market's stock_prec (a buy: money_prec)"}
)

// History params: viabtc's readhistory reads a non-integer as 0 (history.go).
var (
	pHistUser  = param("user_id", apidoc.Any("user id 1 to 4294967295; a value that is not an integer reads as 0"), errUserID)
	pHistTime  = apidoc.Param{Name: "start_time", Schema: apidoc.Any("Unix seconds, 0: unbounded"), Rule: rule(errTimes)}
	pHistEnd   = apidoc.Param{Name: "end_time", Schema: apidoc.Any("Unix seconds, 0: unbounded"), Rule: rule(errTimes)}
	pHistOff   = apidoc.Param{Name: "offset", Schema: apidoc.Any("records to skip"), Rule: rule(errPage)}
	pHistLimit = apidoc.Param{Name: "limit", Schema: apidoc.Any("records at most, 1 to 101"), Rule: rule(errPage)}
	pHistOrder = apidoc.Param{Name: "order_id", Schema: apidoc.Any("order id ≥ 1"), Rule: "must be an integer from 1 to 18446744073709551615"}
)

// optionsParam is the options object of the _ex and stop methods.
func optionsParam(limit bool, optional bool) apidoc.Param {
	fields := []apidoc.Field{
		opt("stp", apidoc.Any(`self-trade prevention: "none", "cancel_taker", "cancel_maker", "cancel_both"; null: the market's`)),
		opt("client_id", apidoc.Any("client order id, unique among the user's open orders in the market; null: none")),
	}
	if limit {
		fields = append(fields,
			opt("time_in_force", apidoc.Any(`"GTC", "IOC" or "FOK"; null: GTC`)),
			opt("post_only", apidoc.Any("true: refused with code 13 if it would take liquidity (GTC only)")))
	}
	return apidoc.Param{Name: "options", Schema: obj("order options", fields...), Optional: optional,
		Rule: "an object of these keys only; a null value is the same as an absent key"}
}

// components are the shared result schemas.
func components() map[string]schema {
	return map[string]schema{
		"Order":         orderSchema(),
		"FinishedOrder": finishedOrderSchema(),
		"Balance": obj("a balance at the asset's prec_show",
			f("available", dec("available")), f("freeze", dec("frozen by open orders"))),
		"MarketDeal": obj("a deal of the market",
			f("id", integer("deal id")), f("time", apidoc.Time("time")), f("price", dec("price")),
			f("amount", dec("amount of stock")), f("type", apidoc.Enum("the taker's side", "sell", "buy"))),
		"Candle": apidoc.Tuple("[time, open, close, high, low, volume, deal, market]",
			integer("bucket start, Unix seconds"), dec("open"), dec("close"), dec("high"), dec("low"),
			dec("volume (stock)"), dec("deal (money)"), str("market")),
		"Depth": obj("price levels, best first",
			f("asks", arr("", ref("DepthLevel"))), f("bids", arr("", ref("DepthLevel")))),
		"DepthLevel": apidoc.Tuple("[price, amount]", dec("price"), dec("amount at this level")),
		"Status": obj("the market over the period",
			f("period", integer("seconds")), f("last", dec("")), f("open", dec("")), f("close", dec("")),
			f("high", dec("")), f("low", dec("")), f("volume", dec("")), f("deal", dec(""))),
		"Today": obj("today's open, high, low and last; volume and deal of the last 24 hours",
			f("open", dec("")), f("last", dec("")), f("high", dec("")), f("low", dec("")),
			f("volume", dec("")), f("deal", dec(""))),
		"BalanceRecord": obj("a balance change",
			f("time", apidoc.Time("time")), f("asset", str("")), f("business", str("")),
			f("change", dec("")), f("balance", dec("the balance after the change")),
			f("detail", apidoc.Any("the caller's detail, with \"id\": business_id", "object"))),
		"DealRecord":     dealRecordSchema(false),
		"UserDealRecord": dealRecordSchema(true),
	}
}

// orderFields are the order object's members (docs/protocol.md "Order
// object"); finished drops left and mtime and adds ftime.
func orderFields(finished bool) []apidoc.Field {
	fs := []apidoc.Field{f("id", integer("order id")), f("market", str("")), f("source", str("")),
		f("type", apidoc.Enum("1 limit, 2 market", 1, 2)), f("side", apidoc.Enum("1 ask, 2 bid", 1, 2)),
		f("user", integer("owner")), f("ctime", apidoc.Time("creation"))}
	if finished {
		fs = append(fs, f("ftime", apidoc.Time("finish")))
	} else {
		fs = append(fs, f("mtime", apidoc.Time("last change")), f("left", dec("still to fill, in amount's unit")))
	}
	return append(fs, f("price", dec("limit price; 0 for a market order")),
		f("amount", dec("stock; money for a market buy")), f("taker_fee", dec("")), f("maker_fee", dec("")),
		f("deal_stock", dec("")), f("deal_money", dec("")), f("deal_fee", dec("")),
		opt("client_id", str("")), opt("stop_price", dec("")), opt("triggered", apidoc.Bool("")),
		opt("time_in_force", apidoc.Enum("", "IOC", "FOK")), opt("post_only", apidoc.Const(true)),
		opt("stp", apidoc.Enum("", "none", "cancel_taker", "cancel_maker", "cancel_both")))
}

func orderSchema() schema { return obj("an open or just finished order", orderFields(false)...) }

func finishedOrderSchema() schema {
	return obj("a finished order from history", orderFields(true)...)
}

func dealRecordSchema(user bool) schema {
	fs := []apidoc.Field{f("time", apidoc.Time("")), f("user", integer("")), f("id", integer("deal id"))}
	if user {
		fs = append(fs, f("side", apidoc.Enum("1 ask, 2 bid", 1, 2)))
	}
	fs = append(fs, f("role", apidoc.Enum("1 maker, 2 taker", 1, 2)), f("price", dec("")), f("amount", dec("")),
		f("deal", dec("")), f("fee", dec("")), f("deal_order_id", integer("the other order")))
	if user {
		fs = append(fs, f("market", str("")))
	}
	return obj("the order's side of a deal", fs...)
}

// page is a history page of records.
func page(records schema) schema {
	return obj("", f("offset", integer("")), f("limit", integer("")), f("records", arr("newest first", records)))
}

// orderList is order.pending's page (records) or order.book's (orders).
func orderList(key string) schema {
	return obj("", f("limit", integer("")), f("offset", integer("")), f("total", integer("")),
		f(key, arr("", ref("Order"))))
}
