// Package wire owns Bourse's viabtc JSON encodings: the values the HTTP
// and websocket edges answer and push, the messages the event publisher
// sends to Kafka and the bus, and the values the market data store keeps
// in Redis. Each encoding exists here once; the edges and the publishers
// only choose what to encode.
//
// Every function appends to a byte slice and allocates nothing beyond
// that slice's growth. Times are Unix microseconds printed as JSON reals
// of seconds; decimals are integer units at a scale, printed either
// stripped (trailing fractional zeros removed) or raw (exactly scale
// fractional digits), as the protocol asks for each field.
//
// The package depends on messages and actors/fixed only, so that edges
// and persistence can both use it.
package wire
