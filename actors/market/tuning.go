package market

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are one market actor's instruments, resolved once per market (no
// label lookup per order). A nil *Metrics in Env measures nothing.
type Metrics struct {
	// Orders counts orders the market accepted (placed: they traded,
	// rested or both).
	Orders prometheus.Counter
	// Rejected counts orders the market refused (e.g. code 12 for a
	// market order on an empty book, code 3 while the journal is failed).
	Rejected prometheus.Counter
	// Cancels counts orders cancelled by order.cancel and order.cancel_all.
	Cancels prometheus.Counter
	// Trades counts trades (deals).
	Trades prometheus.Counter
	// Triggers counts stop orders triggered; Switches dead-man's switches
	// fired.
	Triggers, Switches prometheus.Counter
	// Match observes, for every order the book decided (accepted or
	// rejected), the seconds spent in Book.Execute plus the journal
	// append of its events.
	Match prometheus.Observer
}

// Queue observes the depth of one actor's mailbox: Producer wraps the
// mailbox producer given to the actor's props and keeps the mailbox it makes
// (protoactor makes one per spawn and keeps it across restarts). Reading
// the depth is one atomic load of the mailbox's own message counter, so
// observing costs the actor nothing. Safe for concurrent use.
type Queue struct {
	mb    atomic.Pointer[mailboxRef]
	limit int
}

type mailboxRef struct{ actor.Mailbox }

// NewQueue returns a Queue whose Full reports a depth of at least limit
// (0: never full).
func NewQueue(limit int) *Queue { return &Queue{limit: limit} }

// Producer wraps p (nil: protoactor's unbounded mailbox) so the queue sees
// the mailbox it produces.
func (q *Queue) Producer(p actor.MailboxProducer) actor.MailboxProducer {
	if p == nil {
		p = actor.Unbounded()
	}
	return func() actor.Mailbox {
		mb := p()
		q.mb.Store(&mailboxRef{mb})
		return mb
	}
}

// Depth is the number of user messages waiting in the mailbox (0 before
// the actor is spawned).
func (q *Queue) Depth() int {
	if r := q.mb.Load(); r != nil {
		return r.UserMessageCount()
	}
	return 0
}

// Full reports whether limit > 0 messages or more wait. Balance shards ask
// it before forwarding an order to a market with a bounded mailbox; as
// several shards may ask at once, the depth can exceed the limit by up to
// the number of shards.
func (q *Queue) Full() bool { return q.limit > 0 && q.Depth() >= q.limit }

// Dedicated is a protoactor dispatcher that runs the mailboxes scheduled on
// it on one long-lived goroutine of its own, instead of a new goroutine per
// mailbox activation (protoactor's default dispatcher): a hot market gets
// its own goroutine, whose stack stays grown, and does not wait behind
// other actors' activations in the run queue. Give each one to one actor.
// Close stops the goroutine.
type Dedicated struct {
	fns        chan func()
	done       chan struct{}
	throughput int
	once       sync.Once
}

var _ actor.Dispatcher = (*Dedicated)(nil)

// NewDedicated starts a dedicated dispatcher processing throughput messages
// per turn (then it yields to the Go scheduler). With lockThread, its
// goroutine is locked to an OS thread (runtime.LockOSThread).
func NewDedicated(throughput int, lockThread bool) *Dedicated {
	// A mailbox is scheduled again only once its previous run has set it
	// idle, so at most one run is queued while another finishes.
	d := &Dedicated{fns: make(chan func(), 4), done: make(chan struct{}), throughput: throughput}
	go d.loop(lockThread)
	return d
}

func (d *Dedicated) loop(lockThread bool) {
	if lockThread {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	for {
		select {
		case fn := <-d.fns:
			select {
			case <-d.done:
				return // closed meanwhile: run nothing more
			default:
				fn()
			}
		case <-d.done:
			return
		}
	}
}

// Schedule implements actor.Dispatcher. After Close it drops fn.
func (d *Dedicated) Schedule(fn func()) {
	select {
	case <-d.done:
		return
	default:
	}
	select {
	case d.fns <- fn:
	case <-d.done:
	}
}

// Throughput implements actor.Dispatcher.
func (d *Dedicated) Throughput() int { return d.throughput }

// Close stops the goroutine; call it once the actor has stopped.
func (d *Dedicated) Close() { d.once.Do(func() { close(d.done) }) }
