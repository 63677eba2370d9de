package journal

import (
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// fakeBackend records what the writer does and can be told to fail.
type fakeBackend struct {
	mu       sync.Mutex
	written  []pj.Record
	syncs    int
	last     uint64
	failNext error
}

func (f *fakeBackend) Write(rs []pj.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext != nil {
		return f.failNext
	}
	f.written = append(f.written, rs...)
	if len(rs) > 0 {
		f.last = rs[len(rs)-1].LSN
	}
	return nil
}

func (f *fakeBackend) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	return nil
}

func (f *fakeBackend) LastLSN() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeBackend) Close() error { return nil }

// replies collects replies sent to a PID.
func replies(t *testing.T, system *actor.ActorSystem) (*actor.PID, chan messages.Reply) {
	ch := make(chan messages.Reply, 100)
	pid := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if r, ok := c.Message().(messages.Reply); ok {
			ch <- r
		}
	}))
	return pid, ch
}

func next(t *testing.T, ch chan messages.Reply) messages.Reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}
	return nil
}

func event(i int) []messages.Event {
	return []messages.Event{&messages.OrderRested{OrderID: uint64(i)}}
}

func TestOrderAndDurability(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return testenv.Quiet()
	}))
	pid, ch := replies(t, system)
	b := &fakeBackend{}
	var followed []uint64
	var fmu sync.Mutex
	j := Start(b, system.Root, Options{Mode: Sync, Follow: func(rs []pj.Record) {
		fmu.Lock()
		for _, r := range rs {
			followed = append(followed, r.LSN)
		}
		fmu.Unlock()
	}})
	for i := 1; i <= 50; i++ {
		if lsn := j.Append(event(i)); lsn != uint64(i) {
			t.Fatalf("Append #%d = LSN %d", i, lsn)
		}
		j.Reply(pid, &messages.StatusReply{})
	}
	for i := 0; i < 50; i++ {
		if _, ok := next(t, ch).(*messages.StatusReply); !ok {
			t.Fatal("wrong reply")
		}
	}
	// A reply is released only after its record was written and synced.
	b.mu.Lock()
	if len(b.written) != 50 || b.syncs == 0 {
		t.Fatalf("written %d records, %d syncs", len(b.written), b.syncs)
	}
	b.mu.Unlock()
	if upto, err := j.Barrier(); err != nil || upto != 50 || j.LastLSN() != 50 {
		t.Fatalf("Barrier = %d, LastLSN = %d; want 50", upto, j.LastLSN())
	}
	fmu.Lock()
	if len(followed) != 50 || followed[0] != 1 || followed[49] != 50 {
		t.Fatalf("follower saw %v", followed)
	}
	fmu.Unlock()
	j.Close()
}

// TestFailureStopsAcknowledging: a write error answers the held reply and
// every later one with code 3, and Failed reports it.
func TestFailureStopsAcknowledging(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return testenv.Quiet()
	}))
	pid, ch := replies(t, system)
	b := &fakeBackend{failNext: errors.New("disk full")}
	j := Start(b, system.Root, Options{Mode: Sync, Log: testenv.Quiet()})
	j.Append(event(1))
	j.Reply(pid, &messages.StatusReply{})
	if e, ok := next(t, ch).(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("reply after a failed write = %#v; want code 3", e)
	}
	if !j.Failed() {
		t.Fatal("Failed() = false after a write error")
	}
	b.mu.Lock()
	b.failNext = nil
	b.mu.Unlock()
	j.Append(event(2))
	j.Reply(pid, &messages.StatusReply{})
	if e, ok := next(t, ch).(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("reply after the journal failed = %#v; want code 3 until restart", e)
	}
	j.Close()
}

func TestAsyncRepliesAtOnce(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return testenv.Quiet()
	}))
	pid, ch := replies(t, system)
	b := &fakeBackend{}
	j := Start(b, system.Root, Options{Mode: Async, SyncInterval: time.Hour})
	j.Append(event(1))
	j.Reply(pid, &messages.StatusReply{})
	next(t, ch)
	j.Close()
	if b.syncs == 0 || len(b.written) != 1 {
		t.Fatalf("after Close: %d written, %d syncs", len(b.written), b.syncs)
	}
}

// slowSync holds every Sync until released.
type slowSync struct {
	fakeBackend
	release chan struct{}
}

func (s *slowSync) Sync() error {
	<-s.release
	return s.fakeBackend.Sync()
}

// TestReplyWaitsForEarlierRecords: a reply with no record of its own (an
// error such as "repeat update") is not released before the records
// appended before it are durable.
func TestReplyWaitsForEarlierRecords(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return testenv.Quiet()
	}))
	pid, ch := replies(t, system)
	b := &slowSync{release: make(chan struct{})}
	j := Start(b, system.Root, Options{Mode: Sync})
	j.Append(event(1))
	j.Reply(pid, &messages.ErrorReply{Err: messages.ErrRepeatUpdate})
	select {
	case r := <-ch:
		t.Fatalf("reply %#v released before the record before it was fsynced", r)
	case <-time.After(100 * time.Millisecond):
	}
	close(b.release)
	if e, ok := next(t, ch).(*messages.ErrorReply); !ok || e.Err != messages.ErrRepeatUpdate {
		t.Fatalf("reply = %#v", e)
	}
	j.Close()
}

// gatedWrite holds its first Write until released, then fails every write
// of a record with LSN >= failFrom.
type gatedWrite struct {
	fakeBackend
	entered, release chan struct{}
	failFrom         uint64
	once             sync.Once
}

func (g *gatedWrite) Write(rs []pj.Record) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	for _, r := range rs {
		if r.LSN >= g.failFrom {
			return errors.New("disk full")
		}
	}
	return g.fakeBackend.Write(rs)
}

// TestReplyOfDurableRecordSurvivesFailure: the writer commits a step's
// record before the step's Reply reaches it; the reply then waits in the
// next batch, whose write fails. The record is durable, so the reply is the
// step's own answer, not code 3; a reply after the failed record is code 3.
func TestReplyOfDurableRecordSurvivesFailure(t *testing.T) {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return testenv.Quiet()
	}))
	pid, ch := replies(t, system)
	b := &gatedWrite{entered: make(chan struct{}), release: make(chan struct{}), failFrom: 2}
	j := Start(b, system.Root, Options{Mode: Sync, Log: testenv.Quiet()})
	j.Append(event(1))
	<-b.entered // the writer holds record 1 alone
	j.Reply(pid, &messages.StatusReply{})
	j.Append(event(2))
	j.Reply(pid, &messages.StatusReply{})
	close(b.release)
	if r, ok := next(t, ch).(*messages.StatusReply); !ok {
		t.Fatalf("reply of durable record 1 = %#v; want its success", r)
	}
	if e, ok := next(t, ch).(*messages.ErrorReply); !ok || e.Err != messages.ErrUnavailable {
		t.Fatalf("reply of failed record 2 = %#v; want code 3", e)
	}
	if b.LastLSN() != 1 || !j.Failed() {
		t.Fatalf("LastLSN %d, failed %v; want 1, true", b.LastLSN(), j.Failed())
	}
	j.Close()
}
