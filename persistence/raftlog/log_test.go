package raftlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// ent is a normal entry whose one event names its index and term.
func ent(index, term uint64) *pb.Entry {
	ev := &messages.OrderRested{OrderID: index<<8 | term}
	return &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(term), Type: pb.EntryNormal.Enum(),
		Data: EncodeEvents([]messages.Event{ev})}
}

func ents(from, to, term uint64) []*pb.Entry {
	var es []*pb.Entry
	for i := from; i <= to; i++ {
		es = append(es, ent(i, term))
	}
	return es
}

func open(t *testing.T, dir string) (*Log, Recovery) {
	t.Helper()
	l, rec, err := Open(dir, 256) // small segments: several per test
	if err != nil {
		t.Fatal(err)
	}
	return l, rec
}

func mustAppend(t *testing.T, l *Log, es []*pb.Entry) {
	t.Helper()
	if err := l.Append(es); err != nil {
		t.Fatal(err)
	}
}

// same checks that l holds exactly want after its first index.
func same(t *testing.T, l *Log, want []*pb.Entry) {
	t.Helper()
	first, _ := l.FirstIndex()
	last, _ := l.LastIndex()
	if len(want) == 0 {
		if last != first-1 {
			t.Fatalf("log holds %d..%d, want nothing", first, last)
		}
		return
	}
	if first != want[0].GetIndex() || last != want[len(want)-1].GetIndex() {
		t.Fatalf("log holds %d..%d, want %d..%d", first, last, want[0].GetIndex(), want[len(want)-1].GetIndex())
	}
	got, err := l.Entries(first, last+1, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("entry %d: got %v want %v", want[i].GetIndex(), got[i], want[i])
		}
		if term, _ := l.Term(want[i].GetIndex()); term != want[i].GetTerm() {
			t.Fatalf("Term(%d) = %d", want[i].GetIndex(), term)
		}
	}
}

func TestAppendRestart(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	want := ents(1, 10, 1)
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{{Type: pb.ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(4)}}}
	data, _ := proto.Marshal(cc)
	want = append(want, &pb.Entry{Index: proto.Uint64(11), Term: proto.Uint64(2), Type: pb.EntryConfChangeV2.Enum(), Data: data},
		&pb.Entry{Index: proto.Uint64(12), Term: proto.Uint64(2), Type: pb.EntryNormal.Enum()})
	want = append(want, ents(13, 20, 3)...)
	for i := 0; i < len(want); i += 3 {
		mustAppend(t, l, want[i:min(i+3, len(want))])
	}
	hs := &pb.HardState{Term: proto.Uint64(3), Vote: proto.Uint64(2), Commit: proto.Uint64(15)}
	if err := l.SetHardState(hs); err != nil {
		t.Fatal(err)
	}
	same(t, l, want)
	l.Close()

	l, rec := open(t, dir)
	defer l.Close()
	same(t, l, want)
	got, _, _ := l.InitialState()
	if !proto.Equal(got, hs) || rec.Entries != 20 || rec.Commit != 15 {
		t.Fatalf("after restart: %v %+v", got, rec)
	}
	// The records are the journal's own: a reader of the journal sees the
	// commands' events, and records without events for the others.
	var n int
	if err := pj.ReadFiles(dir, 0, 20, func(r pj.Record) error {
		n++
		if (r.LSN == 11 || r.LSN == 12) != (len(r.Events) == 0) {
			t.Errorf("record %d: %d events", r.LSN, len(r.Events))
		}
		return nil
	}); err != nil || n != 20 {
		t.Fatal(n, err)
	}
}

func TestCommitAloneIsNotWritten(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 5, 1))
	if err := l.SetHardState(&pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(2)}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetHardState(&pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(5)}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l, rec := open(t, dir)
	if rec.Commit != 2 {
		t.Fatalf("commit %d after a commit-only change, want the saved 2", rec.Commit)
	}
	if err := l.SetHardState(&pb.HardState{Term: proto.Uint64(1), Commit: proto.Uint64(4)}); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveCommit(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, rec = open(t, dir); rec.Commit != 4 {
		t.Fatalf("commit %d after SaveCommit", rec.Commit)
	}
}

