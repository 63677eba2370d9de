package clustersim

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/raftlog"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// Options are one run's parameters; the seed decides everything else.
type Options struct {
	Seed   uint64
	Nodes  int // voters: 3 or 5
	Epochs int
	Ticks  int // per epoch
	// SnapshotEvery is how many applied entries a member snapshots after
	// (default 150).
	SnapshotEvery int
	// Dir holds the members' directories (one per member).
	Dir string
	// Trace, if set, receives a line per fault and role change.
	Trace func(string)
}

// Stats counts what a run did.
type Stats struct {
	Ticks, Committed, Acked, Unknown, NoEvents int
	Leaders, Crashes, Torn, TornCut, Restarts  int
	Partitions                                 int
	Snapshots, SnapshotsInstalled              int
	ConfChanges, Joined, Removed               int
}

func (s Stats) String() string {
	return fmt.Sprintf("%d ticks, %d entries committed, %d writes acknowledged, %d unknown, %d refused or read; "+
		"%d leaders, %d crashes (%d torn, %d torn tails cut at restart), %d restarts, %d partitions, %d snapshots (%d installed); %d conf changes (%d members joined, %d removed)",
		s.Ticks, s.Committed, s.Acked, s.Unknown, s.NoEvents, s.Leaders, s.Crashes, s.Torn, s.TornCut, s.Restarts,
		s.Partitions, s.Snapshots, s.SnapshotsInstalled, s.ConfChanges, s.Joined, s.Removed)
}

// Sim is one seeded run.
type Sim struct {
	o       Options
	rng     *rand.Rand // faults, network, timers
	cfg     *config.Config
	gen     *coretest.Gen
	ref     *coretest.Ref
	net     *network
	members []*member
	now     uint64
	stats   Stats
	check   checker
	quiesce bool // no more proposals: the run is settling
}

// Run runs a simulation and returns its counts, or the first violated
// property (with the seed in the error).
func Run(o Options) (Stats, error) {
	s, err := newSim(o)
	if err == nil {
		err = s.run()
	}
	if err != nil {
		return s.stats, fmt.Errorf("seed %d, %d nodes, tick %d: %w", o.Seed, o.Nodes, s.now, err)
	}
	return s.stats, nil
}

func newSim(o Options) (*Sim, error) {
	if o.SnapshotEvery <= 0 {
		o.SnapshotEvery = 150
	}
	s := &Sim{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e995)), cfg: coretest.DefaultConfig()}
	s.net = newNetwork(s.rng)
	s.ref = coretest.NewRef(s.cfg)
	s.gen = coretest.NewGen(s.cfg, coretest.NewRandSource(o.Seed), s.ref, 6)
	s.check = newChecker()
	for i := range o.Nodes {
		m := &member{id: uint64(i + 1), dir: filepath.Join(o.Dir, fmt.Sprintf("node%d", i+1))}
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return s, err
		}
		if err := s.start(m); err != nil {
			return s, err
		}
		s.members = append(s.members, m)
	}
	return s, nil
}

func (s *Sim) run() error {
	for range s.o.Epochs {
		for range s.o.Ticks {
			if err := s.faults(); err != nil {
				return err
			}
			if err := s.tick(); err != nil {
				return err
			}
		}
		if err := s.epoch(); err != nil {
			return err
		}
	}
	return s.settleAll()
}

// tick advances the clock one tick: timers, deliveries, the leader's
// proposals, every member's Ready.
func (s *Sim) tick() error {
	s.now++
	s.stats.Ticks++
	for _, m := range s.members {
		if m.up {
			s.clock(m)
		}
	}
	s.deliver()
	if l := s.leader(); l != nil && !s.quiesce {
		if err := s.propose(l); err != nil {
			return err
		}
	}
	for _, m := range s.members {
		if m.up {
			if err := s.ready(m); err != nil {
				return err
			}
		}
	}
	return s.checkLeaders()
}

// electionTimeout draws a follower's election timeout, in
// [electionTicks, 2·electionTicks) as Raft draws it.
func (s *Sim) electionTimeout() int { return electionTicks + s.rng.IntN(electionTicks) }

// clock ticks a member. Raft draws its randomized election timeout from
// crypto/rand, which no seed replays, so only a leader gets Tick (its
// heartbeats and CheckQuorum use no chance); the others get TickQuiesced,
// which ages their election and lease timers without firing them, and
// campaign (PreVote first) when the simulation's seeded timer runs out.
func (s *Sim) clock(m *member) {
	if m.tear {
		if m.tearFor--; m.tearFor <= 0 {
			s.crash(m) // no append came: an ordinary crash
			return
		}
	}
	if m.rn.BasicStatus().RaftState == raft.StateLeader {
		m.rn.Tick()
		return
	}
	m.rn.TickQuiesced()
	if m.quiet++; m.quiet >= m.timeout {
		m.quiet, m.timeout = 0, s.electionTimeout()
		m.rn.Campaign()
	}
}

func (s *Sim) member(id uint64) *member {
	if id == 0 || int(id) > len(s.members) {
		return nil
	}
	return s.members[id-1]
}

