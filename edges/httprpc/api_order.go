package httprpc

import (
	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/messages"
)

// The order methods' descriptions (api.go).

var limitParamList = p{pUser, pMarket, pSide, pAmount, pPrice, pTakerFee, pMakerFee, pSource}

var putErrs = errs{messages.ErrBalanceNotEnough, messages.ErrAmountTooSmall, messages.ErrLimitExceeded, messages.ErrMarketHalted}

var docPutLimit = api{
	Summary: "Place a limit order; it matches at once and the rest rests",
	Params:  limitParamList,
	Result:  ref("Order"),
	Errors:  putErrs,
	Examples: exs{ex("sell 0.1 BTC at 150", 2, "BTCUSDT", 1, "0.1", "150", "0.002", "0.001", "api"),
		exErr("no funds", messages.ErrBalanceNotEnough, 5, "BTCUSDT", 1, "0.1", "150", "0.002", "0.001", "api"),
		exErr("below min_amount", messages.ErrAmountTooSmall, 2, "BTCUSDT", 1, "0.00001", "150", "0.002", "0.001", "api"),
		exErr("halted market", messages.ErrMarketHalted, 2, "ETHBTC", 2, "0.1", "0.05", "0.002", "0.001", "api")},
}

var docPutLimitEx = api{
	Summary: "order.put_limit with order options",
	Params:  append(append(p{}, limitParamList...), optionsParam(true, false)),
	Result:  ref("Order"),
	Errors:  append(errs{messages.ErrNoEnoughTrader, messages.ErrWouldTake, messages.ErrClientIDInUse}, putErrs...),
	Examples: exs{ex("with a client id", 2, "BTCUSDT", 1, "0.1", "160", "0.002", "0.001", "api", map[string]any{"client_id": "ex-1", "time_in_force": "GTC"}),
		exErr("post-only that would take", messages.ErrWouldTake, 2, "BTCUSDT", 1, "0.1", "95", "0.002", "0.001", "api", map[string]any{"post_only": true}),
		exErr("client id in use", messages.ErrClientIDInUse, 2, "BTCUSDT", 1, "0.1", "170", "0.002", "0.001", "api", map[string]any{"client_id": seedA})},
}

var marketParamList = p{pUser, pMarket, pSide, pMktAmount, pTakerFee, pSource}

var docPutMarket = api{
	Summary: "Place a market order; it takes what the book offers and finishes",
	Params:  marketParamList,
	Result:  ref("Order"),
	Errors:  errs{messages.ErrBalanceNotEnough, messages.ErrAmountTooSmall, messages.ErrNoEnoughTrader, messages.ErrMarketHalted},
	Examples: exs{ex("buy for 10 USDT", 1, "BTCUSDT", 2, "10", "0.002", "api"),
		exErr("nothing to take", messages.ErrNoEnoughTrader, 1, "ETHUSDT", 2, "10", "0.002", "api")},
}

var docPutMarketEx = api{
	Summary:  "order.put_market with order options (stp, client_id)",
	Params:   append(append(p{}, marketParamList...), optionsParam(false, false)),
	Result:   ref("Order"),
	Errors:   errs{messages.ErrBalanceNotEnough, messages.ErrAmountTooSmall, messages.ErrNoEnoughTrader, messages.ErrClientIDInUse, messages.ErrMarketHalted},
	Examples: exs{ex("buy for 10 USDT", 1, "BTCUSDT", 2, "10", "0.002", "api", map[string]any{"stp": "cancel_taker", "client_id": "mkt-1"})},
}

var docPutStopLimit = api{
	Summary: "A limit order held until a trade reaches stop_price",
	Params:  p{pUser, pMarket, pSide, pAmount, pStopPrice, pPrice, pTakerFee, pMakerFee, pSource, optionsParam(true, true)},
	Result:  ref("Order"),
	Errors:  append(errs{messages.ErrClientIDInUse, messages.ErrStopWouldTrigger}, putErrs...),
	Examples: exs{ex("sell if the price falls to 90", 2, "BTCUSDT", 1, "0.1", "90", "89", "0.002", "0.001", "api"),
		exErr("stop already reached", messages.ErrStopWouldTrigger, 2, "BTCUSDT", 1, "0.1", "110", "109", "0.002", "0.001", "api")},
}

var docPutStopMarket = api{
	Summary:  "A market order held until a trade reaches stop_price",
	Params:   p{pUser, pMarket, pSide, pMktAmount, pStopPrice, pTakerFee, pSource, optionsParam(false, true)},
	Result:   ref("Order"),
	Errors:   append(errs{messages.ErrClientIDInUse, messages.ErrStopWouldTrigger}, putErrs...),
	Examples: exs{ex("buy for 10 USDT if the price rises to 130", 1, "BTCUSDT", 2, "10", "130", "0.002", "api")},
}

var docCancel = api{
	Summary: "Cancel an open order",
	Params:  p{pUser, pMarket, pOrderID},
	Result:  ref("Order"),
	Errors:  errs{messages.ErrOrderNotFound, messages.ErrUserNotMatch},
	Examples: exs{ex("order 4", 2, "BTCUSDT", seedOrder(4)),
		exErr("not open", messages.ErrOrderNotFound, 2, "BTCUSDT", seedOrder(4)),
		exErr("another user's", messages.ErrUserNotMatch, 1, "BTCUSDT", seedOrder(3))},
}

