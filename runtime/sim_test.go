package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestSimulation is a seeded simulation of the whole actor tree in one
// process. Each seed draws a workload (deposits, withdrawals, limit orders
// with and without put_limit_ex's options, market orders, stop-limit and
// stop-market orders near the traded prices (held, refused as already
// reached, or triggered), client order ids, cancels by id and by client
// id, amends, cancel-alls, dead-man's switches and the runtime's ticks that
// fire them; times from a simulated clock, never the wall clock: the
// node's own ticker is off) and a plan of faults, then runs several epochs. In an epoch the
// node recovers from the data directory, takes the workload one command
// at a time (so the order of events, and every state, is a function of
// the seed), has actors crash at seeded commands (a market after its book
// changed, or a balance shard), takes a snapshot at a seeded point, and
// stops; then the journal's tail may be torn (garbage, zeros or a cut
// copy of a record after the last durable one, as a crash mid-write
// leaves it). After every epoch:
//
//   - an offline recovery of the directory passes State.Check
//     (conservation per asset, frozen = what resting orders reserve) and
//     has the hash of the live state at the end of the epoch;
//   - deposits minus withdrawals per asset equal the sum of the
//     acknowledged balance updates (an independent tally);
//   - the restarted node has that hash too, every acknowledged balance
//     update is refused as a repeat, and new order ids are above every
//     acknowledged one.
//
// The commands come from the shared generator (coretest.Gen, seeded with
// the seed; the fault plan has a generator of its own). A failure names
// its seed and writes the seed's commands as an op log, which
// BOURSE_SIM_SEED=N BOURSE_OPLOG=file replays; BOURSE_SIM_SEED=N reruns
// that seed alone.
// BOURSE_SIM_SEEDS sets how many seeds run (default 300, or 20 with
// -short); `make simulate` runs 5,000.
func TestSimulation(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 20
	}
	if v, err := strconv.Atoi(os.Getenv("BOURSE_SIM_SEEDS")); err == nil && v > 0 {
		seeds = v
	}
	first := uint64(1)
	if v, err := strconv.ParseUint(os.Getenv("BOURSE_SIM_SEED"), 10, 64); err == nil {
		first, seeds = v, 1
	}
	base := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// fsync is a no-op on tmpfs: the simulation tests logic, the
		// kill -9 tests the disk.
		if d, err := os.MkdirTemp("/dev/shm", "bourse-sim-"); err == nil {
			base = d
			t.Cleanup(func() { os.RemoveAll(d) })
		}
	}
	var totals simTotals
	for seed := first; seed < first+uint64(seeds); seed++ {
		dir := filepath.Join(base, strconv.FormatUint(seed, 10))
		if !simulate(t, seed, dir, &totals) {
			t.Fatalf("seed %d failed (rerun it alone: BOURSE_SIM_SEED=%d go test -run TestSimulation ./runtime)", seed, seed)
		}
		os.RemoveAll(dir)
	}
	t.Logf("%d seeds: %d epochs, %d commands (%d acknowledged), %d actor crashes, %d torn tails, %d snapshots; "+
		"%d stop orders held, %d triggered, %d amends, %d switches armed, %d fired in %d ticks",
		seeds, totals.epochs, totals.commands, totals.acked, totals.crashes, totals.torn, totals.snapshots,
		totals.stops, totals.triggered, totals.amends, totals.armed, totals.fired, totals.ticks)
}

type simTotals struct {
	epochs, commands, acked, crashes, torn, snapshots int
	// order options acknowledged: stop orders placed, stops triggered,
	// amends, switches armed, switches fired, ticks
	stops, triggered, amends, armed, fired, ticks int
}