func TestOverwriteTail(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 12, 1))
	mustAppend(t, l, ents(13, 15, 2))
	// A new leader of term 3 replaces everything after 8.
	mustAppend(t, l, ents(9, 10, 3))
	want := append(ents(1, 8, 1), ents(9, 10, 3)...)
	same(t, l, want)
	if err := l.Append(ents(12, 12, 3)); err == nil {
		t.Fatal("an append with a gap was taken")
	}
	l.Close()
	l, _ = open(t, dir)
	same(t, l, want)
	// And again at the very start.
	mustAppend(t, l, ents(1, 2, 4))
	l.Close()
	l, _ = open(t, dir)
	defer l.Close()
	same(t, l, ents(1, 2, 4))
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 30, 1))
	mustAppend(t, l, ents(31, 40, 2))
	cs := &pb.ConfState{Voters: []uint64{1, 2, 3}}
	if _, err := l.CreateSnapshot(35, cs, []byte("state at 35")); err != nil {
		t.Fatal(err)
	}
	if err := l.Compact(36); err == nil {
		t.Fatal("compacted past the snapshot")
	}
	if err := l.Compact(35); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Entries(30, 36, 1<<62); !errors.Is(err, raft.ErrCompacted) {
		t.Fatalf("compacted entries: %v", err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(segs)
	if first := filepath.Base(segs[0]); first == "00000000000000000001.seg" {
		t.Fatalf("segments before the snapshot kept: %v", segs)
	}
	mustAppend(t, l, ents(41, 45, 2))
	l.Close()

	l, _ = open(t, dir)
	defer l.Close()
	same(t, l, ents(36, 45, 2))
	snap, _ := l.Snapshot()
	_, gotCS, _ := l.InitialState()
	if string(snap.GetData()) != "state at 35" || snap.GetMetadata().GetIndex() != 35 || snap.GetMetadata().GetTerm() != 2 || !slices.Equal(gotCS.GetVoters(), cs.GetVoters()) {
		t.Fatalf("snapshot after restart: %v %v", snap.GetMetadata(), gotCS)
	}
	if term, _ := l.Term(35); term != 2 {
		t.Fatalf("Term(35) = %d", term)
	}
}

func TestApplySnapshot(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 20, 1))
	snap := &pb.Snapshot{Data: []byte("leader's state"), Metadata: &pb.SnapshotMetadata{
		Index: proto.Uint64(100), Term: proto.Uint64(4), ConfState: &pb.ConfState{Voters: []uint64{1, 2}}}}
	if err := l.ApplySnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if err := l.ApplySnapshot(snap); !errors.Is(err, raft.ErrSnapOutOfDate) {
		t.Fatalf("the same snapshot again: %v", err)
	}
	mustAppend(t, l, ents(101, 103, 4))
	mustAppend(t, l, ents(104, 105, 5))
	l.Close()
	l, _ = open(t, dir)
	defer l.Close()
	same(t, l, append(ents(101, 103, 4), ents(104, 105, 5)...))
	if got, _ := l.Snapshot(); !bytes.Equal(got.GetData(), snap.GetData()) {
		t.Fatal("snapshot data lost")
	}
}

// TestInterruptedReset is a crash between saving an installed snapshot's
// metadata and emptying the journal: opening finishes the reset.
func TestInterruptedReset(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 20, 1))
	l.Close()
	m, err := readMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.snap = &pb.SnapshotMetadata{Index: proto.Uint64(10), Term: proto.Uint64(3), ConfState: &pb.ConfState{}}
	m.runs, m.reset = nil, true
	if err := os.WriteFile(filepath.Join(dir, snapName(10)), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.save(dir); err != nil {
		t.Fatal(err)
	}
	l, rec := open(t, dir)
	defer l.Close()
	if !rec.Reset {
		t.Fatal("reset not reported")
	}
	same(t, l, nil)
	if last, _ := l.LastIndex(); last != 10 {
		t.Fatalf("last %d", last)
	}
	mustAppend(t, l, ents(11, 11, 3))
}

// TestTornTail is a crash in the middle of an Append: the terms saved for
// the entries are forgotten with the records the crash tore off, and the
// log continues at the last whole record.
func TestTornTail(t *testing.T) {
	for cut := int64(1); cut < 40; cut += 7 {
		dir := t.TempDir()
		l, _ := open(t, dir)
		mustAppend(t, l, ents(1, 4, 1))
		seg := lastSegment(t, dir)
		before := size(t, seg)
		mustAppend(t, l, ents(5, 6, 2)) // a new term: a run is saved first
		l.Close()
		if lastSegment(t, dir) != seg {
			t.Fatal("the append rolled a segment; make the test's segments larger")
		}
		if err := os.Truncate(seg, before+cut); err != nil {
			t.Fatal(err)
		}
		l, rec := open(t, dir)
		last, _ := l.LastIndex()
		if rec.Journal.TornBytes == 0 && last != 6 {
			t.Fatalf("cut %d: nothing torn but last %d", cut, last)
		}
		if last < 4 || last > 6 {
			t.Fatalf("cut %d: last %d", cut, last)
		}
		if last == 4 && !rec.Trimmed {
			t.Fatalf("cut %d: term run of torn entries kept", cut)
		}
		// Another leader's entries of term 3 follow.
		mustAppend(t, l, ents(last+1, last+1, 3))
		l.Close()
		l, _ = open(t, dir)
		want := append(ents(1, 4, 1), ents(5, last, 2)...)
		same(t, l, append(want, ent(last+1, 3)))
		l.Close()
	}
}

func lastSegment(t *testing.T, dir string) string {
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(segs)
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return segs[len(segs)-1]
}

func size(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestDamagedMeta(t *testing.T) {
	dir := t.TempDir()
	l, _ := open(t, dir)
	mustAppend(t, l, ents(1, 3, 1))
	l.Close()
	path := filepath.Join(dir, MetaFile)
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 1
	os.WriteFile(path, b, 0o644)
	if _, _, err := Open(dir, 256); err == nil {
		t.Fatal("a damaged metadata file was taken")
	}
}

func TestRecordsWithoutTermRefused(t *testing.T) {
	dir := t.TempDir()
	j, _, err := pj.OpenFiles(dir, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Write([]pj.Record{{LSN: 1, Events: []messages.Event{&messages.OrderRested{OrderID: 1}}}})
	j.Close()
	if _, _, err := Open(dir, 0); !errors.Is(err, pj.ErrCorrupt) {
		t.Fatalf("a single node's journal opened as a Raft log: %v", err)
	}
}

func TestEventsRoundTrip(t *testing.T) {
	evs := []messages.Event{&messages.OrderRested{OrderID: 7}, &messages.BalanceUpdated{User: 3, Business: "deposit", BusinessID: 9}}
	data := EncodeEvents(evs)
	got, err := DecodeEvents(data)
	if err != nil || len(got) != 2 || !bytes.Equal(EncodeEvents(got), data) {
		t.Fatalf("%v %v", got, err)
	}
	for i := range data {
		if _, err := DecodeEvents(data[:i]); err == nil && i > 0 {
			t.Fatalf("a cut at %d decoded", i)
		}
	}
	if EncodeEvents(nil) != nil {
		t.Fatal("no events is not nil")
	}
}