var docCancelByClientID = api{
	Summary:  "Cancel the user's open order with this client id",
	Params:   p{pUser, pMarket, pClientID},
	Result:   ref("Order"),
	Errors:   errs{messages.ErrOrderNotFound},
	Examples: exs{ex("seed-b", 1, "BTCUSDT", seedB)},
}

var docCancelAll = api{
	Summary:  "Cancel every open order of the user in the market, on one side or both",
	Params:   p{pUser, pMarket, pSideBoth},
	Result:   obj("", f("count", integer("orders cancelled"))),
	Examples: exs{ex("user 3, both sides", 3, "BTCUSDT", 0)},
}

var docCancelAllAfter = api{
	Summary: "Dead-man's switch: unless called again within timeout seconds, cancel the user's orders in the market; 0 disarms",
	Params:  p{pUser, pMarket, param("timeout", apidoc.Int(0, 86400, "seconds; 0 disarms"), errTimeout)},
	Result: obj("", f("deadline", apidoc.Any("Unix seconds with microseconds (a JSON real), or the integer 0 when disarmed",
		"number"))),
	Examples: exs{ex("arm for an hour", 1, "BTCUSDT", 3600), ex("disarm", 1, "BTCUSDT", 0)},
}

var amendAmount = apidoc.Param{Name: "amount", Schema: decIn("the new total amount"),
	Rule: "must be a decimal string at the market's stock_prec, above the order's deal_stock and below its amount"}

var docAmend = api{
	Summary:  "Reduce an open limit order's amount, keeping its place in the queue",
	Params:   p{pUser, pMarket, pOrderID, amendAmount},
	Result:   ref("Order"),
	Errors:   errs{messages.ErrOrderNotFound, messages.ErrUserNotMatch},
	Examples: exs{ex("order 4 to 0.5", 2, "BTCUSDT", seedOrder(4), "0.5")},
}

var docAmendByClientID = api{
	Summary:  "order.amend naming the order by its client id",
	Params:   p{pUser, pMarket, pClientID, amendAmount},
	Result:   ref("Order"),
	Errors:   errs{messages.ErrOrderNotFound},
	Examples: exs{ex("seed-a to 0.8", 2, "BTCUSDT", seedA, "0.8")},
}

var docPendingDetailByClientID = api{
	Summary:  "The user's open order with this client id, or null",
	Params:   p{pUserZero, pMarket, pClientID},
	Result:   apidoc.OneOf(ref("Order"), apidoc.Null()),
	Examples: exs{ex("seed-a", 2, "BTCUSDT", seedA), ex("none", 2, "BTCUSDT", "no-such-id")},
}

var docOrderBook = api{
	Summary:  "One side of the book in matching priority",
	Params:   p{pMarket, pSide, pOffset, pLimit},
	Result:   orderList("orders"),
	Examples: exs{ex("asks", "BTCUSDT", 1, 0, 10)},
}

var docOrderDepth = api{
	Summary: "Price levels per side, best first, optionally merged",
	Params: p{pMarket, pLimit, {Name: "interval", Schema: decIn(`merge step, "0" for none`),
		Rule: rule(errInterval(8))}},
	Result:   ref("Depth"),
	Examples: exs{ex("ten levels", "BTCUSDT", 10, "0"), ex("merged by 10", "BTCUSDT", 10, "10")},
}

var docOrderPending = api{
	Summary:  "The user's open orders in the market, newest first",
	Params:   p{pUserZero, pMarket, pOffset, pLimit},
	Result:   orderList("records"),
	Examples: exs{ex("user 2", 2, "BTCUSDT", 0, 10)},
}

var docOrderPendingDetail = api{
	Summary:  "An open order, or null",
	Params:   p{pMarket, pOrderID},
	Result:   apidoc.OneOf(ref("Order"), apidoc.Null()),
	Examples: exs{ex("order 1", "BTCUSDT", seedOrder(1)), ex("not open", "BTCUSDT", seedOrder(2))},
}

var docOrderFinished = api{
	Summary: "The user's finished orders, newest first",
	Params: p{pHistUser, {Name: "market", Schema: str("market name"), Rule: "must be a string"},
		pHistTime, pHistEnd, pHistOff, pHistLimit,
		{Name: "side", Schema: apidoc.Any("0 both, 1 ask, 2 bid"), Optional: true, Rule: rule(errSideOrBoth)}},
	Result:   page(ref("FinishedOrder")),
	Examples: exs{ex("user 1", 1, "BTCUSDT", 0, 0, 0, 10), ex("user 1's bids", 1, "BTCUSDT", 0, 0, 0, 10, 2)},
}

var docOrderFinishedDetail = api{
	Summary:  "A finished order, or null",
	Params:   p{pHistOrder},
	Result:   apidoc.OneOf(ref("FinishedOrder"), apidoc.Null()),
	Examples: exs{ex("order 2", seedOrder(2)), ex("not finished", seedOrder(3))},
}

var docOrderDeals = api{
	Summary:  "The order's side of each of its deals, newest first",
	Params:   p{pHistOrder, pHistOff, pHistLimit},
	Result:   page(ref("DealRecord")),
	Examples: exs{ex("order 1", seedOrder(1), 0, 10)},
}
