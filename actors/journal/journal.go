// Package journal is the journal writer: the single owner of the journal
// backend. It assigns log sequence numbers in the order appends arrive,
// writes them in group commits and releases the replies it holds for a batch
// only once that batch is durable ("acknowledged means durable").
//
// It is an actor in the plain sense — one goroutine owning its state, a
// channel as its mailbox — rather than a protoactor actor, because group
// commit needs to know when the mailbox has drained, and protoactor's
// MailboxEmpty hook runs after the mailbox is already marked idle.
//
// Rule for callers ("append before send"): an actor appends the events of a
// step before it sends any message caused by that step. Enqueueing is
// immediate, so anything those messages cause is appended later and gets a
// higher LSN: the durable prefix is always a causally consistent cut.
package journal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// Mode is the durability mode.
type Mode int

// Durability modes. The loss window of each is documented in the README.
const (
	// Sync: a reply is released after its batch is written and fsynced.
	// Nothing acknowledged is lost, by kill -9 or power loss.
	Sync Mode = iota
	// Batch: a reply is released after its batch is written to the OS;
	// fsync runs every SyncInterval. Survives kill -9; an OS crash or power
	// loss can lose the last SyncInterval of acknowledged work.
	Batch
	// Async: a reply is released at once, like viabtc; the batch is written
	// after. kill -9 can lose acknowledged work still queued.
	Async
)

// ParseMode reads "sync", "batch" or "async".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "sync", "":
		return Sync, nil
	case "batch":
		return Batch, nil
	case "async":
		return Async, nil
	}
	return 0, fmt.Errorf("unknown durability mode %q (sync, batch, async)", s)
}

func (m Mode) String() string { return [...]string{"sync", "batch", "async"}[m] }

// Backend is what the writer needs of a journal store.
type Backend interface {
	Write([]pj.Record) error
	Sync() error
	LastLSN() uint64
	Close() error
}

// Options tune the writer.
type Options struct {
	Mode Mode
	// MaxBatch bounds the records of one group commit (default 4096).
	MaxBatch int
	// SyncInterval is the fsync period in Batch mode (default 10ms).
	SyncInterval time.Duration
	// Queue is the mailbox capacity; appends block when it is full
	// (default 65536).
	Queue int
	Log   *slog.Logger
	// Follow, if set, receives every record once it is durable (fsynced),
	// in LSN order, on the writer's goroutine: it must only hand the records
	// on (the slice is reused after it returns; the events are immutable).
	Follow func([]pj.Record)
	// OnCommit, if set, is called on the writer's goroutine after every
	// group commit with its record count and how long the write (and, in
	// Sync mode, the fsync) took: metrics only, it must not block.
	OnCommit func(records int, took time.Duration)
	// Halt is called, once, when the journal fails in a way that leaves
	// the live state or an answer uncertain (see Journal.Failed): the
	// backend could not be returned to its last durable position, or
	// records already acknowledged were dropped. The held replies have
	// been answered (code 9, or 3 for records known to be dropped); the
	// node must stop: Halt should end the process (nil: log and
	// os.Exit(1)). It runs on the writer's goroutine, which refuses
	// everything after it.
	Halt func(error)
}

type entry struct {
	lsn     uint64 // 0: no events
	events  []messages.Event
	replyTo *actor.PID
	reply   messages.Reply
	done    chan struct{} // Barrier: closed once committed
	// upto is, for a reply, the last LSN appended before it: what must be
	// durable before it is released.
	upto uint64
}

// Journal is the writer. Append is safe for concurrent use.
type Journal struct {
	opts    Options
	backend Backend
	root    *actor.RootContext
	ch      chan entry
	mu      sync.Mutex // orders LSN assignment with the send to ch
	next    uint64     // last LSN assigned; guarded by mu
	closed  bool       // guarded by mu
	failed  atomic.Bool
	halted  bool          // Halt was called; writer goroutine only
	lsn     atomic.Uint64 // last durable (Sync) or written (Batch/Async) LSN
	wg      sync.WaitGroup

	records  []pj.Record
	pending  []entry
	unsynced []pj.Record // written, not yet fsynced: published at the next sync
}

