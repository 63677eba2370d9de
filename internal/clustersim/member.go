package clustersim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/persistence/raftlog"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Raft timing, in ticks.
const (
	electionTicks  = 10
	heartbeatTicks = 1
)

// member is one node: its Raft log in its own directory, the RawNode over
// it and the committed state; while it leads, the engine that decides
// commands (the actors' speculative state) and its proposals not yet
// applied.
type member struct {
	id    uint64
	dir   string
	up    bool
	log   *raftlog.Log
	rn    *raft.RawNode
	state *runtime.State
	cs    *pb.ConfState

	quiet, timeout int       // ticks without a leader's message; campaign at timeout
	tear           bool      // crash at the next append, tearing its tail
	tearFor        int       // ticks left to wait for that append
	restartIn      int       // > 0: restart after so many ticks
	vote           [2]uint64 // the last vote seen: term, candidate
	joiner         bool      // added by a conf change: starts empty, never bootstraps
	snapNow        bool      // a conf change was applied: snapshot after it
	removed        bool      // removed by a conf change and stopped for good
	snapAt         uint64

	eng     *coretest.Engine
	engTerm uint64
	next    uint64 // the index the next proposal gets
	confAt  uint64 // the index of its last conf change proposal
	pending []proposal
}

// proposal is an entry the leader proposed: acknowledged when it applies
// it at index with term, unknown if anything else is applied there.
type proposal struct {
	index, term uint64
	sum         uint64
}

// start opens the member's log and rebuilds its state: the snapshot, if
// any; Raft then hands the committed entries after it to apply again. A
// member with an empty log bootstraps with the initial voters.
func (s *Sim) start(m *member) error {
	log, rec, err := raftlog.Open(m.dir, 4<<10)
	if err != nil {
		return fmt.Errorf("member %d: open: %w", m.id, err)
	}
	if rec.Journal.TornBytes > 0 {
		s.stats.TornCut++
	}
	m.log = log
	snap, _ := log.Snapshot()
	m.state, m.cs, m.snapAt = runtime.NewState(s.cfg), &pb.ConfState{}, 0
	if idx := snap.GetMetadata().GetIndex(); idx > 0 {
		if err := s.restore(m, snap); err != nil {
			return err
		}
	}
	m.rn, err = raft.NewRawNode(&raft.Config{
		ID: m.id, ElectionTick: electionTicks, HeartbeatTick: heartbeatTicks,
		Storage: log, Applied: m.state.LastLSN,
		MaxSizePerMsg: 16 << 10, MaxInflightMsgs: 32, MaxUncommittedEntriesSize: 1 << 20,
		CheckQuorum: true, PreVote: true, StepDownOnRemoval: true, Logger: quiet{},
	})
	if err != nil {
		return fmt.Errorf("member %d: %w", m.id, err)
	}
	if last, _ := log.LastIndex(); last == 0 && !m.joiner {
		var peers []raft.Peer
		for i := range s.o.Nodes {
			peers = append(peers, raft.Peer{ID: uint64(i + 1)})
		}
		if err := m.rn.Bootstrap(peers); err != nil {
			return fmt.Errorf("member %d: bootstrap: %w", m.id, err)
		}
	}
	m.up, m.quiet, m.timeout = true, 0, s.electionTimeout()
	m.tear, m.eng, m.pending, m.confAt = false, nil, nil, 0
	return nil
}

// restore makes the member's state the snapshot's (a Bourse snapshot) and
// checks it against the hash any member had at that index.
func (s *Sim) restore(m *member, snap *pb.Snapshot) error {
	f, err := snapshot.Decode(snap.GetData())
	if err != nil {
		return fmt.Errorf("member %d: snapshot: %w", m.id, err)
	}
	st, err := runtime.StateFromFile(s.cfg, f)
	if err != nil {
		return fmt.Errorf("member %d: snapshot: %w", m.id, err)
	}
	if st.LastLSN != snap.GetMetadata().GetIndex() {
		return fmt.Errorf("member %d: snapshot at index %d holds LSN %d", m.id, snap.GetMetadata().GetIndex(), st.LastLSN)
	}
	m.state, m.snapAt = st, st.LastLSN
	m.cs = proto.Clone(snap.GetMetadata().GetConfState()).(*pb.ConfState)
	return s.checkHash(m)
}

// crash stops the member as a crash does: what it had not persisted is
// lost, its proposals' outcome is unknown.
func (s *Sim) crash(m *member) {
	m.log.Close()
	s.unknown(m)
	m.up, m.rn, m.log, m.state = false, nil, nil, nil
	s.stats.Crashes++
}

// ready handles the member's Ready as a node does: persist (snapshot,
// entries, HardState), send, apply, advance.
func (s *Sim) ready(m *member) error {
	for m.up && m.rn.HasReady() {
		rd := m.rn.Ready()
		if err := s.persist(m, &rd); err != nil || !m.up {
			return err
		}
		for _, msg := range rd.Messages {
			s.send(m, msg)
		}
		if s.votedNow(m, rd.HardState) && !s.quiesce && s.rng.IntN(100) < 25 {
			hs := rd.HardState
			// A crash right after a vote, and a quick restart: a vote
			// the log forgot would let the member vote twice in a term.
			s.crash(m)
			m.restartIn = 1 + s.rng.IntN(4)
			s.trace("member %d crashes after voting for %d in term %d", m.id, hs.GetVote(), hs.GetTerm())
			return nil
		}
		if err := s.apply(m, rd.CommittedEntries); err != nil {
			return err
		}
		m.rn.Advance(rd)
		if m.removed {
			s.crash(m) // it applied its own removal
			s.stats.Crashes--
		}
	}
	return nil
}

