// Package events publishes the exchange's events — the Kafka topics
// balances, orders and deals of docs/protocol.md "Kafka events" — from the durable journal, to
// Kafka (Publisher) and to in-process subscribers (Bus). Both are journal
// followers (runtime.Follower): nothing is published before it is durable
// (docs/protocol.md D1).
//
// # Messages
//
// An Encoder turns each derived record (persistence/derive) into messages, in
// this order: balances, orders, deals.
//
//	balances  [time, user_id, asset, business, change]        one per balance.update
//	orders    {"event":1|2|3,"order":{…},"stock":S,"money":M}  one per order event, in viabtc's order
//	deals     [time, market, ask_id, bid_id, ask_user, bid_user,
//	           price, amount, ask_fee, bid_fee, taker_side,
//	           deal_id, stock, money]                           one per trade
//
// Times are JSON reals: Unix seconds with microseconds. Decimals are JSON
// strings in plain notation, never exponents (docs/protocol.md D2). The "raw"
// decimals of balances and deals print every fractional digit of their
// scale: change at the asset's prec_show (prec_save if it has more digits),
// price at money_prec, amount at stock_prec, ask fee and bid fee at the
// prec_save of money and stock. The order object is the HTTP API's order
// info (AppendOrder), trailing zeros stripped.
//
// Keys: balances by user id (decimal), orders and deals by market name.
// Each message carries its record's LSN and its position among the
// record's messages of its topic: Message.LSN and Message.Seq, Kafka
// headers "lsn" and "seq".
//
// # Kafka
//
// The Publisher sends each batch of records as one idempotent record batch
// per partition (producer id, sequence numbers, acks=all) and confirms the
// batch only when every partition acknowledged it. Kafka appends a record
// batch whole or not at all, so a failed or interrupted send leaves each
// partition with a prefix of its messages, never a gap. Each message also
// carries the header "acked": the cursor confirmed before its batch was
// sent. On a cold start the cursor is the largest acked header among the
// partitions' last messages, so a crash never loses a message; it may
// re-send the messages of the batches after that cursor: copies with the
// same key, value and (lsn, seq). A consumer drops a message whose
// (lsn, seq) is not above the last one it took from the same partition.
//
// # Bus
//
// The Bus hands each record to in-process subscribers as an Event: the
// typed record (every balance change with its new total, every order
// change with the order, every deal) and its encoded messages. It keeps no
// history: subscribers see records made after they subscribed. Slow
// subscribers are disconnected (ErrSlow), never waited for.
package events
