package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/holiman/uint256"
)

// durable rebuilds one actor's core from the newest snapshot (if dataDir
// has one) and the journal after it (actors.Durable).
type durable struct {
	cfg *config.Config
	// live is the configuration in force once the operator changed it at
	// run time (runtime/configure.go); nil before.
	live    atomic.Pointer[config.Config]
	dataDir string
	read    func(after, upto uint64, fn func(pj.Record) error) error
	store   *sync.RWMutex // held while reading: no snapshot or segment is removed meanwhile
}

// current is the configuration in force.
func (d *durable) current() *config.Config {
	if c := d.live.Load(); c != nil {
		return c
	}
	return d.cfg
}

// specRules gives b the rules its market has in spec, if spec has it.
func specRules(b *book.Book, spec *messages.ConfigSet) {
	c := b.Config()
	if int(c.Market) < len(spec.Markets) {
		sm := spec.Markets[c.Market]
		c.MinAmount, c.MaxOpenOrders, c.STP = sm.MinAmount, int(int64(sm.MaxOpenOrders)), sm.STP
	}
}

func (d *durable) snapshot() (*snapshot.File, error) {
	if d.dataDir == "" {
		return nil, nil
	}
	f, _, err := snapshot.Latest(SnapshotDir(d.dataDir), snapshotUsable(d.cfg))
	return f, err
}

func (d *durable) Book(market messages.MarketID, upto uint64) (*book.Book, error) {
	d.store.RLock()
	defer d.store.RUnlock()
	f, err := d.snapshot()
	if err != nil {
		return nil, err
	}
	cfg := d.current()
	b := book.New(actors.BookConfig(cfg.Markets[market]))
	var after uint64
	if f != nil && f.LSN <= upto {
		if b, err = bookFromFile(cfg, f, int(market)); err != nil {
			return nil, err
		}
		after = f.LSN
	}
	err = d.read(after, upto, func(r pj.Record) error {
		for _, ev := range r.Events {
			if spec, ok := ev.(*messages.ConfigSet); ok {
				specRules(b, spec)
			} else if marketOf(ev) == int(market) {
				b.Apply(ev)
			}
		}
		return nil
	})
	return b, err
}

func (d *durable) Ledger(shard int, upto uint64) (*ledger.Ledger, error) {
	d.store.RLock()
	defer d.store.RUnlock()
	f, err := d.snapshot()
	if err != nil {
		return nil, err
	}
	cfg := d.current()
	l := newLedger(cfg, shard)
	var after uint64
	if f != nil && f.LSN <= upto {
		if l, err = ledgerFromFile(cfg, f, shard); err != nil {
			return nil, err
		}
		after = f.LSN
	}
	err = d.read(after, upto, func(r pj.Record) error {
		for _, ev := range r.Events {
			l.Apply(ev, ledger.Replay)
		}
		return nil
	})
	return l, err
}

// Deriver builds a follower's Deriver at LSN at: the state of the newest
// snapshot at or before it, the journal up to it. When the journal no longer
// holds the records after at (removed after a snapshot), it starts from the
// oldest snapshot after at instead; the follower skips what lies between.
func (d *durable) Deriver(at uint64) (*derive.Deriver, error) {
	d.store.RLock()
	defer d.store.RUnlock()
	s, err := d.stateAt(at)
	if err == nil && d.read(at, at+1, func(pj.Record) error { return nil }) != nil {
		// The journal does not go on after at: either at is its end, or
		// what follows was removed (then a newer snapshot exists).
		err = fmt.Errorf("the journal does not hold record %d", at+1)
		if d.dataDir == "" {
			return s.Deriver(s.Config()), nil
		}
		if f, ferr := snapshot.OldestAfter(SnapshotDir(d.dataDir), snapshotUsable(d.cfg), at); ferr != nil || f == nil {
			return s.Deriver(s.Config()), nil
		}
	}
	if err != nil && d.dataDir != "" {
		f, ferr := snapshot.OldestAfter(SnapshotDir(d.dataDir), snapshotUsable(d.cfg), at)
		if ferr != nil || f == nil {
			return nil, err
		}
		if s, err = StateFromFile(d.cfg, f); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	return s.Deriver(s.Config()), nil
}

func (d *durable) stateAt(at uint64) (*State, error) {
	s := NewState(d.cfg)
	if d.dataDir != "" {
		f, _, err := snapshot.LatestUpTo(SnapshotDir(d.dataDir), snapshotUsable(d.cfg), at)
		if err != nil {
			return nil, err
		}
		if f != nil {
			if s, err = StateFromFile(d.cfg, f); err != nil {
				return nil, err
			}
		}
	}
	if s.LastLSN == at {
		return s, nil
	}
	if err := d.read(s.LastLSN, at, s.Apply); err != nil {
		return nil, err
	}
	if s.LastLSN != at {
		return nil, fmt.Errorf("journal ends at LSN %d, before %d", s.LastLSN, at)
	}
	return s, nil
}

// Deriver returns a Deriver positioned at the state: its open orders and
// balance totals.
func (s *State) Deriver(cfg *config.Config) *derive.Deriver {
	d := derive.New(cfg, s.LastLSN)
	for _, b := range s.Books {
		b.EachOrder(func(o *messages.Order) { d.AddOrder(*o) })
	}
	for _, l := range s.Ledgers {
		l.Each(func(user uint32, balances []messages.Balance) {
			for a := range balances {
				var t uint256.Int
				t.Add(&balances[a].Available, &balances[a].Frozen)
				if !t.IsZero() {
					d.SetTotal(user, messages.AssetID(a), t)
				}
			}
		})
	}
	return d
}

func newLedger(cfg *config.Config, shard int) *ledger.Ledger {
	return ledger.New(ledger.Config{
		Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID,
		WindowMicros: cfg.IdempotencyWindow.Microseconds(), Shard: shard, Shards: cfg.BalanceShards,
	})
}

// marketOf returns the market whose book ev changes, or -1 (messages.Scope).
func marketOf(ev messages.Event) int {
	if sc := ev.Scope(); sc.Book {
		return int(sc.Market)
	}
	return -1
}
