package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// Feed hands durable journal records to followers (history, market data,
// events, pushes). The journal writer publishes every record once it is
// durable; the feed keeps the newest records in memory and reads older ones
// from the journal backend, so a follower that falls behind — or starts
// from an old cursor — never slows the writer and never misses a record.
type Feed struct {
	read     func(after, upto uint64, fn func(pj.Record) error) error
	capacity int

	mu      sync.Mutex
	ring    []pj.Record // the newest capacity..2×capacity records, LSN ascending; guarded by mu
	durable uint64      // last durable LSN published; guarded by mu
	wake    chan struct{}

	followers sync.Map // name → *FollowerRun

	// at builds a Deriver positioned at an LSN (or, when the journal no
	// longer holds what follows that LSN, at the oldest point it can).
	at func(lsn uint64) (*derive.Deriver, error)

	stage *stage // derives once for every follower
}

// NewFeed returns a feed whose journal holds everything up to durable, read
// through read, keeping the newest capacity records in memory. at builds a
// follower's Deriver at its cursor (see Node; tests of the feed alone may
// pass one that starts from nothing).
func NewFeed(durable uint64, capacity int, read func(after, upto uint64, fn func(pj.Record) error) error,
	at func(lsn uint64) (*derive.Deriver, error)) *Feed {
	if capacity <= 0 {
		capacity = 1 << 16
	}
	f := &Feed{read: read, capacity: capacity, durable: durable, wake: make(chan struct{}), at: at}
	f.stage = newStage(f)
	return f
}

// Publish receives durable records in LSN order (journal.Options.Follow).
func (f *Feed) Publish(records []pj.Record) {
	if len(records) == 0 {
		return
	}
	f.mu.Lock()
	f.ring = keepWindow(f.ring, records, f.capacity)
	f.durable = records[len(records)-1].LSN
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// Durable is the last durable LSN the feed knows of.
func (f *Feed) Durable() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.durable
}

