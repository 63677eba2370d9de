// Package marketdata is Bourse's marketprice (docs/protocol.md "Market data"): k-lines, last
// prices, recent deals and market status, derived from the deals of the
// durable journal and answering the market data methods (market.last,
// market.deals, market.kline, market.status, market.status_today).
//
// Model is the pure core: no I/O, no clock, no goroutines. It folds deals
// (messages.Trade) into per-market buckets of 1 second, 1 minute, 1 hour
// and 1 day, keeps the last price and the newest deals, trims buckets past
// their retention when told the time, and answers the market data commands,
// whose "now" travels in the command. All arithmetic is integer fixed
// point at the market's precisions: prices at money_prec, volumes at
// stock_prec, deal money at the money asset's prec_save (Trade.Deal,
// exact).
//
// Store wraps a Model as a journal follower (runtime.Follower, name
// "marketdata") and as the node's market data querier (actors.Querier).
// It keeps the model in one of two places:
//
//   - memory (the default): the whole model and its cursor are written to a
//     checkpoint file every Options.CheckpointInterval and at Close,
//     atomically (temporary file, fsync, rename, fsync of the directory);
//     Open loads it and the feed replays the journal after its cursor.
//   - Redis (Options.Redis): viabtc's key layout (docs/protocol.md "Redis layout") with
//     the cursor in k:lsn instead of k:offset; each Apply writes every
//     bucket, deal and last price it changed together with the new cursor
//     in one MULTI/EXEC guarded by WATCH on k:lsn, so a write made from a
//     stale state is refused and nothing is counted twice.
package marketdata
