package runtime

import (
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// Recovery uses both cores: every book and every ledger is an independent
// state machine, so the journal's events can be applied to different books
// and ledgers on different goroutines, as long as each one sees its own
// events in LSN order. The result is the same state as State.Apply record by
// record (the tests compare state hashes).

// replayBatch is how many records the reader hands the workers at a time.
const replayBatch = 512

// replayer applies journal records to a State on several goroutines. The
// caller's goroutine (the journal reader) checks each record and keeps the
// state's LSN and balance-update sums (State.admit), so errors are reported
// in order, at the record that causes them; worker w applies the events of
// the books and ledgers whose index is w modulo the worker count.
type replayer struct {
	s       *State
	batch   []pj.Record
	workers []chan []pj.Record
	panics  []any // per worker: the value of a panic in Book or Ledger Apply
	wg      sync.WaitGroup
	idle    sync.WaitGroup // barrier
}

// replayWorkers is how many goroutines apply records during recovery.
func replayWorkers() int { return min(goruntime.GOMAXPROCS(0), 8) }

// newReplayer starts workers goroutines applying to s; Wait must be called.
func (s *State) newReplayer(workers int) *replayer {
	r := &replayer{s: s, workers: make([]chan []pj.Record, workers), panics: make([]any, workers)}
	for w := range r.workers {
		ch := make(chan []pj.Record, 16)
		r.workers[w] = ch
		r.wg.Add(1)
		go r.run(w, ch)
	}
	return r
}

// Apply is State.Apply, with the cores' part done later by the workers.
func (r *replayer) Apply(rec pj.Record) error {
	if slices.ContainsFunc(rec.Events, isConfigSet) {
		r.barrier() // admit changes the books and ledgers the workers apply to
	}
	if err := r.s.admit(rec); err != nil {
		return err
	}
	if r.batch == nil {
		r.batch = make([]pj.Record, 0, replayBatch)
	}
	r.batch = append(r.batch, rec)
	if len(r.batch) == replayBatch {
		r.flush()
	}
	return nil
}

func (r *replayer) flush() {
	if len(r.batch) == 0 {
		return
	}
	for _, ch := range r.workers {
		ch <- r.batch // read-only from here on
	}
	r.batch = nil
}

// Wait applies what is left and stops the workers. A panic in a worker (an
// event that does not fit the state: a corrupt journal or a bug) is raised
// again here, on the caller's goroutine, as State.Apply would have raised it.
func (r *replayer) Wait() {
	r.flush()
	for _, ch := range r.workers {
		close(ch)
	}
	r.wg.Wait()
	for _, p := range r.panics {
		if p != nil {
			panic(p)
		}
	}
}

// barrier returns once the workers have applied every record before.
func (r *replayer) barrier() {
	r.flush()
	r.idle.Add(len(r.workers))
	for _, ch := range r.workers {
		ch <- nil
	}
	r.idle.Wait()
}

func isConfigSet(ev messages.Event) bool {
	_, ok := ev.(*messages.ConfigSet)
	return ok
}

func (r *replayer) run(w int, ch <-chan []pj.Record) {
	defer r.wg.Done()
	n := len(r.workers)
	for batch := range ch {
		if batch == nil {
			r.idle.Done()
			continue
		}
		if r.panics[w] != nil {
			continue // drain: the reader must not block
		}
		r.apply(w, n, batch)
	}
}

func (r *replayer) apply(w, n int, batch []pj.Record) {
	defer func() {
		if p := recover(); p != nil {
			r.panics[w] = p
		}
	}()
	s := r.s
	for _, rec := range batch {
		for _, ev := range rec.Events {
			if market := marketOf(ev); market >= 0 && market%n == w {
				s.Books[market].Apply(ev)
			}
			s.eachLedgerIndex(ev, func(i int) {
				if i%n == w {
					s.Ledgers[i].Apply(ev, ledger.Replay)
				}
			})
		}
	}
}

// parallel runs fn(0) … fn(n-1) on up to GOMAXPROCS goroutines, started in
// index order, and returns when all have returned. A panic in fn is raised
// again on the caller's goroutine.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			fn(i)
		}
	}
	workers := max(1, min(goruntime.GOMAXPROCS(0), n))
	var wg sync.WaitGroup
	panics := make([]any, workers)
	for k := 1; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[k] = recover() }()
			work()
		}()
	}
	func() {
		defer func() { panics[0] = recover() }()
		work()
	}()
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
}
