package runtime

import (
	"sync"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/persistence/snapshot"
	"github.com/bourse-exchange/bourse/runtime/config"
)

// durable rebuilds one actor's core from the newest snapshot (if dataDir
// has one) and the journal after it (actors.Durable).
type durable struct {
	cfg     *config.Config
	dataDir string
	read    func(after, upto uint64, fn func(pj.Record) error) error
	store   *sync.RWMutex // held while reading: no snapshot or segment is removed meanwhile
}

func (d *durable) snapshot() (*snapshot.File, error) {
	if d.dataDir == "" {
		return nil, nil
	}
	f, _, err := snapshot.Latest(SnapshotDir(d.dataDir), Fingerprint(d.cfg))
	return f, err
}

func (d *durable) Book(market messages.MarketID, upto uint64) (*book.Book, error) {
	d.store.RLock()
	defer d.store.RUnlock()
	f, err := d.snapshot()
	if err != nil {
		return nil, err
	}
	b := book.New(d.cfg.Markets[market].BookConfig())
	var after uint64
	if f != nil && f.LSN <= upto {
		if b, err = bookFromFile(d.cfg, f, int(market)); err != nil {
			return nil, err
		}
		after = f.LSN
	}
	err = d.read(after, upto, func(r pj.Record) error {
		for _, ev := range r.Events {
			if marketOf(ev) == int(market) {
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
	l := newLedger(d.cfg, shard)
	var after uint64
	if f != nil && f.LSN <= upto {
		if err := snapshot.LoadLedger(f.Ledgers[shard], l); err != nil {
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

func newLedger(cfg *config.Config, shard int) *ledger.Ledger {
	return ledger.New(ledger.Config{
		Assets: len(cfg.Assets), FeeUser: cfg.FeeUserID,
		WindowMicros: cfg.IdempotencyWindow.Microseconds(), Shard: shard, Shards: cfg.BalanceShards,
	})
}

// marketOf returns the market an order event belongs to, or -1.
func marketOf(ev messages.Event) int {
	switch e := ev.(type) {
	case *messages.OrderPlaced:
		return int(e.Order.Market)
	case *messages.Trade:
		return int(e.Market)
	case *messages.OrderRested:
		return int(e.Market)
	case *messages.OrderFinished:
		return int(e.Market)
	}
	return -1
}
