package messages

// Settle carries the events of one order command — the journal record at
// LSN — from the market actor to a balance shard that owns at least one user
// they touch. The shard applies the parts that concern its own users, and
// forgets its in-flight Reservation (0: none of this shard's). Events are
// shared, read-only.
type Settle struct {
	LSN         uint64
	Reservation uint64
	Events      []Event
}

// Unreserve gives back User's reservation when the market refused or
// rejected the order it was made for (no event: nothing happened). The
// shard knows what it reserved.
type Unreserve struct {
	Reservation uint64
	User        uint32
}

// StateQuery asks a market or shard actor for the deterministic encoding of
// its state (package actors/corestate); answered with *StateReply.
type StateQuery struct{ ReplyTo Address }

// StateReply carries one actor's state encoding.
type StateReply struct{ Data []byte }

func (*StateQuery) command() {}
func (*StateReply) reply()   {}

// Tick carries the time (Unix microseconds) to a market actor, which fires
// the dead-man's switches due by then: the core reads time only from
// messages. The runtime sends one per market every second.
type Tick struct{ Time int64 }
