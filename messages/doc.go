// Package messages is Bourse's vocabulary: every value that crosses an actor
// boundary. Commands are imperative (PutLimit), events past tense
// (OrderPlaced, Trade), replies end in Reply, and errors come from one
// catalogue carrying viabtc's wire codes.
//
// Messages are plain structs with no behaviour. They are always sent as
// pointers and never mutated after they are sent: a receiver may keep them.
// Quantities are integer units at a precision fixed by configuration (see
// package actors/fixed); names of markets and assets are resolved to indexes
// in configuration order by the edge before a command is built.
package messages
