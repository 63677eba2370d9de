package httprpc

import (
	"testing"

	"github.com/bourse-exchange/bourse/messages"
)

// Encoding an order whose amounts fit in uint64 does not allocate.
func TestAppendOrderAllocs(t *testing.T) {
	cfg := loadTestConfig(t)
	buf := make([]byte, 0, 1024)
	for _, o := range []*messages.Order{&limitBid, &limitAsk, &marketBid, &marketAsk} {
		if n := testing.AllocsPerRun(100, func() { appendOrder(buf[:0], cfg, o) }); n != 0 {
			t.Errorf("appendOrder(order %d) allocates %.0f times; want 0", o.ID, n)
		}
	}
}
