package clustersim

import (
	"container/heap"
	"math/rand/v2"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// envelope is a message in flight, delivered at tick at (send order
// breaks ties), or a snapshot's report to its sender (report set).
type envelope struct {
	at, seq uint64
	msg     *pb.Message
	report  *snapReport
}

// snapReport tells a leader whether a snapshot reached its follower, as
// a transport does (RawNode.ReportSnapshot).
type snapReport struct {
	from, to uint64
	failed   bool
}

type queue []envelope

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, k int) bool {
	if q[i].at != q[k].at {
		return q[i].at < q[k].at
	}
	return q[i].seq < q[k].seq
}
func (q queue) Swap(i, k int) { q[i], q[k] = q[k], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(envelope)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// network is the simulated network: every message is delayed by 1 to
// maxDelay ticks (so messages overtake each other), lost with loss
// percent, sent twice with dup percent, and dropped on a cut link (cut
// one way: an asymmetric partition).
type network struct {
	rng       *rand.Rand
	q         queue
	seq       uint64
	cut       map[[2]uint64]bool
	loss, dup int
	maxDelay  int
}

func newNetwork(rng *rand.Rand) *network {
	return &network{rng: rng, cut: map[[2]uint64]bool{}, maxDelay: 3}
}

func (n *network) push(at uint64, e envelope) {
	n.seq++
	e.at, e.seq = at, n.seq
	heap.Push(&n.q, e)
}

// send queues m at tick now; it reports false when the message is lost
// at once.
func (n *network) send(now uint64, m *pb.Message) bool {
	if n.rng.IntN(100) < n.loss {
		return false
	}
	copies := 1
	if n.rng.IntN(100) < n.dup {
		copies = 2
	}
	for range copies {
		n.push(now+1+uint64(n.rng.IntN(n.maxDelay)), envelope{msg: proto.Clone(m).(*pb.Message)})
	}
	return true
}

// due pops the next envelope due by now.
func (n *network) due(now uint64) (envelope, bool) {
	if len(n.q) == 0 || n.q[0].at > now {
		return envelope{}, false
	}
	return heap.Pop(&n.q).(envelope), true
}

func (n *network) linked(from, to uint64) bool { return !n.cut[[2]uint64{from, to}] }

func (n *network) heal() { clear(n.cut) }
