package history

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
)

// tradeRecord is a derived record of one order filled against one maker: a
// finished order, two deal rows and eight balance rows (both sides' paid,
// received and fee legs, the fee account's two fees) — 11 rows.
func tradeRecord() derive.Record {
	taker := messages.Order{Type: messages.Limit, Side: messages.Bid, User: 1, CTime: t0, MTime: t0,
		Price: 10050, Amount: 1500000, TakerFee: 20, MakerFee: 10, DealStock: 1500000,
		DealMoney: u256("150750000000000"), DealFee: u256("300000000000"), Source: "web"}
	trade := &messages.Trade{Time: t0, TakerSide: messages.Bid, AskUser: 2, BidUser: 1,
		Price: 10050, Amount: 1500000, Stock: btc, Money: usdt,
		StockQty: u256("150000000000000"), Deal: u256("150750000000000"),
		AskFee: u256("150750000000"), BidFee: u256("300000000000")}
	detail := []byte(`{"a":"1.5","i":2048,"m":"BTCUSDT","p":"100.5"}`)
	legs := make([]derive.BalanceChange, 8)
	for i := range legs {
		legs[i] = derive.BalanceChange{Time: t0, User: uint32(1 + i%3), Asset: messages.AssetID(i % 2), Business: "trade",
			Change: u256("150750000000"), Negative: i%2 == 0, Balance: u256("849250000000000"), Detail: detail}
	}
	return derive.Record{
		Balances: legs,
		Orders:   []derive.OrderChange{{Event: derive.OrderFinish, Order: taker}},
		Deals:    []*messages.Trade{trade},
	}
}

// benchUsers is how many users the benchmark's trades spread over, so that
// the indexes led by user_id are written all over, as a live exchange
// writes them, not only at their ends.
const benchUsers = 10_000

// renumber makes r the trade of the id-th order: its LSN, order and deal
// ids, and a taker and maker drawn from benchUsers (user 1, the fee
// account, takes the fee legs).
func renumber(r *derive.Record, lsn, id uint64) {
	taker := uint32(2 + id*7919%benchUsers)
	maker := uint32(2 + id*104729%benchUsers)
	r.LSN = lsn
	r.Orders[0].Order.ID = id << 10
	r.Orders[0].Order.User = taker
	tr := r.Deals[0]
	tr.DealID, tr.BidOrder, tr.AskOrder = id<<10, id<<10, (id<<10)-1024
	tr.BidUser, tr.AskUser = taker, maker
	for i := range r.Balances {
		r.Balances[i].User = [3]uint32{taker, maker, 1}[i%3]
	}
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHistoryApply measures the history follower's sink: Apply of
// batches of trade records (11 rows each, users spread over benchUsers)
// into a fresh store, one transaction per batch — 1000 records is the
// runtime's follower batch (what a follower that is behind gets), 64 a
// follower that keeps up. An op is one batch. It reports rows/s,
// records/s, the process's CPU per record (for MySQL without the server's)
// and heap allocations per record.
func BenchmarkHistoryApply(b *testing.B) {
	for _, be := range []struct {
		name string
		get  func(testing.TB) Backend
	}{{"sqlite", SQLiteBackend}, {"mysql", MySQLBackend}} {
		for _, batch := range []int{1000, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", be.name, batch), func(b *testing.B) {
				back := be.get(b)
				s := back.Open(b, back.Options(loadConfig(b)))
				benchApply(b, s, batch)
			})
		}
	}
}

func benchApply(b *testing.B, s *Store, batch int) {
	ctx := context.Background()
	records := make([]derive.Record, batch)
	for i := range records {
		records[i] = tradeRecord()
	}
	var lsn uint64
	rows := 0
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i := 0; i < b.N; i++ {
		for j := range records {
			lsn++
			r := &records[j]
			renumber(r, lsn, lsn)
			rows += len(r.Balances) + 2*len(r.Deals) + len(r.Orders)
		}
		if err := s.Apply(ctx, records); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	elapsed := b.Elapsed().Seconds()
	b.ReportMetric(float64(rows)/elapsed, "rows/s")
	b.ReportMetric(float64(lsn)/elapsed, "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(lsn), "cpu-µs/record")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(lsn), "allocs/record")
}
