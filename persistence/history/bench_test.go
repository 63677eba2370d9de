package history

import (
	"context"
	"fmt"
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

// BenchmarkApply measures Apply's throughput: batches of trade records
// (11 rows each) into a fresh store, one transaction per batch.
func BenchmarkApply(b *testing.B) {
	for _, be := range []struct {
		name string
		get  func(testing.TB) Backend
	}{{"sqlite", SQLiteBackend}, {"mysql", MySQLBackend}} {
		for _, batch := range []int{64, 512} {
			b.Run(fmt.Sprintf("backend=%s/batch=%d", be.name, batch), func(b *testing.B) {
				back := be.get(b)
				s := back.Open(b, back.Options(loadConfig(b)))
				ctx := context.Background()
				records := make([]derive.Record, batch)
				for i := range records {
					records[i] = tradeRecord()
				}
				var lsn, id uint64
				rows := 0
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					for j := range records {
						lsn++
						id++
						r := &records[j]
						r.LSN = lsn
						r.Orders[0].Order.ID = id<<10 | 0
						r.Deals[0].DealID = id << 10
						rows += len(r.Balances) + 2*len(r.Deals) + len(r.Orders)
					}
					if err := s.Apply(ctx, records); err != nil {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(start).Seconds()
				b.ReportMetric(float64(rows)/elapsed, "rows/s")
				b.ReportMetric(float64(b.N*batch)/elapsed, "records/s")
			})
		}
	}
}
