package raftlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Log is the Raft log of one node in its journal directory: raft.Storage
// for the library, and the durable side (Append, SetHardState,
// ApplySnapshot, CreateSnapshot, Compact) for the code that handles Ready.
// Not safe for concurrent use except through the raft.Storage methods,
// which the MemoryStorage inside guards.
type Log struct {
	dir   string
	files *pj.Files
	mem   *raft.MemoryStorage
	meta  meta
	saved *pb.HardState // the HardState in raft.meta
}

var _ raft.Storage = (*Log)(nil)

// Recovery reports what Open found.
type Recovery struct {
	Journal pj.Recovery
	Entries int    // after the snapshot
	Reset   bool   // a snapshot install a crash interrupted was finished
	Trimmed bool   // terms or conf changes of records a crash tore off were forgotten
	Commit  uint64 // the HardState's commit
}

// Open opens (creating if needed) the Raft log in dir. segmentSize is the
// journal's (0: journal.SegmentSize).
func Open(dir string, segmentSize int64) (*Log, Recovery, error) {
	var rec Recovery
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, rec, err
	}
	m, err := readMeta(dir)
	if err != nil {
		return nil, rec, err
	}
	l := &Log{dir: dir, meta: m, mem: raft.NewMemoryStorage()}
	snap := &pb.Snapshot{Metadata: m.snap}
	if m.snap.GetIndex() > 0 {
		if snap.Data, err = os.ReadFile(filepath.Join(dir, snapName(m.snap.GetIndex()))); err != nil {
			return nil, rec, fmt.Errorf("raftlog: snapshot %d: %w", m.snap.GetIndex(), err)
		}
	}
	var records []pj.Record
	l.files, rec.Journal, err = pj.OpenFiles(dir, segmentSize, m.snap.GetIndex(), func(r pj.Record) error {
		records = append(records, r)
		return nil
	})
	if err != nil {
		return nil, rec, err
	}
	if rec.Reset, err = l.finishReset(&records); err != nil {
		return nil, rec, err
	}
	if err := l.rebuild(snap, records, &rec); err != nil {
		l.files.Close()
		return nil, rec, err
	}
	return l, rec, nil
}

// finishReset completes a snapshot install that a crash interrupted: the
// records after the snapshot are those of the log it replaced.
func (l *Log) finishReset(records *[]pj.Record) (bool, error) {
	at := l.meta.snap.GetIndex()
	if !l.meta.reset && l.files.LastLSN() >= at {
		return false, nil
	}
	if err := l.files.ResetAfter(at); err != nil {
		return false, err
	}
	*records = nil
	if !l.meta.reset {
		return false, nil
	}
	l.meta.reset = false
	return true, l.meta.save(l.dir)
}

