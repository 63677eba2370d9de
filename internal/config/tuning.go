package config

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// Tuning holds the engineers' knobs: how market and shard actors are
// scheduled and queued, and how the journal writer batches. None of it
// changes what the exchange computes (it is not part of the snapshot
// fingerprint); README "Tuning" and benchmarks/RESULTS.md "Per-market
// tuning" give each knob's measured effect.
type Tuning struct {
	// Market is the default of every market actor.
	Market MarketTuning `yaml:"market"`
	// Markets overrides Market for the markets it names; a field left out
	// (or zero) keeps the default. Naming an unknown market is an error.
	Markets map[string]MarketTuning `yaml:"markets"`
	// Shard tunes every balance shard actor.
	Shard ShardTuning `yaml:"shard"`
	// Journal tunes the journal writer's group commit.
	Journal JournalTuning `yaml:"journal"`
}

// Mailbox kinds (MarketTuning.Mailbox, ShardTuning.Mailbox).
const (
	// MailboxUnbounded is protoactor's default mailbox: a mutex-guarded ring.
	MailboxUnbounded = "unbounded"
	// MailboxLockfree is protoactor's lock-free MPSC queue (one allocation
	// per message).
	MailboxLockfree = "lockfree"
	// MailboxBounded is an unbounded mailbox with admission control: while
	// MailboxSize messages or more wait in a market's mailbox, balance
	// shards refuse new orders for it with code 3 "service unavailable"
	// (their funds are not reserved). Nothing is dropped or blocked:
	// cancels, queries and settlements are always taken. Markets only.
	MailboxBounded = "bounded"
)

// Dispatchers (MarketTuning.Dispatcher).
const (
	// DispatcherShared is protoactor's default: each time an idle mailbox
	// gets a message, a new goroutine runs it, on the shared Go scheduler.
	DispatcherShared = "shared"
	// DispatcherDedicated runs the market's mailbox on one long-lived
	// goroutine of its own (a hot market's own "thread").
	DispatcherDedicated = "dedicated"
	// DispatcherSynchronized is protoactor's synchronized dispatcher: the
	// sender's goroutine (the user's balance shard, or the edge for a
	// cancel) runs the market's mailbox itself, saving a goroutine
	// hand-off.
	DispatcherSynchronized = "synchronized"
)

// MarketTuning tunes one market actor. In Tuning.Markets a zero field
// inherits Tuning.Market's.
type MarketTuning struct {
	// Mailbox: unbounded (default), lockfree or bounded.
	Mailbox string `yaml:"mailbox"`
	// MailboxSize is the admission limit of a bounded mailbox (1..10^7);
	// required with bounded, refused otherwise.
	MailboxSize int `yaml:"mailbox_size"`
	// Throughput is how many messages the mailbox processes per scheduling
	// turn before it yields (runtime.Gosched), 1..100000; default 300
	// (protoactor's).
	Throughput int `yaml:"throughput"`
	// Dispatcher: shared (default), dedicated or synchronized.
	Dispatcher string `yaml:"dispatcher"`
}

// ShardTuning tunes the balance shard actors.
type ShardTuning struct {
	// Mailbox: unbounded (default) or lockfree. Shards take settlements
	// from markets, which must never be refused, so bounded is not
	// offered.
	Mailbox string `yaml:"mailbox"`
	// Throughput as MarketTuning's; default 300.
	Throughput int `yaml:"throughput"`
}

// JournalTuning tunes the journal writer (actors/journal.Options).
type JournalTuning struct {
	// MaxBatch bounds the records of one group commit (1..1000000);
	// default 4096.
	MaxBatch int `yaml:"max_batch"`
	// SyncInterval is the fsync period in batch durability mode (100µs..1s;
	// default 10ms). Sync mode fsyncs every commit; async mode every
	// interval too.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// Queue is the writer's queue of appends (1024..10^7); an appending
	// actor blocks while it is full. Default 65536.
	Queue int `yaml:"queue"`
}

// Limits of the tuning keys.
const (
	MaxMailboxSize    = 10_000_000
	MaxThroughput     = 100_000
	MaxJournalBatch   = 1_000_000
	MaxJournalQueue   = 10_000_000
	MinJournalQueue   = 1024
	MinSyncInterval   = 100 * time.Microsecond
	MaxSyncInterval   = time.Second
	DefaultThroughput = 300
)

