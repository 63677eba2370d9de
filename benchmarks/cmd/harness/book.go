package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
	"github.com/bourse-exchange/bourse/benchmarks/internal/workload"
	"github.com/bourse-exchange/bourse/internal/config"
)

// bookTarget runs the commands on bare books in the calling goroutine:
// book.Execute only, no balances. It executes the very sequence the
// generator simulated, so cancels use the generator's ids.
type bookTarget struct {
	markets []*config.Market
	books   []*book.Book
}

func newBookTarget(cfg *config.Config) *bookTarget {
	t := &bookTarget{markets: cfg.Markets}
	for _, m := range cfg.Markets {
		t.books = append(t.books, book.New(actors.BookConfig(m)))
	}
	return t
}

func (t *bookTarget) setup(_ context.Context, prefill []workload.Cmd) error {
	for i := range prefill {
		if err := t.exec(&prefill[i], i); err != nil {
			return err
		}
	}
	return nil
}

func (t *bookTarget) exec(c *workload.Cmd, idx int) error {
	_, o, err := t.books[c.Market].Execute(c.Message(t.markets[c.Market], c.SimID, int64(idx+1)))
	if err != nil {
		return fmt.Errorf("command %d (%+v): %v", idx, *c, err)
	}
	if c.Placement() && o.ID != c.SimID {
		return fmt.Errorf("command %d: id %d, the generator's %d", idx, o.ID, c.SimID)
	}
	return nil
}

// step executes command i once it is due (sleeping while ahead) and records
// due → done. A refusal is an error: the books run exactly the generator's
// sequence.
func (t *bookTarget) step(ctx context.Context, cmds []workload.Cmd, first int, rate float64, pace pacer, p *progress) (*result, error) {
	h, lag := hist.New(), hist.New()
	t0 := time.Now()
	var last time.Duration
	for i := range cmds {
		due := dueAt(i, rate)
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lag.Record(int64(pace(t0, due) - due))
		if err := t.exec(&cmds[i], first+i); err != nil {
			return nil, err
		}
		last = time.Since(t0)
		h.Record(int64(last - due))
		if i%256 == 255 {
			p.sent.Store(int64(i + 1))
			p.done.Store(int64(i + 1))
		}
	}
	return &result{n: len(cmds), elapsed: last, hist: h, lag: lag, errs: map[string]int64{}}, nil
}

func (t *bookTarget) pid() int     { return 0 }
func (t *bookTarget) close() error { return nil }