// Next returns up to max records with LSN > after, in order, waiting until
// there is at least one or ctx ends.
func (f *Feed) Next(ctx context.Context, after uint64, max int) ([]pj.Record, error) {
	for {
		f.mu.Lock()
		durable, wake := f.durable, f.wake
		var out []pj.Record
		if n := len(f.ring); durable > after && n > 0 && f.ring[0].LSN <= after+1 {
			i := int(after + 1 - f.ring[0].LSN)
			out = append(out, f.ring[i:min(n, i+max)]...)
		}
		f.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		if durable > after {
			// Older than the memory holds: read the journal.
			upto := min(durable, after+uint64(max))
			err := f.read(after, upto, func(r pj.Record) error {
				out = append(out, r)
				return nil
			})
			return out, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Follower is a sink fed from the durable journal in LSN order, as derived
// records (persistence/derive). It stores its cursor — the LSN of the last
// record it holds — atomically with what it writes, so after a crash it
// resumes exactly where it stopped: nothing is written twice, nothing is
// skipped.
type Follower interface {
	Name() string
	// Cursor returns the stored cursor (0: nothing yet).
	Cursor(ctx context.Context) (uint64, error)
	// Apply writes the effects of records (which follow the cursor without
	// a gap) together with the new cursor, atomically.
	Apply(ctx context.Context, records []derive.Record) error
}

// FollowerRun is one follower being fed; its lag is exposed for metrics.
type FollowerRun struct {
	done   chan struct{} // closed when the follower's loop has returned
	name   string
	cursor atomic.Uint64
	errors atomic.Int64
}

// Cursor is the follower's last confirmed LSN.
func (r *FollowerRun) Cursor() uint64 { return r.cursor.Load() }

// Errors counts failed Cursor/Apply calls (each retried with backoff).
func (r *FollowerRun) Errors() int64 { return r.errors.Load() }

// Lag is how many durable records the follower has not stored yet.
func (f *Feed) Lag(name string) (uint64, bool) {
	v, ok := f.followers.Load(name)
	if !ok {
		return 0, false
	}
	d, c := f.Durable(), v.(*FollowerRun).Cursor()
	if c > d {
		return 0, true
	}
	return d - c, true
}

// Wait returns once the named follower's loop has stopped (at once if no
// follower of that name runs).
func (f *Feed) Wait(name string) {
	if v, ok := f.followers.Load(name); ok {
		<-v.(*FollowerRun).done
	}
}

// Followers lists the running followers by name.
func (f *Feed) Followers() []actors.FollowerStatus {
	durable := f.Durable()
	var out []actors.FollowerStatus
	f.followers.Range(func(k, v any) bool {
		run := v.(*FollowerRun)
		c := run.Cursor()
		st := actors.FollowerStatus{Name: k.(string), Cursor: c, Errors: run.Errors()}
		if durable > c {
			st.Lag = durable - c
		}
		out = append(out, st)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MinCursor is the smallest cursor among running followers (the journal
// must keep the records after it), and false when none runs.
func (f *Feed) MinCursor() (uint64, bool) {
	var (
		m  uint64
		ok bool
	)
	f.followers.Range(func(_, v any) bool {
		c := v.(*FollowerRun).Cursor()
		if !ok || c < m {
			m, ok = c, true
		}
		return true
	})
	return m, ok
}

// Follow feeds fl until ctx ends, in batches of at most batch records. A
// failing sink is retried from its stored cursor with exponential backoff
// (100 ms up to 5 s); matching never waits for it.
func (f *Feed) Follow(ctx context.Context, fl Follower, batch int, log *slog.Logger) *FollowerRun {
	run := &FollowerRun{name: fl.Name(), done: make(chan struct{})}
	f.followers.Store(fl.Name(), run)
	go func() {
		defer close(run.done)
		defer f.followers.Delete(fl.Name())
		(&follow{feed: f, fl: fl, run: run, batch: batch, log: log, backoff: minBackoff}).loop(ctx)
	}()
	return run
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// follow is one follower's loop: take the derived records after its
// cursor, hand them to the sink, repeat. The records come from the feed's
// derive stage; a follower behind the stage's window (or started before
// what it keeps) derives for itself from the journal, with a Deriver built
// at its cursor, until it is back within the window.
type follow struct {
	feed    *Feed
	fl      Follower
	run     *FollowerRun
	batch   int
	log     *slog.Logger
	backoff time.Duration
	placed  bool            // at is known
	at      uint64          // the last record in pending, else the stored cursor
	d       *derive.Deriver // the follower's own Deriver at at; nil: the stage serves it
	pending []derive.Record // derived but not confirmed stored
}

func (w *follow) loop(ctx context.Context) {
	for ctx.Err() == nil {
		cursor, err := w.fl.Cursor(ctx)
		if err != nil {
			if !w.fail(ctx, "cursor", err) {
				return
			}
			continue
		}
		w.run.cursor.Store(cursor)
		w.position(cursor)
		for ctx.Err() == nil {
			if len(w.pending) == 0 {
				if what, err := w.next(ctx); err != nil {
					if ctx.Err() == nil {
						w.fail(ctx, what, err)
					}
					break
				}
			}
			if err := w.fl.Apply(ctx, w.pending); err != nil {
				if ctx.Err() == nil && !w.fail(ctx, "apply", err) {
					return
				}
				break // re-read the stored cursor
			}
			w.run.cursor.Store(w.pending[len(w.pending)-1].LSN)
			clear(w.pending)
			w.pending = w.pending[:0]
			w.backoff = minBackoff
		}
	}
}

// position makes the follower go on from cursor: keep the pending batch
// if the sink stored none of it (retry) and drop it if the sink stored all
// of it; otherwise start over at cursor.
func (w *follow) position(cursor uint64) {
	if w.placed {
		switch {
		case len(w.pending) > 0 && cursor == w.pending[0].LSN-1:
			return // retry the batch
		case cursor == w.at:
			w.pending = w.pending[:0] // the batch was stored after all
			return
		}
	}
	w.pending = w.pending[:0]
	w.placed, w.at, w.d = true, cursor, nil
}

// next fills the empty pending batch with the derived records after at:
// from the stage, else from the follower's own Deriver. On failure it says
// what failed.
func (w *follow) next(ctx context.Context) (string, error) {
	if w.d == nil {
		records, ok, err := w.feed.stage.next(ctx, w.at, w.batch, w.pending, w.log)
		if ok {
			if err != nil {
				return "read", err
			}
			w.pending = records
			w.at = records[len(records)-1].LSN
			return "", nil
		}
		if err := w.rebuild(); err != nil {
			return "rebuild", err
		}
	}
	records, err := w.feed.Next(ctx, w.d.LSN(), w.batch)
	if err == nil && len(records) == 0 {
		err = fmt.Errorf("the journal returned no record after LSN %d", w.d.LSN())
	}
	if err != nil {
		return "read", err
	}
	if err := w.derive(records); err != nil {
		w.d = nil // rebuild at the stored cursor
		return "derive", err
	}
	if w.at = w.d.LSN(); w.feed.stage.covers(w.at) {
		w.d = nil // back within the stage's window
	}
	return "", nil
}

// rebuild builds the follower's own Deriver at at. When the journal no
// longer holds the records after at, the Deriver starts later and the
// follower skips to there.
func (w *follow) rebuild() error {
	d, err := w.feed.at(w.at)
	if err != nil {
		return err
	}
	if d.LSN() > w.at {
		w.log.Error("journal follower: the journal no longer holds the records after its cursor; skipping to the oldest state kept",
			"follower", w.fl.Name(), "cursor", w.at, "resumes_after", d.LSN())
		w.at = d.LSN()
		w.run.cursor.Store(w.at) // skipped: the records up to at will never come
	}
	w.d = d
	return nil
}

func (w *follow) derive(records []pj.Record) error {
	for _, r := range records {
		dr, err := w.d.Derive(r)
		if err != nil {
			w.pending = w.pending[:0]
			return err
		}
		w.pending = append(w.pending, dr)
	}
	return nil
}

// fail logs err, waits the backoff (doubling it) and reports whether to go
// on (false: ctx ended).
func (w *follow) fail(ctx context.Context, what string, err error) bool {
	w.run.errors.Add(1)
	w.log.Error("journal follower "+what+" failed: retrying", "follower", w.fl.Name(), "err", err, "in", w.backoff)
	select {
	case <-time.After(w.backoff):
	case <-ctx.Done():
		return false
	}
	w.backoff = min(2*w.backoff, maxBackoff)
	return true
}
