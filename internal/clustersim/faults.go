package clustersim

import (
	"fmt"
	"slices"
	"strings"
)

// faults draws this tick's faults: network conditions, partitions
// (symmetric splits, an isolated leader, one-way cuts), heals, crashes
// (half of them in the middle of an append) and restarts.
func (s *Sim) faults() error {
	switch r := s.rng.IntN(1000); {
	case r < 8:
		s.net.loss, s.net.dup, s.net.maxDelay = s.rng.IntN(25), s.rng.IntN(10), 1+s.rng.IntN(8)
		s.trace("network: loss %d%%, duplicates %d%%, delay up to %d", s.net.loss, s.net.dup, s.net.maxDelay)
	case r < 14:
		s.partition()
	case r < 22:
		s.net.heal()
		s.trace("network healed")
	case r < 26:
		s.crashOne()
	}
	for _, m := range s.members {
		quick := m.restartIn > 0
		if quick {
			m.restartIn--
		}
		if !m.up && !m.removed && (quick && m.restartIn == 0 || !quick && s.rng.IntN(100) < 3) {
			if err := s.start(m); err != nil {
				return err
			}
			s.stats.Restarts++
			s.trace("member %d restarts", m.id)
		}
	}
	return nil
}

func (s *Sim) partition() {
	s.stats.Partitions++
	ids := make([]uint64, len(s.members))
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	var lead uint64
	if l := s.leader(); l != nil {
		lead = l.id
	}
	switch k := s.rng.IntN(3); {
	case k == 0 || lead == 0: // a random split, both ways
		side := map[uint64]bool{}
		for _, id := range ids {
			side[id] = s.rng.IntN(2) == 0
		}
		for _, a := range ids {
			for _, b := range ids {
				if side[a] != side[b] {
					s.net.cut[[2]uint64{a, b}] = true
				}
			}
		}
		s.trace("partition: %v", side)
	case k == 1: // the leader isolated, both ways
		for _, id := range ids {
			s.net.cut[[2]uint64{lead, id}], s.net.cut[[2]uint64{id, lead}] = true, true
		}
		s.trace("partition: leader %d isolated", lead)
	default: // one way: the leader hears the others, they do not hear it (or the reverse)
		out := s.rng.IntN(2) == 0
		for _, id := range ids {
			if out {
				s.net.cut[[2]uint64{lead, id}] = true
			} else {
				s.net.cut[[2]uint64{id, lead}] = true
			}
		}
		s.trace("partition: one way from leader %d: %v", lead, out)
	}
}

func (s *Sim) crashOne() {
	var up []*member
	for _, m := range s.members {
		if m.up && !m.tear {
			up = append(up, m)
		}
	}
	if len(up) == 0 {
		return
	}
	m := up[s.rng.IntN(len(up))]
	if s.rng.IntN(2) == 0 {
		m.tear, m.tearFor = true, 30
		s.trace("member %d will crash in its next append", m.id)
		return
	}
	s.crash(m)
	s.trace("member %d crashes", m.id)
}

// settleAll ends a run: faults stop, the network heals, every member
// restarts, and the cluster must converge — one leader, every member of
// its configuration applied the same last index with the same state hash.
func (s *Sim) settleAll() error {
	s.net.heal()
	s.net.loss, s.net.dup, s.net.maxDelay = 0, 0, 2
	for _, m := range s.members {
		m.tear = false
		if !m.up && !m.removed {
			if err := s.start(m); err != nil {
				return err
			}
		}
	}
	s.quiesce = true
	for range 1000 {
		if err := s.tick(); err != nil {
			return err
		}
		if s.converged() {
			return s.epoch()
		}
	}
	var at []uint64
	for _, m := range s.members {
		if m.up {
			at = append(at, m.state.LastLSN)
		}
	}
	var detail []string
	if l := s.leader(); l != nil {
		st := l.rn.Status()
		for _, id := range append(slices.Clone(l.cs.GetVoters()), l.cs.GetLearners()...) {
			pr := st.Progress[id]
			detail = append(detail, fmt.Sprintf("%d: %s", id, pr.String()))
		}
		detail = append(detail, fmt.Sprintf("leader %d %v", l.id, l.cs))
	}
	return fmt.Errorf("no convergence after faults stopped: applied %v; %s", slices.Clip(at), strings.Join(detail, "; "))
}

func (s *Sim) converged() bool {
	l := s.leader()
	if l == nil {
		return false
	}
	last, _ := l.log.LastIndex()
	// Every member of the leader's configuration; a member started to join
	// whose addition was lost with its leader is not one, and waits.
	for _, id := range append(slices.Clone(l.cs.GetVoters()), l.cs.GetLearners()...) {
		if m := s.member(id); m == nil || !m.up || m.state.LastLSN != last {
			return false
		}
	}
	return true
}
