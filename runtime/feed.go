package runtime

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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
}

// NewFeed returns a feed whose journal holds everything up to durable, read
// through read, keeping the newest capacity records in memory.
func NewFeed(durable uint64, capacity int, read func(after, upto uint64, fn func(pj.Record) error) error) *Feed {
	if capacity <= 0 {
		capacity = 1 << 16
	}
	return &Feed{read: read, capacity: capacity, durable: durable, wake: make(chan struct{})}
}

// Publish receives durable records in LSN order (journal.Options.Follow).
func (f *Feed) Publish(records []pj.Record) {
	if len(records) == 0 {
		return
	}
	f.mu.Lock()
	f.ring = append(f.ring, records...)
	// Keep at least capacity records; compact only when twice that many
	// accumulated, so a publish costs O(records), not O(capacity).
	if over := len(f.ring) - f.capacity; over > f.capacity {
		n := copy(f.ring, f.ring[over:])
		clear(f.ring[n:])
		f.ring = f.ring[:n]
	}
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

// Follower is a sink fed from the durable journal in LSN order. It stores
// its cursor — the LSN of the last record it holds — atomically with what it
// writes, so after a crash it resumes exactly where it stopped: nothing is
// written twice, nothing is skipped.
type Follower interface {
	Name() string
	// Cursor returns the stored cursor (0: nothing yet).
	Cursor(ctx context.Context) (uint64, error)
	// Apply writes the effects of records (which follow the cursor without
	// a gap) together with the new cursor, atomically.
	Apply(ctx context.Context, records []pj.Record) error
}

// FollowerRun is one follower being fed; its lag is exposed for metrics.
type FollowerRun struct {
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
	run := &FollowerRun{name: fl.Name()}
	f.followers.Store(fl.Name(), run)
	go func() {
		defer f.followers.Delete(fl.Name())
		backoff := 100 * time.Millisecond
		fail := func(what string, err error) bool {
			run.errors.Add(1)
			log.Error("follower "+what+" failed: retrying", "follower", fl.Name(), "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return false
			}
			backoff = min(2*backoff, 5*time.Second)
			return true
		}
		for ctx.Err() == nil {
			cursor, err := fl.Cursor(ctx)
			if err != nil {
				if !fail("cursor", err) {
					return
				}
				continue
			}
			run.cursor.Store(cursor)
			for ctx.Err() == nil {
				records, err := f.Next(ctx, cursor, batch)
				if err == nil {
					err = fl.Apply(ctx, records)
				}
				if err != nil {
					if ctx.Err() == nil && !fail("apply", err) {
						return
					}
					break // re-read the stored cursor
				}
				cursor = records[len(records)-1].LSN
				run.cursor.Store(cursor)
				backoff = 100 * time.Millisecond
			}
		}
	}()
	return run
}