// Start starts a writer appending to backend after its last LSN. Replies are
// sent through root.
func Start(backend Backend, root *actor.RootContext, opts Options) *Journal {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = 10 * time.Millisecond
	}
	if opts.Queue <= 0 {
		opts.Queue = 1 << 16
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Halt == nil {
		log := opts.Log
		opts.Halt = func(err error) {
			log.Error("journal failed beyond repair: stopping", "err", err)
			os.Exit(1)
		}
	}
	j := &Journal{opts: opts, backend: backend, root: root, ch: make(chan entry, opts.Queue)}
	j.lsn.Store(backend.LastLSN())
	j.next = backend.LastLSN()
	j.wg.Add(1)
	go j.run()
	return j
}

// Failed reports whether the journal has stopped accepting writes after a
// storage error. Actors answer write commands with code 3 while it is set,
// and the router every query of the live state: the actors may hold
// effects of records that never became durable. It stays set until the
// node is restarted, which recovers the durable prefix.
//
// What a failure does to the backend and to the replies held for the
// failed batch:
//   - the backend returned to its last durable position (it undid the
//     failed batch: Files truncated and fsynced its segment, MySQL rolled
//     back): the held replies get code 3, and the requests had no effect;
//   - it could not (pj.ErrOutcomeUnknown: the truncation or its fsync
//     failed, or a MySQL COMMIT got no answer): the held replies get
//     code 9 "outcome unknown" and Options.Halt stops the node;
//   - it returned to a position before records already acknowledged (an
//     fsync failed in Batch mode): the held replies get code 3 and Halt
//     stops the node, whose acknowledged writes since the last fsync are
//     lost (the loss window Batch mode documents).
func (j *Journal) Failed() bool { return j.failed.Load() }

// Queued is how many appends wait in the writer's queue.
func (j *Journal) Queued() int { return len(j.ch) }

// LastLSN is the LSN of the last record committed by the writer.
func (j *Journal) LastLSN() uint64 { return j.lsn.Load() }

// Append journals events as one record and returns its LSN. LSNs follow
// the order of Append calls.
func (j *Journal) Append(events []messages.Event) uint64 {
	if len(events) == 0 {
		return 0
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		j.failed.Store(true)
		return 0
	}
	j.next++
	e := entry{lsn: j.next, events: events}
	j.ch <- e
	j.mu.Unlock()
	return e.lsn
}

// Reply sends reply to replyTo once every record appended before the call
// is durable (per the mode; in Async mode at once). An actor calls it after
// it has sent everything else its step causes, so a client that receives the
// reply and asks again sees the outcome.
func (j *Journal) Reply(replyTo *actor.PID, reply messages.Reply) {
	if j.opts.Mode == Async {
		j.root.Send(replyTo, reply)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		j.root.Send(replyTo, &messages.ErrorReply{Err: messages.ErrUnavailable})
		return
	}
	j.ch <- entry{replyTo: replyTo, reply: reply, upto: j.next}
}

// Barrier waits until every record appended before the call is committed
// and returns the last LSN assigned before it. An actor rebuilding its state
// from the journal calls it first, so the journal holds everything that
// actor ever appended. It fails if the journal has failed or is closed:
// then some of those records may never be written.
func (j *Journal) Barrier() (uint64, error) {
	e := entry{done: make(chan struct{})}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return 0, ErrClosed
	}
	upto := j.next
	j.ch <- e
	j.mu.Unlock()
	<-e.done
	if j.failed.Load() {
		return 0, ErrFailed
	}
	return upto, nil
}

// Errors of Barrier.
var (
	ErrClosed = errors.New("journal: closed")
	ErrFailed = errors.New("journal: failed to write; restart to recover")
)

// Close writes and syncs everything appended so far, then closes the
// backend. No Append may follow.
func (j *Journal) Close() error {
	j.mu.Lock()
	if !j.closed {
		j.closed = true
		close(j.ch)
	}
	j.mu.Unlock()
	j.wg.Wait()
	return j.backend.Close()
}

func (j *Journal) run() {
	defer j.wg.Done()
	var tick <-chan time.Time
	if j.opts.Mode != Sync {
		t := time.NewTicker(j.opts.SyncInterval)
		defer t.Stop()
		tick = t.C
	}
	dirty := false
	for {
		select {
		case e, ok := <-j.ch:
			if !ok {
				if dirty {
					j.sync()
				}
				return
			}
			j.collect(e)
			dirty = j.commit() || dirty
			if j.opts.Mode == Sync {
				dirty = false
			}
		case <-tick:
			if dirty {
				j.sync()
				dirty = false
			}
		}
	}
}

