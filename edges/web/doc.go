// Package web is the web console: the trader page (/) and the operator
// page (/ops), served on a listener of their own (-web-addr, config
// web.addr; README "Web console").
//
// The pages are plain HTML, CSS and JavaScript modules embedded in the
// binary (static/); no build step and no third-party code. The trader page
// talks only to the public websocket API (edges/ws): market.list,
// kline/depth/deals/today queries and subscriptions, server.auth, the
// order and asset queries and subscriptions, and the websocket order entry
// methods. It learns where that API listens from /config.json.
//
// The operator page reads the node's own figures: /ops/metrics (the
// Prometheus registry the HTTP listener serves as /metrics) and /ops/state
// (the HTTP method server.state), both behind the operator's bearer token
// (-http-token, -http-token-file). With no token configured they answer
// 403: this listener may face a wider network than the internal HTTP API.
package web
