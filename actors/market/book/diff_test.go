package book_test

import (
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/coretest"
)

var (
	diffSeed  = flag.Uint64("diff.seed", 0, "run the differential test on this seed only")
	diffSteps = flag.Int("diff.steps", 0, "commands per seed (default: 5000, or 1000 with -short or -race)")
)

// customConfig has precisions unlike the default's: a stock_prec of 0, a
// seller's fee truncated by 3 digits, min_amount 0 (market buys that buy
// nothing), a fee account that also trades, a market whose orders prevent
// self-trades by default and one with a small limit of open orders.
const customConfig = `
fee_user_id: 2
balance_shards: 3
assets:
  - { name: A, prec_save: 6, prec_show: 4 }
  - { name: B, prec_save: 8 }
  - { name: C, prec_save: 10, prec_show: 3 }
markets:
  - { name: AB, stock: A, money: B, stock_prec: 3, money_prec: 5, fee_prec: 3, min_amount: "0", stp: cancel_maker }
  - { name: CA, stock: C, money: A, stock_prec: 0, money_prec: 2, fee_prec: 4, min_amount: "1", max_open_orders: 4 }
`

// TestDifferential runs the fixed-point book and ledger against the plain
// decimal reference (coretest.Ref) on seeded random command streams (order
// options, stop orders, amends and dead-man's switches included),
// comparing every reply, every event and every balance after every command
// and checking the invariants (conservation, frozen = reservations, replay
// = live). It logs what the streams reached (stops triggered, cascades,
// amends, switches fired, refusals by code).
func TestDifferential(t *testing.T) {
	steps := 5000
	if testing.Short() || raceEnabled {
		steps = 1000
	}
	if *diffSteps > 0 {
		steps = *diffSteps
	}
	configs := []struct {
		name    string
		cfg     *config.Config
		shards  int
		users   int
		extreme bool
	}{
		{"default", coretest.DefaultConfig(), 4, 5, false},
		{"custom", coretest.MustConfig(customConfig), 3, 4, false},
		{"extreme", coretest.DefaultConfig(), 2, 3, true},
	}
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if *diffSeed != 0 {
		seeds = []uint64{*diffSeed}
	}
	var (
		mu    sync.Mutex
		total coretest.DiffStats
	)
	for _, c := range configs {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed=%d", c.name, seed), func(t *testing.T) {
				t.Parallel()
				st, err := diffRun(t, c.cfg, c.shards, c.users, seed, steps, c.extreme)
				mu.Lock()
				total.Add(st)
				mu.Unlock()
				if err != nil {
					t.Fatalf("seed %d (rerun: go test -run 'TestDifferential/%s/seed=%d$' ./actors/market/book): %v", seed, c.name, seed, err)
				}
			})
		}
	}
	t.Cleanup(func() { t.Logf("compared %s", total) })
}

// diffRun runs coretest.Diff on seed's stream or, when $BOURSE_OPLOG names
// an op log of this seed, on the log's commands. A failure writes the
// commands played as an op log and says how to replay it.
func diffRun(t *testing.T, cfg *config.Config, shards, users int, seed uint64, steps int, extreme bool) (coretest.DiffStats, error) {
	log, err := coretest.LoggedOpLog(t.Name(), seed)
	if err != nil {
		t.Fatal(err)
	}
	open := func(ref *coretest.Ref) coretest.Stream {
		g := coretest.NewGen(cfg, coretest.NewRandSource(seed), ref, users)
		g.Extreme = extreme
		return g
	}
	if log != nil {
		t.Logf("replaying the %d commands of $%s", len(log.Cmds), coretest.OpLogVar)
		open = func(*coretest.Ref) coretest.Stream { return coretest.NewReplay(log) }
	}
	st, err := coretest.DiffStream(cfg, shards, users, steps, open)
	var d *coretest.DiffError
	if errors.As(err, &d) && log == nil {
		err = fmt.Errorf("%w\n%s", err, (&coretest.OpLog{Name: t.Name(), Seed: seed, Cmds: d.Cmds}).SaveFailed())
	}
	return st, err
}
