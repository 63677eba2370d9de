package clustersim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/bourse-exchange/bourse/messages"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

// checker holds what the properties are checked against, across members
// and crashes: the leader of each term, the committed log (an entry's
// digest by index, from the first member that applied it), the balance
// updates and orders it holds, the state hash seen at each index, and the
// acknowledged writes.
type checker struct {
	leaders map[uint64]uint64 // term → member
	log     map[uint64]uint64 // index → digest
	updates map[updateKey]uint64
	orders  map[uint64]uint64 // order id → index
	hashes  map[uint64]string // index → state hash
	acked   []proposal
	checked int // acked entries checked so far
}

type updateKey struct {
	user     uint32
	asset    messages.AssetID
	business string
	id       uint64
}

func newChecker() checker {
	return checker{leaders: map[uint64]uint64{}, log: map[uint64]uint64{}, updates: map[updateKey]uint64{},
		orders: map[uint64]uint64{}, hashes: map[uint64]string{}}
}

// sum is an entry's digest: term, type and data.
func sum(term uint64, typ pb.EntryType, data []byte) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], term)
	binary.LittleEndian.PutUint64(b[8:], uint64(typ))
	h.Write(b[:])
	h.Write(data)
	return h.Sum64()
}

// checkLeaders: at most one leader per term, ever.
func (s *Sim) checkLeaders() error {
	for _, m := range s.members {
		if !m.up {
			continue
		}
		st := m.rn.BasicStatus()
		if st.RaftState != raft.StateLeader {
			continue
		}
		term := st.GetTerm()
		switch had, ok := s.check.leaders[term]; {
		case !ok:
			s.check.leaders[term] = m.id
			s.stats.Leaders++
			s.trace("member %d leads term %d", m.id, term)
		case had != m.id:
			return fmt.Errorf("two leaders in term %d: members %d and %d", term, had, m.id)
		}
	}
	return nil
}

// observe checks an entry a member applies against the committed log:
// the same entry at the same index on every member; a new one may not
// repeat a balance update or an order id already committed.
func (s *Sim) observe(m *member, e *pb.Entry, events []messages.Event) error {
	c := &s.check
	d := sum(e.GetTerm(), e.GetType(), e.GetData())
	if had, ok := c.log[e.GetIndex()]; ok {
		if had != d {
			return fmt.Errorf("member %d applied another entry at index %d than an earlier member (term %d)", m.id, e.GetIndex(), e.GetTerm())
		}
		return nil
	}
	c.log[e.GetIndex()] = d
	s.stats.Committed++
	if e.GetType() == pb.EntryConfChangeV2 {
		s.stats.ConfChanges++
	}
	for _, ev := range events {
		switch ev := ev.(type) {
		case *messages.BalanceUpdated:
			k := updateKey{ev.User, ev.Asset, ev.Business, ev.BusinessID}
			if at, ok := c.updates[k]; ok {
				return fmt.Errorf("balance update %+v committed twice: at %d and %d", k, at, e.GetIndex())
			}
			c.updates[k] = e.GetIndex()
		case *messages.OrderPlaced:
			if at, ok := c.orders[ev.Order.ID]; ok {
				return fmt.Errorf("order id %d committed twice: at %d and %d", ev.Order.ID, at, e.GetIndex())
			}
			c.orders[ev.Order.ID] = e.GetIndex()
		}
	}
	return nil
}

// checkHash: a member's state hash equals every hash seen at its index.
func (s *Sim) checkHash(m *member) error {
	h, at := m.state.Hash(), m.state.LastLSN
	if had, ok := s.check.hashes[at]; ok && had != h {
		return fmt.Errorf("member %d: state hash %s at index %d, another member had %s", m.id, h, at, had)
	}
	s.check.hashes[at] = h
	return nil
}

// epoch checks every member that is up: its hash against the others' at
// the same index, conservation and frozen = reserved in its state; and
// every write acknowledged since the last epoch against the committed log.
func (s *Sim) epoch() error {
	for _, m := range s.members {
		if !m.up {
			continue
		}
		if err := s.checkHash(m); err != nil {
			return err
		}
		if bad := m.state.Check(); len(bad) > 0 {
			return fmt.Errorf("member %d at index %d: %s", m.id, m.state.LastLSN, strings.Join(bad, "; "))
		}
	}
	c := &s.check
	for _, p := range c.acked[c.checked:] {
		if c.log[p.index] != p.sum {
			return fmt.Errorf("write acknowledged at index %d is not the committed entry there", p.index)
		}
	}
	c.checked = len(c.acked)
	return nil
}

func (s *Sim) trace(format string, args ...any) {
	if s.o.Trace != nil {
		s.o.Trace(fmt.Sprintf("%6d ", s.now) + fmt.Sprintf(format, args...))
	}
}