// simRun is one seed's workload and what the exchange acknowledged.
type simRun struct {
	t     *testing.T
	seed  uint64
	cfg   *config.Config
	rng   *rand.Rand // the fault plan, snapshots, clock steps, ticks, torn tails
	clock int64
	// stream is the shared generator over ref (its view of the books), or
	// the replay of an op log; log keeps the commands sent.
	stream coretest.Stream
	ref    *coretest.Ref
	log    *coretest.OpLog
	acked  []*messages.BalanceUpdate
	net    []int64           // per asset: acknowledged deposits - withdrawals (prec_save units)
	maxID  map[uint32]uint64 // per market: largest acknowledged order id
	read   uint64            // journal records counted in totals (checkOffline)
	// deadlines are the acknowledged dead-man's switches by market and
	// user, to count those that fire (a statistic only).
	deadlines map[[2]uint32]int64
	armed     bool // the epoch's fault plan applies (not to the checks)
	totals    *simTotals
}

func (r *simRun) failf(format string, args ...any) bool {
	r.t.Helper()
	r.t.Errorf("seed %d: "+format, append([]any{r.seed}, args...)...)
	return false
}

// simulate runs one seed; it reports false after reporting a failure.
func simulate(t *testing.T, seed uint64, dir string, totals *simTotals) (ok bool) {
	t.Helper()
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	r := &simRun{t: t, seed: seed, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 0x5eed)), clock: 1_700_000_000_000_000,
		net: make([]int64, len(cfg.Assets)), maxID: map[uint32]uint64{}, totals: totals,
		deadlines: map[[2]uint32]int64{}, log: &coretest.OpLog{Name: t.Name(), Seed: seed}}
	logged, err := coretest.LoggedOpLog(t.Name(), seed)
	if err != nil {
		t.Fatal(err)
	}
	if logged != nil {
		t.Logf("seed %d: playing the %d commands of $%s", seed, len(logged.Cmds), coretest.OpLogVar)
		r.stream = coretest.NewReplay(logged)
	} else {
		r.ref = coretest.NewRef(cfg)
		g := coretest.NewGen(cfg, coretest.NewRandSource(seed), r.ref, 8)
		r.stream = g
		defer func() {
			if !ok {
				t.Logf("seed %d: %s", seed, r.log.SaveFailed())
			}
		}()
	}
	epochs := 2 + r.rng.IntN(3)
	var live string // hash at the end of the previous epoch
	for epoch := 0; epoch < epochs; epoch++ {
		totals.epochs++
		// The fault plan of this epoch: at most one crash.
		crashActor, crashAt, crashPoint := "", 0, "decide"
		if r.rng.IntN(10) < 7 {
			if r.rng.IntN(2) == 0 {
				crashActor = fmt.Sprintf("market-%d", r.rng.IntN(len(cfg.Markets)))
				if r.rng.IntN(2) == 0 {
					crashPoint = "apply"
				}
			} else {
				crashActor = fmt.Sprintf("shard-%d", r.rng.IntN(cfg.BalanceShards))
			}
			crashAt = 1 + r.rng.IntN(25)
		}
		seen, crashed := 0, false
		faults := func(actor, point string, _ messages.Command) bool {
			// Called from actor goroutines, but commands are sent one at a
			// time: no two calls overlap.
			if !r.armed || crashed || actor != crashActor || point != crashPoint {
				return false
			}
			seen++
			if seen == crashAt {
				crashed = true
				return true
			}
			return false
		}
		n, err := runtime.Start(cfg, runtime.Options{
			Logger: testenv.Quiet(), DataDir: dir,
			Journal: journal.Options{Mode: journal.Sync}, Faults: faults, TickInterval: -1,
		})
		if err != nil {
			return r.failf("epoch %d: start: %v", epoch, err)
		}
		ok := r.epoch(n, epoch, live, totals)
		if ok {
			live, err = n.Router.StateHash(context.Background())
			if err != nil {
				ok = r.failf("epoch %d: state hash: %v", epoch, err)
			}
		}
		if crashed {
			totals.crashes++
		}
		if err := n.Shutdown(context.Background()); err != nil && ok {
			ok = r.failf("epoch %d: shutdown: %v", epoch, err)
		}
		if !ok {
			return false
		}
		if r.rng.IntN(2) == 0 {
			if err := r.tear(filepath.Join(dir, "journal")); err != nil {
				return r.failf("epoch %d: tear: %v", epoch, err)
			}
			totals.torn++
		}
		if !r.checkOffline(dir, live, epoch) {
			return false
		}
	}
	return true
}

