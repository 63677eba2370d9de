package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/actors/market"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// tuning is what a node built from config.Tuning: the queues whose depth the
// metrics report (and bounded markets' admission reads), and the dedicated
// dispatchers to stop at shutdown.
type tuning struct {
	mu        sync.Mutex                      // marketProps may run at run time (market.add)
	markets   atomic.Pointer[[]*market.Queue] // by MarketID, copy-on-write
	shards    []*market.Queue
	dedicated []*market.Dedicated // guarded by mu
}

func (t *tuning) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.dedicated {
		d.Close()
	}
}

// marketFull reports whether market id's bounded mailbox is full
// (balance.Env.MarketFull).
func (t *tuning) marketFull(id messages.MarketID) bool {
	q := t.marketQueues()
	return int(id) < len(q) && q[id].Full()
}

// marketQueues returns the markets' mailbox queues by MarketID.
func (t *tuning) marketQueues() []*market.Queue {
	if q := t.markets.Load(); q != nil {
		return *q
	}
	return nil
}

func mailbox(kind string) actor.MailboxProducer {
	if kind == config.MailboxLockfree {
		return actor.UnboundedLockfree()
	}
	// unbounded, and bounded: an unbounded mailbox whose limit the shards
	// enforce by refusing orders (market.Queue.Full).
	return actor.Unbounded()
}

// marketProps returns the props options for a market tuned by mt; extra
// (runtime.Options.MarketProps) come last and so override them.
func (t *tuning) marketProps(mt config.MarketTuning, extra []actor.PropsOption) []actor.PropsOption {
	limit := 0
	if mt.Mailbox == config.MailboxBounded {
		limit = mt.MailboxSize
	}
	q := market.NewQueue(limit)
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.marketQueues()
	list := append(old[:len(old):len(old)], q)
	t.markets.Store(&list)
	var d actor.Dispatcher
	switch mt.Dispatcher {
	case config.DispatcherDedicated:
		dd := market.NewDedicated(mt.Throughput, false)
		t.dedicated = append(t.dedicated, dd)
		d = dd
	case config.DispatcherSynchronized:
		d = actor.NewSynchronizedDispatcher(mt.Throughput)
	default:
		d = actor.NewDefaultDispatcher(mt.Throughput)
	}
	return append([]actor.PropsOption{actor.WithMailbox(q.Producer(mailbox(mt.Mailbox))), actor.WithDispatcher(d)}, extra...)
}

// shardProps is marketProps for a balance shard.
func (t *tuning) shardProps(st config.ShardTuning, extra []actor.PropsOption) []actor.PropsOption {
	q := market.NewQueue(0)
	t.shards = append(t.shards, q)
	return append([]actor.PropsOption{actor.WithMailbox(q.Producer(mailbox(st.Mailbox))),
		actor.WithDispatcher(actor.NewDefaultDispatcher(st.Throughput))}, extra...)
}

// journalOptions fills the fields of o left zero from the configuration.
func journalOptions(o journal.Options, jt config.JournalTuning) journal.Options {
	if o.MaxBatch == 0 {
		o.MaxBatch = jt.MaxBatch
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = jt.SyncInterval
	}
	if o.Queue == 0 {
		o.Queue = jt.Queue
	}
	return o
}