// rebuild fills the MemoryStorage from the snapshot and the records after
// it, and checks the HardState against them.
func (l *Log) rebuild(snap *pb.Snapshot, records []pj.Record, rec *Recovery) error {
	at := l.meta.snap.GetIndex()
	if at > 0 {
		if err := l.mem.ApplySnapshot(snap); err != nil {
			return err
		}
	}
	last := at
	if n := len(records); n > 0 {
		last = records[n-1].LSN
	}
	if rec.Trimmed = l.meta.trimAfter(last); rec.Trimmed {
		if err := l.meta.save(l.dir); err != nil {
			return err
		}
	}
	entries := make([]*pb.Entry, 0, len(records))
	for i, r := range records {
		if r.LSN != at+uint64(i)+1 {
			return fmt.Errorf("%w: record %d follows the snapshot at %d", pj.ErrCorrupt, r.LSN, at)
		}
		e, err := l.entry(r)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	if err := l.mem.Append(entries); err != nil {
		return err
	}
	hard := proto.Clone(l.meta.hard).(*pb.HardState)
	if hard.GetCommit() > last {
		return fmt.Errorf("%w: commit %d is past the last entry %d", pj.ErrCorrupt, hard.GetCommit(), last)
	}
	hard.Commit = proto.Uint64(max(hard.GetCommit(), at))
	l.saved = hard
	rec.Entries, rec.Commit = len(entries), hard.GetCommit()
	return l.mem.SetHardState(hard)
}

// entry is the Raft entry record r stores.
func (l *Log) entry(r pj.Record) (*pb.Entry, error) {
	term := l.meta.termAt(r.LSN)
	if term == 0 {
		return nil, fmt.Errorf("%w: record %d has no term (a journal written before the node was in a cluster: start the cluster from a snapshot at its last record)", pj.ErrCorrupt, r.LSN)
	}
	e := &pb.Entry{Index: proto.Uint64(r.LSN), Term: proto.Uint64(term), Type: pb.EntryNormal.Enum()}
	if c, ok := l.meta.confAt(r.LSN); ok {
		if len(r.Events) > 0 {
			return nil, fmt.Errorf("%w: conf change %d has events", pj.ErrCorrupt, r.LSN)
		}
		e.Type, e.Data = c.typ.Enum(), c.data
		return e, nil
	}
	e.Data = EncodeEvents(r.Events)
	return e, nil
}

// record is the journal record of entry e.
func record(e *pb.Entry) (pj.Record, error) {
	r := pj.Record{LSN: e.GetIndex()}
	if e.GetType() != pb.EntryNormal {
		return r, nil
	}
	var err error
	r.Events, err = DecodeEvents(e.GetData())
	if err != nil {
		return r, fmt.Errorf("entry %d: %w", e.GetIndex(), err)
	}
	return r, nil
}

// Append makes entries durable (Ready.Entries, before the Ready's messages
// are sent): entries that replace a tail cut it first. Entries the
// snapshot covers are ignored.
func (l *Log) Append(entries []*pb.Entry) error {
	first, _ := l.mem.FirstIndex()
	for len(entries) > 0 && entries[0].GetIndex() < first {
		entries = entries[1:]
	}
	if len(entries) == 0 {
		return nil
	}
	at := entries[0].GetIndex()
	if last, _ := l.mem.LastIndex(); at > last+1 {
		return fmt.Errorf("raftlog: append at %d after %d", at, last)
	}
	records := make([]pj.Record, len(entries))
	for i, e := range entries {
		var err error
		if records[i], err = record(e); err != nil {
			return err
		}
	}
	if at <= l.files.LastLSN() {
		if err := l.files.TruncateAfter(at - 1); err != nil {
			return err
		}
	}
	if l.describe(entries) {
		if err := l.saveMeta(); err != nil {
			return err
		}
	}
	if err := l.files.Write(records); err != nil {
		return err
	}
	if err := l.files.Sync(); err != nil {
		return err
	}
	return l.mem.Append(entries)
}

// describe updates the metadata for entries, which replace everything
// from their first index on, and reports whether it changed.
func (l *Log) describe(entries []*pb.Entry) bool {
	at := entries[0].GetIndex()
	changed := l.meta.trimAfter(at - 1)
	prev := l.meta.termAt(at - 1)
	if t, err := l.mem.Term(at - 1); err == nil {
		prev = t
	}
	for _, e := range entries {
		if e.GetTerm() != prev {
			l.meta.runs = append(l.meta.runs, run{e.GetIndex(), e.GetTerm()})
			prev, changed = e.GetTerm(), true
		}
		if e.GetType() != pb.EntryNormal {
			l.meta.confs = append(l.meta.confs, conf{e.GetIndex(), e.GetType(), e.GetData()})
			changed = true
		}
	}
	return changed
}

// saveMeta saves the metadata with the newest HardState.
func (l *Log) saveMeta() error {
	hs, _, _ := l.mem.InitialState()
	l.meta.hard = proto.Clone(hs).(*pb.HardState)
	if err := l.meta.save(l.dir); err != nil {
		return err
	}
	l.saved = l.meta.hard
	return nil
}

// SetHardState records Ready.HardState (after Append of the same Ready).
// A new term or vote is made durable at once, as Raft requires; a commit
// alone is kept in memory and saved with the next metadata write (a node
// restarted with an older commit learns the rest from its leader, and
// nothing it applies depends on the saved commit).
func (l *Log) SetHardState(st *pb.HardState) error {
	if err := l.mem.SetHardState(st); err != nil {
		return err
	}
	if st.GetTerm() == l.saved.GetTerm() && st.GetVote() == l.saved.GetVote() {
		return nil
	}
	return l.saveMeta()
}

// SaveCommit makes the commit of the last HardState durable now.
func (l *Log) SaveCommit() error {
	hs, _, _ := l.mem.InitialState()
	if hs.GetCommit() == l.saved.GetCommit() {
		return nil
	}
	return l.saveMeta()
}

// ApplySnapshot installs a snapshot received from the leader
// (Ready.Snapshot, newer than anything this log holds): its data is saved,
// then the metadata with a reset mark, then the journal is emptied to
// continue after the snapshot.
func (l *Log) ApplySnapshot(snap *pb.Snapshot) error {
	md := snap.GetMetadata()
	if md.GetIndex() <= l.meta.snap.GetIndex() {
		return raft.ErrSnapOutOfDate
	}
	if err := pj.WriteFileAtomic(filepath.Join(l.dir, snapName(md.GetIndex())), snap.GetData()); err != nil {
		return err
	}
	old := l.meta.snap.GetIndex()
	l.meta.snap = proto.Clone(md).(*pb.SnapshotMetadata)
	l.meta.runs, l.meta.confs, l.meta.reset = nil, nil, true
	if err := l.saveMeta(); err != nil {
		return err
	}
	if err := l.files.ResetAfter(md.GetIndex()); err != nil {
		return err
	}
	l.meta.reset = false
	if err := l.saveMeta(); err != nil {
		return err
	}
	l.removeSnap(old)
	return l.mem.ApplySnapshot(snap)
}

// CreateSnapshot records a snapshot of the applied state at index (data:
// the state, cs: the configuration at index). The entries it covers stay
// until Compact.
func (l *Log) CreateSnapshot(index uint64, cs *pb.ConfState, data []byte) (*pb.Snapshot, error) {
	snap, err := l.mem.CreateSnapshot(index, cs, data)
	if err != nil {
		return nil, err
	}
	if err := pj.WriteFileAtomic(filepath.Join(l.dir, snapName(index)), data); err != nil {
		return nil, err
	}
	old := l.meta.snap.GetIndex()
	l.meta.snap = proto.Clone(snap.GetMetadata()).(*pb.SnapshotMetadata)
	l.meta.trimTo(index)
	if err := l.saveMeta(); err != nil {
		return nil, err
	}
	l.removeSnap(old)
	return snap, nil
}

// removeSnap removes the data of a snapshot no longer the newest (a
// failure leaves a file that the next one may remove).
func (l *Log) removeSnap(index uint64) {
	if index > 0 {
		os.Remove(filepath.Join(l.dir, snapName(index)))
	}
}

// Compact drops the entries up to index, which the snapshot must cover,
// from memory and removes the journal segments holding only them.
func (l *Log) Compact(index uint64) error {
	if index > l.meta.snap.GetIndex() {
		return fmt.Errorf("raftlog: compact to %d past the snapshot at %d", index, l.meta.snap.GetIndex())
	}
	if err := l.mem.Compact(index); err != nil && !errors.Is(err, raft.ErrCompacted) {
		return err
	}
	_, err := pj.RemoveCovered(l.dir, index)
	return err
}

// Close closes the journal.
func (l *Log) Close() error { return l.files.Close() }

// InitialState implements raft.Storage.
func (l *Log) InitialState() (*pb.HardState, *pb.ConfState, error) { return l.mem.InitialState() }

// Entries implements raft.Storage.
func (l *Log) Entries(lo, hi, maxSize uint64) ([]*pb.Entry, error) {
	return l.mem.Entries(lo, hi, maxSize)
}

// Term implements raft.Storage.
func (l *Log) Term(i uint64) (uint64, error) { return l.mem.Term(i) }

// LastIndex implements raft.Storage.
func (l *Log) LastIndex() (uint64, error) { return l.mem.LastIndex() }

// FirstIndex implements raft.Storage.
func (l *Log) FirstIndex() (uint64, error) { return l.mem.FirstIndex() }

// Snapshot implements raft.Storage.
func (l *Log) Snapshot() (*pb.Snapshot, error) { return l.mem.Snapshot() }

// Record is the journal record of a committed entry, as State.Apply
// takes it: a command's events, or none (a conf change, a new leader's
// empty entry).
func Record(e *pb.Entry) (pj.Record, error) { return record(e) }

// Events is a shorthand for the events of a normal entry.
func Events(e *pb.Entry) ([]messages.Event, error) { return DecodeEvents(e.GetData()) }