func (s *Sim) send(from *member, msg *pb.Message) {
	to := msg.GetTo()
	if s.net.send(s.now, msg) || msg.GetType() != pb.MsgSnap {
		return
	}
	s.net.push(s.now+1, envelope{report: &snapReport{from: from.id, to: to, failed: true}})
}

// deliver steps every message due into its member, unless the member is
// down or the link is cut; a snapshot's fate is reported to its sender.
func (s *Sim) deliver() {
	for {
		e, ok := s.net.due(s.now)
		if !ok {
			return
		}
		if r := e.report; r != nil {
			if m := s.member(r.from); m != nil && m.up {
				status := raft.SnapshotFinish
				if r.failed {
					status = raft.SnapshotFailure
				}
				m.rn.ReportSnapshot(r.to, status)
			}
			continue
		}
		msg := e.msg
		to := s.member(msg.GetTo())
		ok = to != nil && to.up && s.net.linked(msg.GetFrom(), msg.GetTo())
		if msg.GetType() == pb.MsgSnap {
			s.net.push(s.now+1, envelope{report: &snapReport{from: msg.GetFrom(), to: msg.GetTo(), failed: !ok}})
		}
		if !ok {
			continue
		}
		_ = to.rn.Step(msg) // a message Raft refuses (from a removed or unknown peer) is dropped, as a transport would
		switch msg.GetType() {
		case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
			if to.rn.BasicStatus().Lead == msg.GetFrom() {
				to.quiet = 0
			}
		}
	}
}

// leader returns the up member that believes it leads with the highest
// term, if any.
func (s *Sim) leader() *member {
	var l *member
	var term uint64
	for _, m := range s.members {
		if !m.up {
			continue
		}
		if st := m.rn.BasicStatus(); st.RaftState == raft.StateLeader && st.GetTerm() > term {
			l, term = m, st.GetTerm()
		}
	}
	return l
}

// propose has the leader decide a few commands of the workload and
// propose their events. A leader first applies its whole log, its own
// term's empty entry included, then builds its engine from its committed
// state (as a new leader spawns its actors); an engine of an older term,
// or one whose proposal Raft dropped, is discarded.
func (s *Sim) propose(l *member) error {
	term := l.rn.BasicStatus().GetTerm()
	if l.eng != nil && l.engTerm != term {
		s.unknown(l)
	}
	if l.eng == nil {
		last, _ := l.log.LastIndex()
		lt, _ := l.log.Term(last)
		if l.state.LastLSN != last || lt != term {
			return nil
		}
		eng, err := s.engine(l)
		if err != nil {
			return err
		}
		l.eng, l.engTerm, l.next = eng, term, last+1
	}
	if s.rng.IntN(40) == 0 {
		if err := s.membership(l); err != nil {
			return err
		}
	}
	for range 1 + s.rng.IntN(4) {
		var events []messages.Event
		l.eng.OnAppend = func(evs []messages.Event) { events = append(events, evs...) }
		c := s.gen.Next()
		s.ref.Do(c) // keeps the generator's picture of open orders plausible
		l.eng.Do(c)
		if len(events) == 0 {
			s.stats.NoEvents++
			continue
		}
		data := raftlog.EncodeEvents(events)
		if err := l.rn.Propose(data); err != nil {
			s.unknown(l)
			return nil
		}
		l.pending = append(l.pending, proposal{index: l.next, term: term, sum: sum(term, pb.EntryNormal, data)})
		l.next++
	}
	return nil
}

// engine builds a leader's engine from a copy of its committed state,
// through the snapshot encoding.
func (s *Sim) engine(l *member) (*coretest.Engine, error) {
	f, err := snapshot.Decode(l.state.File().Encode())
	if err != nil {
		return nil, err
	}
	st, err := runtime.StateFromFile(s.cfg, f)
	if err != nil {
		return nil, err
	}
	net := make([]*big.Int, len(st.Deposits))
	for a := range net {
		net[a] = new(big.Int).Sub(st.Deposits[a].ToBig(), st.Withdrawals[a].ToBig())
	}
	return coretest.EngineFrom(st.Config(), st.Books, st.Ledgers, net), nil
}

// unknown ends a leader's engine: its proposals not yet applied may or
// may not be committed later; none of them is acknowledged.
func (s *Sim) unknown(m *member) {
	s.stats.Unknown += len(m.pending)
	m.eng, m.pending = nil, nil
}

// settle acknowledges the leader's proposal at e's index if e is it, and
// gives up on its proposals if another entry took that index.
func (s *Sim) settle(m *member, e *pb.Entry) {
	if m.eng == nil || len(m.pending) == 0 || m.pending[0].index != e.GetIndex() {
		return
	}
	if p := m.pending[0]; p.sum == sum(e.GetTerm(), e.GetType(), e.GetData()) && p.term == e.GetTerm() {
		m.pending = m.pending[1:]
		s.check.acked = append(s.check.acked, p)
		s.stats.Acked++
		return
	}
	s.unknown(m)
}
