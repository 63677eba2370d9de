package actors

import (
	"fmt"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
)

// tape is an Outbox that writes down what Commit does, in order.
type tape struct {
	shards int
	log    []string
}

func (t *tape) Append(events []messages.Event) uint64 {
	t.log = append(t.log, fmt.Sprintf("append %d", len(events)))
	return 7
}
func (t *tape) Settle(shard int, m messages.Settle) {
	t.log = append(t.log, fmt.Sprintf("settle %d lsn %d res %d", shard, m.LSN, m.Reservation))
}
func (t *tape) Unreserve(shard int, m messages.Unreserve) {
	t.log = append(t.log, fmt.Sprintf("unreserve %d res %d user %d", shard, m.Reservation, m.User))
}
func (t *tape) Forward(market messages.MarketID, cmd messages.Command) {
	t.log = append(t.log, fmt.Sprintf("forward %d %T", market, cmd))
}
func (t *tape) Reply(_ *actor.PID, reply messages.Reply, now bool) {
	r := fmt.Sprintf("%T", reply)
	if e, ok := reply.(*messages.ErrorReply); ok {
		r = fmt.Sprintf("code %d", e.Err.Code)
	}
	t.log = append(t.log, fmt.Sprintf("reply %s now %v", r, now))
}
func (t *tape) ReplyOrder(_ *actor.PID, o messages.Order) {
	t.log = append(t.log, fmt.Sprintf("reply order %d", o.ID))
}
func (t *tape) Shards() int     { return t.shards }
func (t *tape) FeeUser() uint32 { return 5 }

var caller = &actor.PID{Id: "caller"}

func (t *tape) String() string { return strings.Join(t.log, "; ") }

func TestCommit(t *testing.T) {
	trade := &messages.Trade{Market: 1, AskUser: 2, BidUser: 6} // both in shard 2 of 4; fee user 5 in shard 1
	for _, c := range []struct {
		name string
		step Step
		want string
	}{
		{"accepted order", Step{
			Events:      []messages.Event{&messages.OrderPlaced{Order: messages.Order{Market: 1, User: 6}}, trade, &messages.OrderRested{Market: 1}},
			Reservation: 9, User: 6, ReplyTo: caller, Order: messages.Order{ID: 3}, HasOrder: true,
		}, "append 3; settle 1 lsn 7 res 9; settle 2 lsn 7 res 9; reply order 3"},
		{"rejected order", Step{Reservation: 9, User: 7, ReplyTo: caller, Reply: &messages.ErrorReply{Err: messages.ErrBalanceNotEnough}},
			"unreserve 3 res 9 user 7; reply code 10 now false"},
		{"forwarded order", Step{Forward: &messages.PutLimit{}, Market: 2}, "forward 2 *messages.PutLimit"},
		{"no events, no reservation", Step{ReplyTo: caller, Reply: &messages.CancelAllReply{}}, "reply *messages.CancelAllReply now false"},
		{"tick", Step{Events: []messages.Event{&messages.CancelAfterSet{Market: 1, User: 3}, &messages.OrderFinished{Market: 1, User: 3}}},
			"append 2; settle 3 lsn 7 res 0"},
	} {
		o := &tape{shards: 4}
		s := c.step
		Commit(o, &s)
		if got := o.String(); got != c.want {
			t.Errorf("%s: %s; want %s", c.name, got, c.want)
		}
	}
	o := &tape{shards: 4}
	s := Step{Reservation: 9, User: 7, ReplyTo: caller}
	s.Refuse(messages.ErrUnavailable)
	Commit(o, &s)
	if got, want := o.String(), "unreserve 3 res 9 user 7; reply code 3 now true"; got != want {
		t.Errorf("refused: %s; want %s", got, want)
	}
}

// TestRecover checks what a panic while deciding or committing leaves: a
// reservation goes back if nothing was appended, appended events are
// settled, the caller gets code 2 and the panic goes on.
func TestRecover(t *testing.T) {
	run := func(s *Step, o *tape, fn func()) (panicked bool) {
		defer func() { panicked = recover() != nil }()
		defer Recover(o, s)
		fn()
		return false
	}
	o := &tape{shards: 4}
	s := Step{Reservation: 9, User: 7, ReplyTo: caller}
	if !run(&s, o, func() { panic("decide") }) {
		t.Fatal("the panic did not go on")
	}
	if got, want := o.String(), "unreserve 3 res 9 user 7; reply code 2 now true"; got != want {
		t.Errorf("panic while deciding: %s; want %s", got, want)
	}

	// A panic after the append, before the settlement: Settle panics once.
	o = &tape{shards: 4}
	p := &panicky{tape: o}
	s = Step{Events: []messages.Event{&messages.OrderFinished{Market: 1, User: 2}}, Reservation: 9, User: 2, ReplyTo: caller}
	func() {
		defer func() { recover() }()
		defer Recover(p, &s)
		Commit(p, &s)
	}()
	if got, want := o.String(), "append 1; settle 2 lsn 7 res 9; reply code 2 now true"; got != want {
		t.Errorf("panic while settling: %s; want %s", got, want)
	}

	o = &tape{shards: 4}
	s = Step{ReplyTo: caller}
	if run(&s, o, func() {}) || o.String() != "" {
		t.Errorf("no panic: %s", o)
	}
}

// panicky panics at its first Settle.
type panicky struct {
	*tape
	done bool
}

func (p *panicky) Settle(shard int, m messages.Settle) {
	if !p.done {
		p.done = true
		panic("settle")
	}
	p.tape.Settle(shard, m)
}