// epoch checks the restarted node against the previous epoch, then sends
// this epoch's commands.
func (r *simRun) epoch(n *runtime.Node, epoch int, want string, totals *simTotals) bool {
	ctx := context.Background()
	if epoch > 0 {
		got, err := n.Router.StateHash(ctx)
		if err != nil {
			return r.failf("epoch %d: state hash: %v", epoch, err)
		}
		if got != want {
			return r.failf("epoch %d: restarted with hash %s; the last epoch ended with %s", epoch, got, want)
		}
		for _, u := range r.acked {
			again := *u
			rep, err := n.Router.Do(ctx, &again)
			if err != nil {
				return r.failf("epoch %d: %v", epoch, err)
			}
			if e, ok := rep.(*messages.ErrorReply); !ok || e.Err != messages.ErrRepeatUpdate {
				return r.failf("epoch %d: acknowledged balance update %d (user %d) answered %v on re-send", epoch, u.BusinessID, u.User, replyString(rep))
			}
		}
	}
	r.armed = true
	defer func() { r.armed = false }()
	steps := 40 + r.rng.IntN(80)
	snapAt := -1
	if r.rng.IntN(3) > 0 {
		snapAt = r.rng.IntN(steps)
	}
	for i := 0; i < steps; i++ {
		if i == snapAt && n.Snapshots != nil {
			if err := n.Snapshots.Now(); err != nil {
				return r.failf("epoch %d: snapshot: %v", epoch, err)
			}
			totals.snapshots++
		}
		r.clock += int64(1 + r.rng.IntN(5000)) // µs
		if r.rng.IntN(25) == 0 {
			if !r.tick(n, epoch) {
				return false
			}
			continue
		}
		cmd := r.command()
		if cmd == nil {
			return true // a replayed log ran out
		}
		rep, err := n.Router.Do(ctx, cmd)
		if err != nil {
			return r.failf("epoch %d: %T: no answer: %v", epoch, cmd, err)
		}
		totals.commands++
		if o, ok := rep.(*messages.OrderReply); ok && isPut(cmd) && o.Order.ID <= r.maxID[uint32(o.Order.Market)] {
			return r.failf("epoch %d: order id %d handed out again (largest acknowledged: %d)", epoch, o.Order.ID, r.maxID[uint32(o.Order.Market)])
		}
		if r.record(cmd, rep) {
			totals.acked++
		}
	}
	return true
}

func isPut(cmd messages.Command) bool {
	switch cmd.(type) {
	case *messages.PutLimit, *messages.PutMarket:
		return true
	}
	return false
}

// tick tells every market the simulated time, as the node's ticker would,
// and waits until each has handled it (a query sent after it is answered
// after it), so that the switches it fires come before the next command.
func (r *simRun) tick(n *runtime.Node, epoch int) bool {
	ctx := context.Background()
	n.Tick(time.UnixMicro(r.clock))
	for _, m := range r.cfg.Markets {
		if _, err := n.Router.Do(ctx, &messages.MarketSummary{Market: m.ID}); err != nil {
			return r.failf("epoch %d: after a tick: %v", epoch, err)
		}
	}
	r.totals.ticks++
	for k, d := range r.deadlines {
		if d <= r.clock {
			r.totals.fired++
			delete(r.deadlines, k)
		}
	}
	return true
}

// command draws the next command from the shared generator
// (coretest.Gen), at the simulated clock, or nil when a replayed log runs
// out. The generator's ticks are left out (the simulation ticks on its
// own clock), and so are the commands an edge would refuse.
func (r *simRun) command() messages.Command {
	for {
		c := r.stream.Next()
		if c == nil {
			return nil
		}
		if c.Op == coretest.OpTick {
			continue
		}
		if r.ref != nil {
			c.Time = r.clock
			r.ref.Do(c)
		}
		cmd, err := c.Message(r.cfg)
		if err != nil || cmd == nil {
			continue
		}
		r.log.Cmds = append(r.log.Cmds, c)
		return cmd
	}
}

