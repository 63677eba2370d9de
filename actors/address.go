package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
)

// pidAddress is a protoactor process id seen as a messages.Address. The
// conversions both ways are free: the interface holds the same pointer.
type pidAddress actor.PID

func (*pidAddress) ReplyAddress() {}

// Addr returns pid as the address of a reply; nil for nil.
func Addr(pid *actor.PID) messages.Address {
	if pid == nil {
		return nil
	}
	return (*pidAddress)(pid)
}

// PID returns the process an address names: nil for nil or for an address
// that Addr did not make.
func PID(a messages.Address) *actor.PID {
	p, _ := a.(*pidAddress)
	return (*actor.PID)(p)
}
