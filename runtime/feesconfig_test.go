package runtime_test

import (
	"context"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestConfigBeforeFeesAdopted: a journal whose ConfigSet was written before
// the markets' fee rates were recorded (the old encoding: Fees false) starts
// under a file with fee rates, takes the file's and journals them; from
// then on the journal's are kept, also under a file that says otherwise.
func TestConfigBeforeFeesAdopted(t *testing.T) {
	plain := edited(t)
	withFees := edited(t, `min_amount: "0.0001" }`, `min_amount: "0.0001", maker_fee: "0.0013", taker_fee: "0.0027" }`)
	dir := t.TempDir()
	_, b, err := runtime.Recover(plain, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	old := plain.Spec()
	old.Fees = false
	if err := b.Write([]pj.Record{{LSN: 1, Events: []messages.Event{old}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(); err != nil {
		t.Fatal(err)
	}
	b.Close()

	check := func(when string, maker, taker int64) {
		t.Helper()
		s, b, err := runtime.Recover(plain, dir, "")
		if err != nil {
			t.Fatal(err)
		}
		var first *messages.ConfigSet
		b.Read(0, 1, func(r pj.Record) error { // record 1
			first, _ = r.Events[0].(*messages.ConfigSet)
			return nil
		})
		b.Close()
		if first == nil || first.Fees || s.LastLSN < 2 {
			t.Fatalf("%s: record 1 is %+v, last LSN %d; want the old ConfigSet, then the adopted one", when, first, s.LastLSN)
		}
		m := s.Config().Market("BTCUSDT")
		if s.Spec == nil || !s.Spec.Fees || m.MakerUnits != maker || m.TakerUnits != taker ||
			s.Spec.Markets[m.ID].MakerFee != maker || s.Spec.Markets[m.ID].TakerFee != taker {
			t.Fatalf("%s: journaled configuration %+v, BTCUSDT rates %d, %d; want %d, %d recorded", when, s.Spec, m.MakerUnits, m.TakerUnits, maker, taker)
		}
	}
	n := startAt(t, withFees, dir, "", 0)
	if m := n.Router.Config().Market("BTCUSDT"); m.MakerUnits != 13 || m.TakerUnits != 27 {
		t.Fatalf("first start on an old ConfigSet: BTCUSDT rates %d, %d; want the file's 13, 27", m.MakerUnits, m.TakerUnits)
	}
	n.Shutdown(context.Background())
	check("after the first start", 13, 27)

	n, err = runtime.Start(plain, runtime.Options{Logger: testenv.Quiet(), DataDir: dir, TickInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if m := n.Router.Config().Market("BTCUSDT"); m.MakerUnits != 13 || m.TakerUnits != 27 {
		t.Errorf("a file with other rates: BTCUSDT rates %d, %d; want the journal's 13, 27", m.MakerUnits, m.TakerUnits)
	}
	n.Shutdown(context.Background())
	check("after a start under a file with other rates", 13, 27)
}