// collect takes e and whatever else is already queued, up to MaxBatch
// records.
func (j *Journal) collect(e entry) {
	j.add(e)
	for len(j.records) < j.opts.MaxBatch {
		select {
		case e, ok := <-j.ch:
			if !ok {
				return
			}
			j.add(e)
		default:
			return
		}
	}
}

func (j *Journal) add(e entry) {
	if e.lsn != 0 {
		j.records = append(j.records, pj.Record{LSN: e.lsn, Events: e.events})
	}
	if e.replyTo != nil || e.done != nil {
		j.pending = append(j.pending, e)
	}
}

// commit writes (and in Sync mode fsyncs) the collected records, then
// releases their replies. It reports whether unsynced data remains.
func (j *Journal) commit() bool {
	defer func() {
		clear(j.records)
		j.records = j.records[:0]
		clear(j.pending)
		j.pending = j.pending[:0]
	}()
	if j.failed.Load() {
		j.refuse(messages.ErrUnavailable)
		return false
	}
	t0 := time.Now()
	if err := j.backend.Write(j.records); err != nil {
		j.fail(err)
		return false
	}
	if j.opts.Follow != nil {
		j.unsynced = append(j.unsynced, j.records...)
	}
	if j.opts.Mode == Sync {
		if err := j.backend.Sync(); err != nil {
			j.fail(err)
			return false
		}
		j.publish()
	}
	j.lsn.Store(j.backend.LastLSN())
	if j.opts.OnCommit != nil && len(j.records) > 0 {
		j.opts.OnCommit(len(j.records), time.Since(t0))
	}
	for _, e := range j.pending {
		j.release(e)
	}
	return len(j.records) > 0
}

func (j *Journal) sync() {
	if j.failed.Load() {
		return
	}
	if err := j.backend.Sync(); err != nil {
		j.fail(err)
		return
	}
	j.publish()
}

// publish hands the records made durable by the last sync to the follower.
func (j *Journal) publish() {
	if j.opts.Follow != nil && len(j.unsynced) > 0 {
		j.opts.Follow(j.unsynced)
		clear(j.unsynced)
		j.unsynced = j.unsynced[:0]
	}
}

// fail stops acknowledging (see Failed): the held replies get code 3, or 9
// when the backend cannot tell whether their records are kept, and every
// later write code 3. The node must be restarted; it will recover the
// durable prefix. When the failure leaves the outcome unknown or dropped
// acknowledged records, Halt stops the node.
func (j *Journal) fail(err error) {
	first := !j.failed.Swap(true)
	var halt error
	switch {
	case errors.Is(err, pj.ErrOutcomeUnknown):
		halt = err
	case j.backend.LastLSN() < j.lsn.Load():
		halt = fmt.Errorf("%w; acknowledged records %d to %d were dropped", err, j.backend.LastLSN()+1, j.lsn.Load())
	}
	if halt == nil {
		if first {
			j.opts.Log.Error("journal cannot write: the failed batch was undone; writes and queries are refused with code 3 until restart", "err", err)
		}
		j.refuse(messages.ErrUnavailable)
		return
	}
	if errors.Is(err, pj.ErrOutcomeUnknown) {
		j.refuse(messages.ErrOutcomeUnknown)
	} else {
		j.refuse(messages.ErrUnavailable)
	}
	if !j.halted {
		j.halted = true
		j.opts.Log.Error("journal failed and cannot return to its last durable position: the node stops", "err", halt)
		j.opts.Halt(halt)
	}
}

// refuse answers the held replies with reason, except a reply whose
// records were all made durable by an earlier batch (the writer took the
// step's record before its Reply call arrived): that one is released as it
// stands, since answering it "failed" would deny a write the journal keeps.
func (j *Journal) refuse(reason *messages.Error) {
	durable := min(j.lsn.Load(), j.backend.LastLSN())
	for _, e := range j.pending {
		switch {
		case e.done != nil:
			close(e.done)
		case e.upto <= durable:
			j.release(e)
		default:
			j.root.Send(e.replyTo, &messages.ErrorReply{Err: reason})
		}
	}
}

func (j *Journal) release(e entry) {
	if e.done != nil {
		close(e.done)
		return
	}
	j.root.Send(e.replyTo, e.reply)
}
