package httprpc

import (
	"math"

	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// The market, operator and server methods' descriptions (api.go).

var docMarketList = api{
	Summary: "The configured markets (params ignored)",
	Result: arr("", obj("", f("name", str("")), f("stock", str("")), f("money", str("")),
		f("fee_prec", integer("")), f("stock_prec", integer("")), f("money_prec", integer("")),
		f("min_amount", dec("")), f("halted", apidoc.Bool("market.halt in force")))),
	Examples: exs{ex("all")},
}

var docMarketSummary = api{
	Summary: "Open orders per side: all markets, or the named ones",
	Params:  p{{Name: "market", Schema: str("market name"), Repeated: true, Rule: rule(errMarket)}},
	Result: arr("", obj("", f("name", str("")), f("ask_count", integer("")), f("ask_amount", dec("")),
		f("bid_count", integer("")), f("bid_amount", dec("")), f("halted", apidoc.Bool("market.halt in force")))),
	Examples: exs{ex("BTCUSDT", "BTCUSDT")},
}

var docMarketLast = api{
	Summary: `The last price, with every money_prec decimal ("100.00"); "0" if never traded`,
	Params:  p{pMarket},
	Result: apidoc.Schema{"type": "string", "pattern": `^(0|[0-9]+(\.[0-9]+)?)$`,
		"description": "raw decimal"},
	Examples: exs{ex("BTCUSDT", "BTCUSDT")},
}

var docMarketDeals = api{
	Summary: "The market's deals newer than last_id, newest first",
	Params: p{pMarket,
		{Name: "limit", Schema: apidoc.Int(1, MaxDealsLimit, "deals at most"), Rule: "must be an integer from 1 to 10000"},
		{Name: "last_id", Schema: integer("0: from the newest"), Rule: "must be an integer"}},
	Result:   arr("", ref("MarketDeal")),
	Examples: exs{ex("latest", "BTCUSDT", 10, 0)},
}

var docMarketKline = api{
	Summary: "Candles from start to end (clamped to now), oldest first",
	Params: p{pMarket,
		{Name: "start", Schema: apidoc.Int(1, 1<<63-1, "Unix seconds"), Rule: "must be an integer > 0 (Unix seconds), ≤ end"},
		{Name: "end", Schema: apidoc.Int(1, 1<<63-1, "Unix seconds"), Rule: "must be an integer > 0 (Unix seconds)"},
		{Name: "interval", Schema: apidoc.Int(1, 1<<63-1, "seconds"), Rule: `must be an integer > 0 and one of docs/protocol.md "K-line intervals"`}},
	Result:   arr("", ref("Candle")),
	Examples: exs{ex("daily", "BTCUSDT", 1, 4102444800, 86400)},
}

var docMarketStatus = api{
	Summary: "Open, close, high, low, volume and deal of the last period seconds",
	Params: p{pMarket, {Name: "period", Schema: apidoc.Int(1, 1<<63-1, "seconds"),
		Rule: "must be an integer from 1 to marketdata.sec_max in seconds"}},
	Result:   ref("Status"),
	Examples: exs{ex("a day", "BTCUSDT", 86400)},
}

var docMarketStatusToday = api{
	Summary:  "Today's open, last, high, low; volume and deal over 24 hours",
	Params:   p{pMarket},
	Result:   ref("Today"),
	Examples: exs{ex("BTCUSDT", "BTCUSDT")},
}

var docMarketUserDeals = api{
	Summary: "The user's deals in the market, newest first",
	Params: p{pHistUser, {Name: "market", Schema: str("market name"), Rule: "must be a string"},
		pHistOff, pHistLimit},
	Result:   page(ref("UserDealRecord")),
	Examples: exs{ex("user 1", 1, "BTCUSDT", 0, 10)},
}

var docMarketHalt = api{
	Summary:  "Operator: refuse new orders in the market (code 16); cancels and amends still work",
	Params:   p{pMarket},
	Result:   apidoc.Status(),
	Examples: exs{ex("ETHBTC", "ETHBTC")},
}

var docMarketResume = api{
	Summary:  "Operator: accept orders again in a halted market (success also when it was not halted)",
	Params:   p{pMarket},
	Result:   apidoc.Status(),
	Examples: exs{ex("ETHUSDT", "ETHUSDT")},
}

var docServerState = api{
	Summary: "Bourse: the journal's last LSN, the state hash, and where each journal follower stands",
	Result: obj("", f("lsn", integer("")), f("hash", apidoc.Schema{"type": "string", "pattern": "^[0-9a-f]{64}$"}),
		opt("followers", apidoc.Map("follower name → position", obj("", f("cursor", integer("")),
			f("lag", integer("records behind")), f("errors", integer("")))))),
	Examples: exs{ex("now")},
}

// The operator's run-time configuration changes (admin.go).

var (
	pPrec    = func(name, what string) apidoc.Param { return param(name, apidoc.Int(0, 255, what), errPrec(name)) }
	pMinAmt  = param("min_amount", str("smallest order amount, a decimal at stock_prec"), errMinAmount)
	pMaxOpen = param("max_open_orders", apidoc.Schema{"type": "integer", "minimum": -1, "maximum": math.MaxInt32, "not": apidoc.Const(0),
		"description": "open orders per user at most; -1: no limit"}, errMaxOpen)
	pSTP      = param("stp", apidoc.Enum("the market's default self-trade prevention", "none", "cancel_taker", "cancel_maker", "cancel_both"), errSTP)
	configErr = errs{messages.ErrInvalidArgument, messages.ErrUnavailable}
	feeDesc   = func(which string) string {
		return "the " + which + " fee rate of the orders websocket connections place, a decimal ≥ 0 and < 1 at fee_prec"
	}
)

var docAssetAdd = api{
	Summary: "Operator: list an asset at run time (journaled; its id is the next one)",
	Params: p{param("name", str("asset name, unique"), errName(config.MaxAssetName)),
		pPrec("prec_save", "decimals balances are kept at, 0 to 36"),
		optional(pPrec("prec_show", "decimals shown, 0 to prec_save; left out: prec_save"))},
	Result: apidoc.Status(),
	Errors: configErr,
	Examples: exs{ex("LTC", "LTC", 8, 8),
		exErr("duplicate", &messages.Error{Code: 1, Message: `invalid argument: name: duplicate asset "BTC"`}, "BTC", 8)},
}

var docMarketAdd = api{
	Summary: "Operator: list a market of two listed assets at run time (journaled; it trades at once)",
	Params: p{param("name", str("market name, unique"), errName(config.MaxMarketName)),
		{Name: "stock", Schema: str("asset name (asset.list)"), Rule: "must be the name of a listed asset (asset.list; case-sensitive)"},
		{Name: "money", Schema: str("asset name (asset.list), not stock"), Rule: "must be the name of a listed asset (asset.list; case-sensitive), not stock"},
		pPrec("stock_prec", "amount decimals; stock_prec + fee_prec ≤ the stock's prec_save"),
		pPrec("money_prec", "price decimals; stock_prec + money_prec and money_prec + fee_prec ≤ the money's prec_save"),
		pPrec("fee_prec", "fee rate decimals (4 in viabtc)"),
		pMinAmt, optional(pMaxOpen), optional(pSTP),
		optional(param("maker_fee", str(feeDesc("maker")+`; left out: "0"`), errFeeDefault("maker_fee"))),
		optional(param("taker_fee", str(feeDesc("taker")+`; left out: "0"`), errFeeDefault("taker_fee")))},
	Result: apidoc.Status(),
	Errors: configErr,
	Examples: exs{ex("LTCUSDT", "LTCUSDT", "LTC", "USDT", 4, 2, 4, "0.01"),
		ex("with fee rates", "LTCBTC", "LTC", "BTC", 4, 4, 4, "0.01", 1000, "none", "0.001", "0.002"),
		exErr("same assets", &messages.Error{Code: 1, Message: `invalid argument: money must differ from stock ("BTC")`},
			"BTCBTC", "BTC", "BTC", 4, 4, 4, "0.01")},
}

var docMarketUpdate = api{
	Summary: "Operator: change a market's trading rules (journaled, in order with its orders); a rule left out is kept",
	Params: p{pMarket, {Name: "rules", Schema: obj("the rules to change",
		opt("min_amount", str("smallest order amount, a decimal at stock_prec")),
		opt("max_open_orders", integer("open orders per user at most; -1: no limit")),
		opt("stp", str(`the market's default self-trade prevention: "none", "cancel_taker", "cancel_maker", "cancel_both"`)),
		opt("maker_fee", str(feeDesc("maker"))),
		opt("taker_fee", str(feeDesc("taker")))),
		Rule: "an object of these keys only; a null value is the same as an absent key"}},
	Result: apidoc.Status(),
	Errors: configErr,
	Examples: exs{ex("LTCUSDT", "LTCUSDT", map[string]any{"min_amount": "0.1", "max_open_orders": 500, "stp": "cancel_maker"}),
		ex("fee rates", "LTCUSDT", map[string]any{"maker_fee": "0.001", "taker_fee": "0.002"}),
		exErr("fee rate too fine", &messages.Error{Code: 1, Message: `invalid argument: maker_fee must be a decimal from 0 to less than 1 with at most fee_prec (4) decimals, got "0.00001"`},
			"LTCUSDT", map[string]any{"maker_fee": "0.00001"}),
		exErr("unknown rule", badParam("rules", `has an unknown key "fee"; known: "min_amount", "max_open_orders", "stp", "maker_fee", "taker_fee"`),
			"BTCUSDT", map[string]any{"fee": "0.1"})},
}

func optional(pa apidoc.Param) apidoc.Param {
	pa.Optional = true
	return pa
}