func (s *Sim) persist(m *member, rd *raft.Ready) error {
	if snap := rd.Snapshot; !raft.IsEmptySnap(snap) {
		if err := m.log.ApplySnapshot(snap); err != nil {
			return fmt.Errorf("member %d: apply snapshot: %w", m.id, err)
		}
		if err := s.restore(m, snap); err != nil {
			return err
		}
		s.stats.SnapshotsInstalled++
	}
	if len(rd.Entries) > 0 {
		if m.tear {
			return s.tornAppend(m, rd.Entries)
		}
		if err := m.log.Append(rd.Entries); err != nil {
			return fmt.Errorf("member %d: append: %w", m.id, err)
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := m.log.SetHardState(rd.HardState); err != nil {
			return fmt.Errorf("member %d: hard state: %w", m.id, err)
		}
	}
	return nil
}

// tornAppend is a crash in the middle of an append: the entries are
// written, then the file is cut at a random point inside what this append
// wrote (never before: that was fsynced), and the member is down. An
// append that replaces a tail is crashed after, untorn.
func (s *Sim) tornAppend(m *member, entries []*pb.Entry) error {
	last, _ := m.log.LastIndex()
	seg, size := lastSegment(m.dir)
	if err := m.log.Append(entries); err != nil {
		return fmt.Errorf("member %d: append: %w", m.id, err)
	}
	s.crash(m)
	if entries[0].GetIndex() != last+1 {
		return nil
	}
	seg2, size2 := lastSegment(m.dir)
	if seg2 != seg {
		size = 0
	}
	if size2 <= size {
		return nil
	}
	s.stats.Torn++
	return os.Truncate(seg2, size+s.rng.Int64N(size2-size))
}

func lastSegment(dir string) (string, int64) {
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) == 0 {
		return "", 0
	}
	slices.Sort(segs)
	fi, err := os.Stat(segs[len(segs)-1])
	if err != nil {
		return "", 0
	}
	return segs[len(segs)-1], fi.Size()
}

// votedNow reports whether hs is a vote for another member that the
// member had not cast before.
func (s *Sim) votedNow(m *member, hs *pb.HardState) bool {
	if hs == nil || hs.GetVote() == 0 || hs.GetVote() == m.id {
		return false
	}
	v := [2]uint64{hs.GetTerm(), hs.GetVote()}
	if v == m.vote {
		return false
	}
	m.vote = v
	return true
}

// apply applies committed entries to the member's state in order, as
// journal records, and conf changes to Raft.
func (s *Sim) apply(m *member, entries []*pb.Entry) error {
	for _, e := range entries {
		if e.GetIndex() <= m.state.LastLSN {
			continue // the snapshot restored covers it
		}
		rec, err := raftlog.Record(e)
		if err != nil {
			return fmt.Errorf("member %d: %w", m.id, err)
		}
		if err := m.state.Apply(rec); err != nil {
			return fmt.Errorf("member %d: apply %d: %w", m.id, e.GetIndex(), err)
		}
		if err := s.confChange(m, e); err != nil {
			return err
		}
		if err := s.observe(m, e, rec.Events); err != nil {
			return err
		}
		s.settle(m, e)
	}
	return s.maybeSnapshot(m)
}

func (s *Sim) confChange(m *member, e *pb.Entry) error {
	var cc pb.ConfChangeI
	switch e.GetType() {
	case pb.EntryConfChange:
		c := &pb.ConfChange{}
		if err := proto.Unmarshal(e.GetData(), c); err != nil {
			return err
		}
		cc = c
	case pb.EntryConfChangeV2:
		c := &pb.ConfChangeV2{}
		if err := proto.Unmarshal(e.GetData(), c); err != nil {
			return err
		}
		cc = c
		defer s.removed(m, c)
	default:
		return nil
	}
	m.cs = m.rn.ApplyConfChange(cc)
	// A member that joins and is sent a snapshot takes it only if the
	// snapshot's configuration names it: snapshot at the change.
	m.snapNow = true
	return m.log.SaveCommit()
}

// maybeSnapshot takes a snapshot of the member's state every so many
// entries and compacts the log behind it, keeping a short tail (members
// further behind catch up from the snapshot).
func (s *Sim) maybeSnapshot(m *member) error {
	at := m.state.LastLSN
	if at < m.snapAt+uint64(s.o.SnapshotEvery) && !m.snapNow {
		return nil
	}
	m.snapNow = false
	if _, err := m.log.CreateSnapshot(at, m.cs, m.state.File().Encode()); err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return nil
		}
		return fmt.Errorf("member %d: snapshot: %w", m.id, err)
	}
	m.snapAt = at
	s.stats.Snapshots++
	if first, _ := m.log.FirstIndex(); at > first+20 {
		if err := m.log.Compact(at - 20); err != nil {
			return fmt.Errorf("member %d: compact: %w", m.id, err)
		}
	}
	return nil
}

// quiet is Raft's logger in the simulation: silent, but a fatal error
// panics instead of ending the process.
type quiet struct{}

func (quiet) Debug(...any)                   {}
func (quiet) Debugf(string, ...any)          {}
func (quiet) Error(...any)                   {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Info(...any)                    {}
func (quiet) Infof(string, ...any)           {}
func (quiet) Warning(...any)                 {}
func (quiet) Warningf(string, ...any)        {}
func (quiet) Fatal(v ...any)                 { panic(fmt.Sprint(v...)) }
func (quiet) Fatalf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (quiet) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (quiet) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
