package clustersim

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Membership bounds: voters stay between 3 and 5, learners at most 2.
const (
	minVoters   = 3
	maxVoters   = 5
	maxLearners = 2
)

// membership has the leader propose one conf change (ConfChangeV2) while
// the workload runs, when its previous one is applied: add a new member as
// a learner (it starts empty and waits, as a node started with -join),
// promote a learner that caught up, or remove a member (the leader itself
// too: it steps down). Member ids are never reused.
func (s *Sim) membership(l *member) error {
	if l.state.LastLSN < l.confAt {
		return nil
	}
	cs := l.cs
	st := l.rn.Status()
	last, _ := l.log.LastIndex()
	var change *pb.ConfChangeSingle
	switch k := s.rng.IntN(3); {
	case k == 0 && len(cs.GetLearners()) < maxLearners && len(cs.GetVoters())+len(cs.GetLearners()) < maxVoters+maxLearners:
		m, err := s.newMember()
		if err != nil {
			return err
		}
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeAddLearnerNode.Enum(), NodeId: proto.Uint64(m.id)}
	case k == 1 && len(cs.GetLearners()) > 0 && len(cs.GetVoters()) < maxVoters:
		id := cs.GetLearners()[s.rng.IntN(len(cs.GetLearners()))]
		if pr, ok := st.Progress[id]; !ok || pr.Match+10 < last {
			return nil // not caught up
		}
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeAddNode.Enum(), NodeId: proto.Uint64(id)}
	case k == 2 && len(cs.GetVoters()) > minVoters:
		all := append(slices.Clone(cs.GetVoters()), cs.GetLearners()...)
		id := all[s.rng.IntN(len(all))]
		change = &pb.ConfChangeSingle{Type: pb.ConfChangeRemoveNode.Enum(), NodeId: proto.Uint64(id)}
	default:
		return nil
	}
	cc := &pb.ConfChangeV2{Changes: []*pb.ConfChangeSingle{change}}
	if err := l.rn.ProposeConfChange(cc); err != nil {
		s.unknown(l)
		return nil
	}
	l.confAt, l.next = l.next, l.next+1
	s.trace("leader %d proposes %s of %d at %d", l.id, change.GetType(), change.GetNodeId(), l.confAt)
	return nil
}

// newMember makes a member that is not in the cluster yet: an empty
// directory, started without bootstrapping.
func (s *Sim) newMember() (*member, error) {
	m := &member{id: uint64(len(s.members) + 1), joiner: true}
	m.dir = filepath.Join(s.o.Dir, fmt.Sprintf("node%d", m.id))
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, err
	}
	if err := s.start(m); err != nil {
		return nil, err
	}
	s.members = append(s.members, m)
	s.stats.Joined++
	return m, nil
}

// removed stops for good the members a committed conf change removes,
// once the first member applies it (the operator's cue). A member
// applying its own removal is stopped after its Ready (ready).
func (s *Sim) removed(by *member, cc *pb.ConfChangeV2) {
	for _, c := range cc.GetChanges() {
		if c.GetType() != pb.ConfChangeRemoveNode {
			continue
		}
		m := s.member(c.GetNodeId())
		if m == nil || m.removed {
			continue
		}
		m.removed = true
		s.stats.Removed++
		s.trace("member %d removed", m.id)
		if m.up && m != by {
			s.crash(m)
			s.stats.Crashes--
		}
	}
}
