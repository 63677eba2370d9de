// Package ws is Bourse's websocket edge, wire-compatible with
// viabtc_exchange_server's accessws (docs/protocol.md "WebSocket"), with the differences D12–D13 of the
// same file.
//
// # Transport
//
// The server upgrades GET requests on the raw connection (gobwas/ws, no
// net/http); any other request gets a plain HTTP error and is closed. If
// the client offers Sec-WebSocket-Protocol, its list must contain the
// configured protocol (default "chat"), which is echoed; otherwise the
// upgrade is refused with 400. With a non-empty origins list, a request
// whose Origin header is not exactly one of them is refused with 403
// (requests without Origin — not browsers — are accepted).
//
// Each connection has a read loop (its own goroutine). Outbound frames are
// written at once with a non-blocking write when nothing is queued and the
// socket has room; otherwise they wait in a bounded queue drained by a
// writer goroutine that exists only while the queue is not empty. A push is
// encoded once (server frames are not masked) and its bytes shared by every
// subscriber; a fan-out to many connections is split over the processors.
// An idle connection costs one goroutine and about 6.5 KiB. Text and binary frames (fragmented or not) are accepted; pings are
// answered with pongs, a close frame is answered and closes. The
// connection is closed, with a CloseReason counted in Stats, when:
//
//	no frame for keep_alive                                   ReasonIdle
//	a message larger than max_message_bytes (close 1009)      ReasonTooLarge
//	a frame breaking RFC 6455, invalid UTF-8 text (1002/1007) ReasonProtocol
//	outbound_queue messages wait, or a write takes longer     ReasonSlow
//	  than Options.WriteTimeout (the client cannot keep up)
//	the client closed or went away                            ReasonClient
//	Shutdown                                                  ReasonShutdown
//
// A slow client is dropped; it never delays the exchange, the pushes or
// other clients.
//
// # Requests
//
// A request is {"method": string, "params": array, "id": integer}, decoded
// exactly as the HTTP edge decodes its body. A malformed request is
// answered with code 1 (with its id when one can be read, else "id":null)
// and an unknown method with code 4 (D12); neither closes the connection.
// Replies are {"error": null|{"code","message"}, "result": …, "id": N};
// notifications are {"method": name, "params": […], "id": null}.
//
// Queries (kline, depth, price, state, today, deals, order.query,
// order.history, asset.query, asset.history) run the HTTP edge's query of
// the same meaning (httprpc.Invoker, one Go method each): same params, same
// results, same codes; code 5 when the exchange does not answer within
// backend_timeout. Private methods need server.auth or server.sign first,
// else code 6. Pushes ask the exchange and market data with typed commands
// and encode with package internal/wire, as the HTTP edge does.
//
// Order entry (docs/protocol.md D17): order.put_limit, put_limit_ex,
// put_market, put_market_ex, put_stop_limit, put_stop_market, cancel,
// cancel_all and amend run the HTTP edge's method of the same name for the
// connection's user (httprpc.OwnCommand, one Go method each): its params
// without user_id and the fee rates, which are the connection's user and
// the market's maker_fee and taker_fee in force; the same decoders,
// results and codes, except that another user's order is code 10 "order
// not found". Before authentication they answer code 6 and send nothing.
// balance.update is not served here.
//
// server.auth [token, source] sends an HTTP GET to auth_url with
// "Authorization: <token>"; server.sign [access_id, authorisation, tonce]
// sends a GET to sign_url?access_id=…&tonce=… with "Authorization:
// <authorisation>". The service answers {"code":0,"data":{"user_id":N}};
// a code ≠ 0 is answered as code 11 with the service's message; a transport
// failure, a malformed answer or user_id 0 as code 2; no answer within
// backend_timeout as code 5. Authenticating as another user drops the
// connection's order and asset subscriptions.
//
// Development authentication (Options.DevAuth, flag -dev-auth): tokens of
// the form "dev:<user_id>" (user_id ≥ 1) are accepted without asking
// auth_url. Serve refuses to run with it on a listener that is not
// loopback.
//
// # Subscriptions and pushes
//
// kline.subscribe, depth.subscribe (one subscription each per connection)
// and price, state, today, deals, order and asset .subscribe (a set each)
// replace the connection's previous subscription of that kind. Pushes are
// driven by the in-process event bus (persistence/events.Bus), that is by
// the durable journal only (D1, D13), and coalesced: a channel (a market's
// depth at a limit and merge interval, a market's price, …) is refreshed
// at most once per push_interval, only after something that can change it
// happened:
//
//	depth.update [clean, depth, market]   after any order change in the market
//	price.update [market, price]          after a deal, when the price changed numerically
//	deals.update [market, [deal, …]]      after a deal: every new deal (from the journal), newest first
//	kline.update [[candle], …]            after a deal, when the last candle changed
//	state.update [market, status]         after a deal, when market.status [market, 86400] changed
//	today.update [market, today]          after a deal, when market.status_today changed
//	order.update [event, order]           every order event of the user in a subscribed market, at once
//	asset.update [{asset: balance}]       after a change of the user's balance of a subscribed asset
//
// Market data pushes are computed once the market data follower has
// applied the deal (Options.MarketDataCursor). A new subscriber gets the
// channel's current value at once when the channel has one (depth: a clean
// snapshot), else with the channel's first refresh. depth.update carries a
// clean snapshot first and every 60 s, and diffs in between as docs/protocol.md "Depth diffs", says:
// applying each diff to the previous snapshot and truncating to the limit
// gives the book.
//
// Deviations from viabtc: subscriptions name configured markets and assets
// (others answer code 1 instead of being accepted and never pushed); a
// channel whose query fails with code 1 (e.g. a kline interval market.kline
// does not accept) simply never pushes, instead of being deleted.
//
// # Concurrency
//
// A Server is safe for concurrent use. Options must not change after New.
package ws
