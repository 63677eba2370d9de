package journal

import (
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// fileLog records the operations on every segment file, in order.
type fileLog struct {
	mu  sync.Mutex
	ops map[string][]string // by segment name: "write", "sync", "close"
}

type loggedFile struct {
	pj.File
	l *fileLog
}

func (l *fileLog) add(f pj.File, op string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name := filepath.Base(f.Name())
	l.ops[name] = append(l.ops[name], op)
}

func (f *loggedFile) Write(b []byte) (int, error) { f.l.add(f.File, "write"); return f.File.Write(b) }
func (f *loggedFile) Sync() error                 { f.l.add(f.File, "sync"); return f.File.Sync() }
func (f *loggedFile) Close() error                { f.l.add(f.File, "close"); return f.File.Close() }

// TestSegmentSyncedBeforeClose: when the journal moves to a new segment,
// the old one is fsynced after its last write and before it is closed, in
// both modes that acknowledge before Close. In batch mode (no periodic
// fsync during the test) nothing else would sync the records written just
// before the switch: they would be acknowledged, never durable, and a torn
// old segment before an intact new one is "corrupt" at the next start.
func TestSegmentSyncedBeforeClose(t *testing.T) {
	for _, mode := range []Mode{Batch, Sync} {
		t.Run(mode.String(), func(t *testing.T) {
			l := &fileLog{ops: map[string][]string{}}
			pj.WrapFile = func(f pj.File) pj.File { return &loggedFile{f, l} }
			defer func() { pj.WrapFile = nil }()
			backend, _, err := pj.OpenFiles(t.TempDir(), 256, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
				return testenv.Quiet()
			}))
			pid, ch := replies(t, system)
			j := Start(backend, system.Root, Options{Mode: mode, SyncInterval: time.Hour, Log: testenv.Quiet()})
			for i := 1; i <= 40; i++ {
				j.Append(event(i))
				j.Reply(pid, &messages.StatusReply{})
				if _, ok := next(t, ch).(*messages.StatusReply); !ok {
					t.Fatal("wrong reply")
				}
			}
			// Still open: the old segments were closed at the switch.
			l.mu.Lock()
			closed := 0
			for name, ops := range l.ops {
				last := len(ops) - 1
				if last < 0 || ops[last] != "close" {
					continue
				}
				closed++
				if last == 0 || ops[last-1] != "sync" {
					t.Errorf("%s mode: segment %s closed without an fsync after its last write: %v", mode, name, ops)
				}
			}
			l.mu.Unlock()
			if closed < 3 {
				t.Fatalf("%s mode: %d segments closed; want the journal to move to a new segment several times", mode, closed)
			}
			j.Close()
		})
	}
}
