package config

import (
	"strings"
	"testing"
	"time"
)

const tuningMarkets = `assets:
  - {name: A, prec_save: 10}
  - {name: B, prec_save: 10}
markets:
  - {name: AB, stock: A, money: B, stock_prec: 4, money_prec: 4}
  - {name: BA, stock: B, money: A, stock_prec: 4, money_prec: 4}
`

func TestTuningDefaults(t *testing.T) {
	for name, doc := range map[string][]byte{"embedded": Default, "none": []byte(tuningMarkets)} {
		c, err := Parse(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := MarketTuning{Mailbox: MailboxUnbounded, Throughput: 300, Dispatcher: DispatcherShared}
		for _, m := range c.Markets {
			if m.Tuning != want {
				t.Errorf("%s: %s tuning = %+v; want %+v", name, m.Name, m.Tuning, want)
			}
		}
		if s := c.Tuning.Shard; s.Mailbox != MailboxUnbounded || s.Throughput != 300 {
			t.Errorf("%s: shard tuning = %+v", name, s)
		}
		if j := c.Tuning.Journal; j.MaxBatch != 4096 || j.SyncInterval != 10*time.Millisecond || j.Queue != 65536 {
			t.Errorf("%s: journal tuning = %+v", name, j)
		}
	}
}

func TestTuningOverrides(t *testing.T) {
	doc := tuningMarkets + `tuning:
  market: {mailbox: bounded, mailbox_size: 5000, throughput: 50}
  markets:
    AB: {dispatcher: dedicated, throughput: 1000}
    BA: {mailbox: lockfree}
  shard: {mailbox: lockfree, throughput: 20}
  journal: {max_batch: 256, sync_interval: 2ms, queue: 4096}
`
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		market string
		want   MarketTuning
	}{
		{"AB", MarketTuning{Mailbox: MailboxBounded, MailboxSize: 5000, Throughput: 1000, Dispatcher: DispatcherDedicated}},
		// Another mailbox kind does not inherit the default's bound.
		{"BA", MarketTuning{Mailbox: MailboxLockfree, Throughput: 50, Dispatcher: DispatcherShared}},
	} {
		if got := c.Market(tc.market).Tuning; got != tc.want {
			t.Errorf("%s tuning = %+v; want %+v", tc.market, got, tc.want)
		}
	}
	if s := c.Tuning.Shard; s != (ShardTuning{Mailbox: MailboxLockfree, Throughput: 20}) {
		t.Errorf("shard tuning = %+v", s)
	}
	if j := c.Tuning.Journal; j != (JournalTuning{MaxBatch: 256, SyncInterval: 2 * time.Millisecond, Queue: 4096}) {
		t.Errorf("journal tuning = %+v", j)
	}
}

func TestTuningValidation(t *testing.T) {
	tests := []struct{ name, tuning, want string }{
		{"unknown market", "markets: {XY: {throughput: 10}}", `tuning.markets.XY: unknown market "XY"`},
		{"unknown key", "market: {mailbx: lockfree}", "field mailbx not found"},
		{"mailbox kind", "market: {mailbox: ring}", `tuning.market.mailbox: must be unbounded, lockfree or bounded, got "ring"`},
		{"bounded without size", "market: {mailbox: bounded}", "tuning.market.mailbox_size: must be between 1 and 10000000 with mailbox: bounded, got 0"},
		{"bounded too big", "markets: {AB: {mailbox: bounded, mailbox_size: 10000001}}", "tuning.markets.AB.mailbox_size: must be between 1"},
		{"size without bounded", "market: {mailbox_size: 10}", "tuning.market.mailbox_size: only with mailbox: bounded"},
		{"throughput zero", "market: {throughput: 0}", "tuning.market.throughput: must be between 1 and 100000, got 0"},
		{"throughput negative override", "markets: {BA: {throughput: -1}}", "tuning.markets.BA.throughput: must be between 1 and 100000, got -1"},
		{"dispatcher", "markets: {AB: {dispatcher: pinned}}", `tuning.markets.AB.dispatcher: must be shared, dedicated or synchronized, got "pinned"`},
		{"shard bounded", "shard: {mailbox: bounded}", `tuning.shard.mailbox: must be unbounded or lockfree, got "bounded"`},
		{"shard throughput", "shard: {throughput: 100001}", "tuning.shard.throughput: must be between 1 and 100000"},
		{"journal batch", "journal: {max_batch: 0}", "tuning.journal.max_batch: must be between 1 and 1000000, got 0"},
		{"journal interval", "journal: {sync_interval: 10us}", "tuning.journal.sync_interval: must be between 100µs and 1s, got 10µs"},
		{"journal queue", "journal: {queue: 100}", "tuning.journal.queue: must be between 1024 and 10000000, got 100"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tuningMarkets + "tuning: {" + tc.tuning + "}\n"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v; want it to contain %q", err, tc.want)
			}
		})
	}
}
