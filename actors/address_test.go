package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
)

type otherAddress struct{}

func (otherAddress) ReplyAddress() {}

func TestAddr(t *testing.T) {
	pid := actor.NewPID("nonhost", "a/b")
	a := Addr(pid)
	if got := PID(a); got != pid {
		t.Fatalf("PID(Addr(pid)) = %p; want %p", got, pid)
	}
	if a := Addr(nil); a != nil {
		t.Fatalf("Addr(nil) = %v; want a nil interface", a)
	}
	if got := PID(nil); got != nil {
		t.Fatalf("PID(nil) = %v; want nil", got)
	}
	if got := PID(otherAddress{}); got != nil {
		t.Fatalf("PID(foreign address) = %v; want nil", got)
	}
	var cmd messages.PutLimit
	if n := testing.AllocsPerRun(100, func() { cmd.ReplyTo = Addr(pid); _ = PID(cmd.ReplyTo) }); n != 0 {
		t.Fatalf("Addr/PID allocate %v times; want 0", n)
	}
}
