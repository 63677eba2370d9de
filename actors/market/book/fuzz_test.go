package book_test

import (
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/coretest"
)

// FuzzBookCommands turns bytes into a command stream (coretest.Gen drawing
// its choices from the bytes: every command kind, order options, stop
// orders, amends, dead-man's switches and ticks included) and runs it
// through the engine glue and the decimal reference: no panic, the same
// answers, events and balances, and the
// invariants (conservation, frozen = reservations, replay = live) after
// every command. Byte 0 picks the configuration (bit 0) and extreme values
// (bit 1), byte 1 the number of balance shards; at most 256 of the other
// bytes are used (about 20 commands): the fuzzer's minimisation of a new
// input costs O(len²) runs, so inputs stay short. Long streams are
// TestDifferential's job.
func FuzzBookCommands(f *testing.F) {
	configs := []*config.Config{coretest.DefaultConfig(), coretest.MustConfig(customConfig)}
	// More seeds are in testdata/fuzz/FuzzBookCommands.
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		cfg := configs[data[0]&1]
		extreme := data[0]&2 != 0
		shards := 1 + int(data[1])%4
		data = data[2:min(len(data), 2+256)]
		if _, err := coretest.Diff(cfg, shards, 4, coretest.NewByteSource(data), 256, extreme); err != nil {
			t.Fatal(err)
		}
	})
}
