// Package httprpc is Bourse's HTTP JSON-RPC edge, wire-compatible with
// viabtc_exchange_server's accesshttp, as docs/protocol.md describes it
// ("HTTP transport", "HTTP methods", and the differences D1–D16).
//
// # Envelope
//
// A request is an HTTP POST to any path (except the reserved paths below)
// whose body is a JSON object {"method": string, "params": array, "id":
// integer}; other fields are ignored, Content-Type is not checked. The
// answers are:
//
//	non-POST, body not a JSON object (or not UTF-8), id not an
//	integer in int64 range, method not a string, params not an array   400, empty body
//	body longer than Server.MaxBodyBytes                               413, empty body
//	BearerToken set and the request lacks it                           401, empty body
//	method not in the table                                            404, {"error":{"code":4,...},"result":null,"id":N}
//	the exchange did not answer within Server.Timeout                  504, {"error":{"code":5,...},"result":null,"id":N}
//	otherwise                                                          200, {"error":null,"result":R,"id":N}
//	                                                                     or {"error":{"code":C,"message":M},"result":null,"id":N}
//
// Reserved paths: GET or HEAD /healthz answers 200 "ok" (no token needed);
// GET /metrics is served by Server.Metrics when it is set.
//
// # Methods
//
// balance.query, balance.update, asset.list, asset.summary,
// order.put_limit, order.put_market, order.cancel, order.book, order.depth,
// order.pending, order.pending_detail, market.list and market.summary, with
// viabtc's positional params; Bourse's order options (README "Order
// options"): order.put_limit_ex, order.put_market_ex, order.put_stop_limit,
// order.put_stop_market (a trailing options object), order.cancel_all,
// order.cancel_by_client_id, order.pending_detail_by_client_id,
// order.amend, order.amend_by_client_id and order.cancel_all_after; and
// server.state. Every param is checked before anything is sent
// to the exchange; any violation — wrong count, wrong JSON type (integers
// must be JSON integers, decimals JSON strings), out of range, unknown
// market or asset — answers code 1 "invalid argument" and sends nothing.
// Decimals are parsed with actors/fixed at the precision the method names
// (truncating toward zero, scientific notation accepted) and results are
// printed in plain notation with trailing zeros stripped (docs/protocol.md D2).
//
// asset.list and market.list are answered from configuration. Every other
// method builds one command (market.summary: one per market asked) and waits
// for the reply through actors.Exchange.
//
// Bourse's decisions applied here: user_id must be ≥ 1 for balance.update
// and every order method that changes something (D9; balance.query,
// order.pending and order.pending_detail_by_client_id accept 0, the fee
// account); source and business are at most
// 30 bytes and detail at most 1 KiB (D16); a market buy's amount is money,
// truncated at money_prec (D8); the listener can require a bearer token
// (D14).
//
// Deviations from viabtc, all in the direction of refusing or simplifying
// nonsense: names repeated in the params of balance.query, asset.summary and
// market.summary are answered once; integers outside their type's range
// (user_id beyond uint32, negative offsets) are code 1 instead of wrapping.
//
// # Concurrency
//
// A Server's handler is safe for concurrent use; each request is served on
// its own goroutine (net/http) and only that goroutine waits for the
// exchange. Exported fields must be set before Handler, Serve or
// ListenAndServe is called and not changed afterwards.
package httprpc
