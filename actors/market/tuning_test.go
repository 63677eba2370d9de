package market

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestQueue: the depth is the number of messages waiting behind the one
// being handled, Full compares it with the limit, and it drains to 0.
func TestQueue(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	q := NewQueue(3)
	if q.Depth() != 0 || q.Full() {
		t.Fatalf("before spawn: depth %d, full %v; want 0, false", q.Depth(), q.Full())
	}
	entered, release, done := make(chan struct{}), make(chan struct{}), make(chan int, 8)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if i, ok := ctx.Message().(int); ok {
			if i == 0 {
				close(entered)
				<-release
			}
			done <- i
		}
	}, actor.WithMailbox(q.Producer(nil))))
	sys.Root.Send(pid, 0)
	<-entered
	for i := 1; i <= 2; i++ {
		sys.Root.Send(pid, i)
	}
	if d, f := q.Depth(), q.Full(); d != 2 || f {
		t.Errorf("2 waiting: depth %d, full %v; want 2, false", d, f)
	}
	sys.Root.Send(pid, 3)
	if d, f := q.Depth(), q.Full(); d != 3 || !f {
		t.Errorf("3 waiting: depth %d, full %v; want 3, true", d, f)
	}
	if NewQueue(0).Full() {
		t.Error("a queue without limit is full")
	}
	close(release)
	for i := range 4 {
		if got := <-done; got != i {
			t.Fatalf("handled %d; want %d", got, i)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); q.Depth() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("depth %d after every message was handled; want 0", q.Depth())
		}
	}
}

// TestDedicated: an actor on a dedicated dispatcher gets every message, in
// order, on the dispatcher's one goroutine; after Close, Schedule returns
// without running anything.
func TestDedicated(t *testing.T) {
	for _, lock := range []bool{false, true} {
		sys := actor.NewActorSystem()
		d := NewDedicated(10, lock)
		const n = 1000
		got := make([]int, 0, n)
		done := make(chan struct{})
		pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			if i, ok := ctx.Message().(int); ok {
				got = append(got, i)
				if len(got) == n {
					close(done)
				}
			}
		}, actor.WithDispatcher(d)))
		for i := range n {
			sys.Root.Send(pid, i)
		}
		<-done
		for i, v := range got {
			if v != i {
				t.Fatalf("lock=%v: message %d was %d; want in order", lock, i, v)
			}
		}
		sys.Shutdown()
		d.Close()
		ran := false
		d.Schedule(func() { ran = true })
		d.Schedule(func() { ran = true }) // would block on a stopped loop if not dropped
		if ran {
			t.Errorf("lock=%v: Schedule ran a function after Close", lock)
		}
	}
}