// record notes an acknowledged command; it reports whether cmd was one.
func (r *simRun) record(cmd messages.Command, rep messages.Reply) bool {
	if _, failed := rep.(*messages.ErrorReply); failed {
		return false
	}
	switch c := cmd.(type) {
	case *messages.BalanceUpdate:
		u := *c
		r.acked = append(r.acked, &u)
		v := int64(c.Change.Uint64())
		if c.Negative {
			v = -v
		}
		r.net[c.Asset] += v
	case *messages.PutLimit, *messages.PutMarket:
		if o, ok := rep.(*messages.OrderReply); ok {
			m := uint32(o.Order.Market)
			r.maxID[m] = max(r.maxID[m], o.Order.ID)
			if o.Order.Held() {
				r.totals.stops++
			}
		}
	case *messages.CancelAfter:
		if d, ok := rep.(*messages.CancelAfterReply); ok {
			k := [2]uint32{uint32(c.Market), c.User}
			if d.Deadline != 0 {
				r.totals.armed++
				r.deadlines[k] = d.Deadline
			} else {
				delete(r.deadlines, k)
			}
		}
	}
	return true
}

// tear appends what a crash in the middle of a write leaves after the
// last durable record of the newest segment.
func (r *simRun) tear(jdir string) error {
	entries, err := os.ReadDir(jdir)
	if err != nil {
		return err
	}
	var last string
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".seg" {
			last = e.Name() // names are zero-padded LSNs: sorted
		}
	}
	if last == "" {
		return nil
	}
	path := filepath.Join(jdir, last)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var tail []byte
	switch r.rng.IntN(3) {
	case 0: // garbage
		tail = make([]byte, 1+r.rng.IntN(64))
		for i := range tail {
			tail[i] = byte(r.rng.IntN(256))
		}
	case 1: // zeros, as a preallocated but unwritten block
		tail = make([]byte, 1+r.rng.IntN(512))
	default: // the first part of a record: a cut copy of the file's head
		// (short of the whole first record, which some are: a whole
		// copy would be a valid record with a stale LSN, not a tear)
		n := min(len(data), 1+r.rng.IntN(48))
		if len(data) >= 4 {
			n = min(n, 8+int(binary.LittleEndian.Uint32(data))-1) // header (length, crc) + body
		}
		tail = slices.Clone(data[:n])
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(tail); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkOffline recovers dir without a node and checks the invariants, the
// hash and the independent tally of balance updates.
func (r *simRun) checkOffline(dir, live string, epoch int) bool {
	s, files, err := runtime.Recover(r.cfg, dir, "")
	if err != nil {
		return r.failf("epoch %d: offline recovery: %v", epoch, err)
	}
	// What the options did, from the records this epoch added.
	err = files.Read(r.read, s.LastLSN, func(rec pj.Record) error {
		for _, ev := range rec.Events {
			switch ev.(type) {
			case *messages.StopTriggered:
				r.totals.triggered++
			case *messages.OrderAmended:
				r.totals.amends++
			}
		}
		return nil
	})
	files.Close()
	if err != nil {
		return r.failf("epoch %d: reading the journal: %v", epoch, err)
	}
	r.read = s.LastLSN
	if bad := s.Check(); len(bad) > 0 {
		return r.failf("epoch %d: invariants after recovery: %v", epoch, bad)
	}
	if got := s.Hash(); got != live {
		return r.failf("epoch %d: recovered hash %s; live %s", epoch, got, live)
	}
	for a := range r.cfg.Assets {
		net := int64(s.Deposits[a].Uint64()) - int64(s.Withdrawals[a].Uint64())
		if net != r.net[a] {
			return r.failf("epoch %d: %s: deposits - withdrawals = %d; acknowledged updates sum to %d", epoch, r.cfg.Assets[a].Name, net, r.net[a])
		}
	}
	return true
}

func replyString(rep messages.Reply) string {
	if e, ok := rep.(*messages.ErrorReply); ok {
		return fmt.Sprintf("error %d %s", e.Err.Code, e.Err.Message)
	}
	return fmt.Sprintf("%T", rep)
}
