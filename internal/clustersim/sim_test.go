package clustersim

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	pb "go.etcd.io/raft/v3/raftpb"
)

// TestSimulate runs seeds on three and five members. BOURSE_CLUSTER_SEEDS
// sets how many per size (default 2, 1 with -short; make simulate-cluster
// runs 1,000), BOURSE_CLUSTER_SEED=N reruns one seed with its trace, and
// BOURSE_CLUSTER_EPOCHS the epochs of 200 ticks (default 10).
func TestSimulate(t *testing.T) {
	seeds, epochs := envInt(t, "BOURSE_CLUSTER_SEEDS", 2), envInt(t, "BOURSE_CLUSTER_EPOCHS", 10)
	if testing.Short() && os.Getenv("BOURSE_CLUSTER_SEEDS") == "" {
		seeds = 1
	}
	first := uint64(1)
	if one := os.Getenv("BOURSE_CLUSTER_SEED"); one != "" {
		n, err := strconv.ParseUint(one, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		first, seeds = n, 1
	}
	var total Stats
	for _, nodes := range []int{3, 5} {
		for seed := first; seed < first+uint64(seeds); seed++ {
			o := Options{Seed: seed, Nodes: nodes, Epochs: epochs, Ticks: 200, Dir: tempDir(t)}
			if os.Getenv("BOURSE_CLUSTER_SEED") != "" {
				o.Trace = func(line string) { t.Log(line) }
			}
			st, err := Run(o)
			if err != nil {
				t.Fatalf("%v\n(%s)\nreplay: BOURSE_CLUSTER_SEED=%d go test ./internal/clustersim -run TestSimulate -v", err, st, seed)
			}
			if st.Acked == 0 || st.Leaders < 2 {
				t.Fatalf("seed %d, %d nodes: the run proved little: %s", seed, nodes, st)
			}
			t.Logf("seed %d, %d nodes: %s", seed, nodes, st)
			add(&total, st)
		}
	}
	t.Logf("total: %s", total)
}

func add(a *Stats, b Stats) {
	a.Ticks += b.Ticks
	a.Committed += b.Committed
	a.Acked += b.Acked
	a.Unknown += b.Unknown
	a.NoEvents += b.NoEvents
	a.Leaders += b.Leaders
	a.Crashes += b.Crashes
	a.Torn += b.Torn
	a.TornCut += b.TornCut
	a.Restarts += b.Restarts
	a.Partitions += b.Partitions
	a.Snapshots += b.Snapshots
	a.SnapshotsInstalled += b.SnapshotsInstalled
	a.ConfChanges += b.ConfChanges
	a.Joined += b.Joined
	a.Removed += b.Removed
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive count", name, v)
	}
	return n
}

// TestReplay: a seed is a replay — two runs of one seed do the same
// thing, so a failing seed can be rerun and traced.
func TestReplay(t *testing.T) {
	run := func() (Stats, []string) {
		var lines []string
		st, err := Run(Options{Seed: 7, Nodes: 3, Epochs: 3, Ticks: 200, Dir: tempDir(t),
			Trace: func(l string) { lines = append(lines, l) }})
		if err != nil {
			t.Fatal(err)
		}
		return st, lines
	}
	a, la := run()
	b, lb := run()
	if a != b || strings.Join(la, "\n") != strings.Join(lb, "\n") {
		t.Fatalf("one seed, two runs:\n%s\n%s", a, b)
	}
	if a.Acked == 0 || len(la) < 5 {
		t.Fatalf("the run did little: %s, %d trace lines", a, len(la))
	}
	t.Logf("%s, %d trace lines", a, len(la))
}

// TestCheckerCatches: the properties fail when broken.
func TestCheckerCatches(t *testing.T) {
	s := &Sim{check: newChecker()}
	m := &member{id: 1}
	e := func(index, term uint64, evs ...messages.Event) *pb.Entry {
		x := &pb.Entry{Type: pb.EntryNormal.Enum()}
		x.Index, x.Term = &index, &term
		x.Data = []byte{byte(index), byte(term), byte(len(evs))}
		return x
	}
	up := &messages.BalanceUpdated{User: 1, Business: "deposit", BusinessID: 5}
	if err := s.observe(m, e(1, 1), []messages.Event{up}); err != nil {
		t.Fatal(err)
	}
	if err := s.observe(m, e(1, 2), nil); err == nil {
		t.Fatal("another entry at a committed index passed")
	}
	if err := s.observe(m, e(2, 1), []messages.Event{up}); err == nil {
		t.Fatal("a balance update committed twice passed")
	}
	placed := &messages.OrderPlaced{Order: messages.Order{ID: 9}}
	if err := s.observe(m, e(3, 1), []messages.Event{placed}); err != nil {
		t.Fatal(err)
	}
	if err := s.observe(m, e(4, 1), []messages.Event{placed}); err == nil {
		t.Fatal("an order id committed twice passed")
	}
}

// tempDir is a directory for the members' logs: in /dev/shm when there is
// one, where fsync costs nothing (the simulation crashes members itself;
// what a real disk does on power loss is not what it tests).
func tempDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "clustersim-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
