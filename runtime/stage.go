package runtime

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/bourse-exchange/bourse/persistence/derive"
)

// DeriveWindow is how many derived records the derive stage keeps for the
// followers (docs/design.md "Followers"): a follower further behind the
// stage than that derives for itself from the journal until it is back
// within the window.
const DeriveWindow = 1 << 13

// stageBatch is how many journal records the stage derives at once: small
// enough that a follower at the tip gets a commit's records soon after it
// is durable.
const stageBatch = 256

// stage is the feed's derive stage: one Deriver over the durable journal,
// whose records every follower reads from a window of the newest ones. It
// runs on its own goroutine from the first follower's request until
// Feed.Stop; it starts from the Deriver given to Feed.Seed (the node's
// recovered state), else from a Deriver built at the first follower's
// cursor.
type stage struct {
	feed   *Feed
	window int

	mu      sync.Mutex
	seed    *derive.Deriver // given by Seed until the stage starts; guarded by mu
	started bool            // guarded by mu
	tip     uint64          // the last record derived (or the position being rebuilt); guarded by mu
	ring    []derive.Record // the newest window..2×window derived records up to tip, LSN ascending; guarded by mu
	wake    chan struct{}   // closed when tip moves; guarded by mu
	log     *slog.Logger    // guarded by mu until started

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the stage's goroutine returned
}

func newStage(f *Feed) *stage {
	ctx, cancel := context.WithCancel(context.Background())
	return &stage{feed: f, window: DeriveWindow, wake: make(chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// Seed gives the derive stage its starting point: a Deriver at the feed's
// durable end (the node's recovered state), so that followers at the end of
// the journal — a node restarted after a clean stop — start without
// rebuilding anything. Call it before the first Follow.
func (f *Feed) Seed(d *derive.Deriver) {
	s := f.stage
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.seed = d
	}
}

// Stop stops the derive stage and waits for it. Followers still running
// then derive for themselves.
func (f *Feed) Stop() {
	s := f.stage
	s.mu.Lock()
	started := s.started
	s.started = true // no start after Stop
	s.mu.Unlock()
	s.cancel()
	if started {
		<-s.done
	}
}

// startLocked starts the stage at the seed, else at the Deriver built at
// LSN at. s.mu must be held.
func (s *stage) startLocked(at uint64) {
	s.started = true
	d := s.seed
	s.seed = nil
	if d != nil {
		at = d.LSN()
	}
	s.tip = at
	if s.log == nil {
		s.log = slog.Default()
	}
	go s.run(d, at)
}

// next appends to buf up to max derived records following after and
// returns them with true; it waits while after is the stage's tip (or
// between the tip and the durable end: the stage is on its way). It
// returns false when after is behind the stage's window or beyond the
// durable end: the follower derives for itself.
func (s *stage) next(ctx context.Context, after uint64, max int, buf []derive.Record, log *slog.Logger) ([]derive.Record, bool, error) {
	for {
		s.mu.Lock()
		if !s.started {
			if s.ctx.Err() != nil || (s.seed == nil && after > s.feed.Durable()) {
				s.mu.Unlock()
				return buf, false, nil
			}
			if s.log == nil {
				s.log = log
			}
			s.startLocked(after)
		}
		first := s.tip + 1
		if len(s.ring) > 0 {
			first = s.ring[0].LSN
		}
		switch {
		case after+1 < first || s.ctx.Err() != nil:
			s.mu.Unlock()
			return buf, false, nil
		case after < s.tip:
			i := int(after + 1 - first)
			buf = append(buf, s.ring[i:min(len(s.ring), i+max)]...)
			s.mu.Unlock()
			return buf, true, nil
		case after > s.tip && after > s.feed.Durable():
			s.mu.Unlock()
			return buf, false, nil
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-s.ctx.Done():
		case <-ctx.Done():
			return buf, true, ctx.Err()
		}
	}
}

// covers reports whether a follower that derived up to lsn can take the
// stage's records from there on.
func (s *stage) covers(lsn uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.ctx.Err() != nil {
		return false
	}
	first := s.tip + 1
	if len(s.ring) > 0 {
		first = s.ring[0].LSN
	}
	return lsn+1 >= first && lsn <= s.tip
}

// run derives the durable journal after at (with d, or a Deriver built
// there when d is nil) until the stage is stopped. A derive error drops
// the Deriver and builds a new one where it stopped.
func (s *stage) run(d *derive.Deriver, at uint64) {
	defer close(s.done)
	backoff := minBackoff
	retry := func(what string, err error) bool {
		s.log.Error("derive stage: "+what+" failed: retrying", "lsn", at, "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return false
		}
		backoff = min(2*backoff, maxBackoff)
		return true
	}
	var out []derive.Record
	for s.ctx.Err() == nil {
		if d == nil {
			var err error
			if d, err = s.feed.at(at); err != nil {
				if !retry("rebuild", err) {
					return
				}
				continue
			}
			s.moveTo(d.LSN())
		}
		raw, err := s.feed.Next(s.ctx, d.LSN(), stageBatch)
		if err != nil {
			if s.ctx.Err() != nil || !retry("read", err) {
				return
			}
			continue
		}
		out = out[:0]
		var derr error
		for _, r := range raw {
			dr, err := d.Derive(r)
			if err != nil {
				derr = err
				break
			}
			out = append(out, dr)
		}
		s.publish(out)
		clear(out)
		if at = d.LSN(); derr != nil {
			d = nil // its state is no longer the journal's: rebuild it at its last record
			if !retry("derive", derr) {
				return
			}
			continue
		}
		backoff = minBackoff
	}
}

// moveTo puts the stage's tip at lsn, where a new Deriver starts; the
// window is dropped unless it ends there.
func (s *stage) moveTo(lsn uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lsn != s.tip {
		clear(s.ring)
		s.ring, s.tip = s.ring[:0], lsn
	}
	close(s.wake)
	s.wake = make(chan struct{})
}

// publish appends derived records to the window and wakes the followers
// waiting for them.
func (s *stage) publish(records []derive.Record) {
	if len(records) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring = keepWindow(s.ring, records, s.window)
	s.tip = records[len(records)-1].LSN
	close(s.wake)
	s.wake = make(chan struct{})
}

// keepWindow appends add to ring and keeps at least the newest keep
// elements: it compacts only once twice that many accumulated, so an
// append costs O(len(add)), not O(keep).
func keepWindow[T any](ring, add []T, keep int) []T {
	ring = append(ring, add...)
	if over := len(ring) - keep; over > keep {
		n := copy(ring, ring[over:])
		clear(ring[n:])
		ring = ring[:n]
	}
	return ring
}