func defaultTuning() Tuning {
	return Tuning{
		Market:  MarketTuning{Mailbox: MailboxUnbounded, Throughput: DefaultThroughput, Dispatcher: DispatcherShared},
		Shard:   ShardTuning{Mailbox: MailboxUnbounded, Throughput: DefaultThroughput},
		Journal: JournalTuning{MaxBatch: 4096, SyncInterval: 10 * time.Millisecond, Queue: 1 << 16},
	}
}

// over returns t with o's non-zero fields.
func (t MarketTuning) over(o MarketTuning) MarketTuning {
	if o.Mailbox != "" {
		t.Mailbox = o.Mailbox
		if o.Mailbox != MailboxBounded {
			t.MailboxSize = 0 // a default bound does not carry over to another kind
		}
	}
	if o.MailboxSize != 0 {
		t.MailboxSize = o.MailboxSize
	}
	if o.Throughput != 0 {
		t.Throughput = o.Throughput
	}
	if o.Dispatcher != "" {
		t.Dispatcher = o.Dispatcher
	}
	return t
}

func (t MarketTuning) validate(f string) error {
	switch t.Mailbox {
	case MailboxUnbounded, MailboxLockfree:
		if t.MailboxSize != 0 {
			return fieldErr(f+".mailbox_size", "only with mailbox: bounded (mailbox is %s)", t.Mailbox)
		}
	case MailboxBounded:
		if t.MailboxSize < 1 || t.MailboxSize > MaxMailboxSize {
			return fieldErr(f+".mailbox_size", "must be between 1 and %d with mailbox: bounded, got %d", MaxMailboxSize, t.MailboxSize)
		}
	default:
		return fieldErr(f+".mailbox", "must be unbounded, lockfree or bounded, got %q", t.Mailbox)
	}
	if t.Throughput < 1 || t.Throughput > MaxThroughput {
		return fieldErr(f+".throughput", "must be between 1 and %d, got %d", MaxThroughput, t.Throughput)
	}
	switch t.Dispatcher {
	case DispatcherShared, DispatcherDedicated, DispatcherSynchronized:
	default:
		return fieldErr(f+".dispatcher", "must be shared, dedicated or synchronized, got %q", t.Dispatcher)
	}
	return nil
}

// validateTuning checks the tuning section and resolves every market's
// tuning into Market.Tuning. The markets must be validated first.
func (c *Config) validateTuning() error {
	t := &c.Tuning
	if err := t.Market.validate("tuning.market"); err != nil {
		return err
	}
	names := make([]string, 0, len(t.Markets))
	for name := range t.Markets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if c.marketByName[name] == nil {
			return fieldErr("tuning.markets."+name, "unknown market %q", name)
		}
	}
	for _, m := range c.Markets {
		m.Tuning = t.Market.over(t.Markets[m.Name])
		f := "tuning.market"
		if _, ok := t.Markets[m.Name]; ok {
			f = "tuning.markets." + m.Name
		}
		if err := m.Tuning.validate(f); err != nil {
			return err
		}
	}
	if !slices.Contains([]string{MailboxUnbounded, MailboxLockfree}, t.Shard.Mailbox) {
		return fieldErr("tuning.shard.mailbox", "must be unbounded or lockfree, got %q", t.Shard.Mailbox)
	}
	if t.Shard.Throughput < 1 || t.Shard.Throughput > MaxThroughput {
		return fieldErr("tuning.shard.throughput", "must be between 1 and %d, got %d", MaxThroughput, t.Shard.Throughput)
	}
	j := t.Journal
	if j.MaxBatch < 1 || j.MaxBatch > MaxJournalBatch {
		return fieldErr("tuning.journal.max_batch", "must be between 1 and %d, got %d", MaxJournalBatch, j.MaxBatch)
	}
	if j.SyncInterval < MinSyncInterval || j.SyncInterval > MaxSyncInterval {
		return fieldErr("tuning.journal.sync_interval", "must be between %s and %s, got %s", MinSyncInterval, MaxSyncInterval, j.SyncInterval)
	}
	if j.Queue < MinJournalQueue || j.Queue > MaxJournalQueue {
		return fieldErr("tuning.journal.queue", "must be between %d and %d, got %d", MinJournalQueue, MaxJournalQueue, j.Queue)
	}
	return nil
}

// String describes a market's tuning for logs.
func (t MarketTuning) String() string {
	s := fmt.Sprintf("mailbox=%s throughput=%d dispatcher=%s", t.Mailbox, t.Throughput, t.Dispatcher)
	if t.Mailbox == MailboxBounded {
		s += fmt.Sprintf(" mailbox_size=%d", t.MailboxSize)
	}
	return s
}
