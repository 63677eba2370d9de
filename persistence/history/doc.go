// Package history is the history store: every finished order, every deal
// (a row per side) and every balance change, written by a journal follower
// and read by viabtc's readhistory methods (docs/protocol.md "History").
//
// A Store keeps its tables in SQLite (modernc.org/sqlite, WAL; the node's
// embedded default, <data-dir>/history.db) or in MySQL/MariaDB. Open
// creates and migrates the schema; the version reached is kept in
// <prefix>history_schema, and every migration step is idempotent. Tables,
// all named with Options.Prefix first (docs/protocol.md D15: one table per kind,
// indexes for each query, no sharding):
//
//	order_history    a row per finished order, also a cancel without fills
//	                 (D7), with its options (client_id, stop_price "0"
//	                 for none, triggered, time_in_force, post_only, stp;
//	                 schema version 2 added them, with viabtc's defaults
//	                 for older rows); primary key the order id, which also
//	                 serves order.finished_detail; index (user_id, market,
//	                 id)
//	deal_history     a row per side of every deal, ask side first:
//	                 user_id, order_id, deal_order_id (the other side's
//	                 order), role, side, market, price, amount, deal, fee
//	                 (this side's), deal_fee (the other side's); indexes
//	                 (order_id, id) for order.deals and (user_id, market,
//	                 id) for market.user_deals
//	balance_history  a row per change of a balance's total: time, user_id,
//	                 asset, business, change (signed), balance (the total
//	                 after it), detail (JSON object); indexes (user_id, id),
//	                 (user_id, asset, id), (user_id, asset, business, id),
//	                 (user_id, business, id)
//	history_cursor   the LSN of the last journal record stored, per follower
//	                 name, and the mark of the journal it belongs to
//	                 (journal.Identity.Mark; schema version 3), checked at
//	                 Open (Options.Journal)
//	history_skips    records the runtime skipped (Options.AllowSkips)
//
// Every data row also has the LSN of the journal record it came from. The
// deal and balance tables have an auto-increment id, so "newest first" is
// id descending: the journal's order. Times are BIGINT Unix microseconds.
// Decimals are stored as text in plain notation with trailing zeros
// stripped, exactly as printed (docs/protocol.md D2): balances have up to 36
// decimals (config.MaxPrecSave) on 256-bit integers, more than any SQL
// DECIMAL type holds exactly. Names are compared exactly (utf8mb4_bin on
// MySQL), as on SQLite.
//
// Exactly once: the Store is a runtime.Follower. Apply writes a batch of
// derived journal records in one transaction — multi-row INSERTs and the
// new cursor — and refuses a batch that does not follow the stored cursor,
// so after any crash the follower resumes from what was committed: no row
// is lost or written twice.
//
// Durability: the journal is the source of truth and the history can
// always be derived again from it, so the history needs only to be
// consistent, not durable at each commit. SQLite runs in WAL mode with
// synchronous=NORMAL: a commit is not fsynced (a checkpoint is), so a
// power cut may undo the last commits — cursor included, since it is in
// the same transaction as the rows — and the follower then writes them
// again from the journal; a killed process loses nothing that committed.
// synchronous=OFF would let a power cut corrupt the file (a checkpoint
// could overwrite pages before the WAL that holds them is on disk), so it
// is not used. MySQL keeps its own setting (innodb_flush_log_at_trx_commit).
//
// Speed (benchmarks/RESULTS.md, "History follower"): the INSERTs of each
// size Apply uses — Options.RowsPerInsert rows, and the powers of two below
// it for a batch's remainder — are prepared once when the Store opens and
// reused by every transaction; SQLite's are INSERT OR FAIL, which needs no
// statement journal (the whole transaction is rolled back on an error
// anyway); the SQLite writer has a 64 MiB page cache and checkpoints the
// WAL every 64 MiB.
//
// Queries run on their own connections, at most Options.Workers at a
// time; when Options.MaxPending are already waiting or running a query is
// refused at once with code 3, like viabtc's readhistory. A failed
// statement is code 2. Statements are parameterised (docs/protocol.md D11); table
// names, which SQL cannot bind, come from a checked prefix.
package history
