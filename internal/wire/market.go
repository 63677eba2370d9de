package wire

import (
	"strconv"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// AppendMarketDeal appends one deal as market.deals answers it, the
// websocket pushes it and market data keeps it:
// {"id","time","price","amount","type"}, type the taker's side ("sell" or
// "buy").
func AppendMarketDeal(b []byte, m *Market, d *messages.MarketDeal) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, d.ID, 10)
	b = append(b, `,"time":`...)
	b = AppendTime(b, d.Time)
	b = append(b, `,"price":`...)
	b = AppendUnits(b, d.Price, m.MoneyPrec)
	b = append(b, `,"amount":`...)
	b = AppendUnits(b, d.Amount, m.StockPrec)
	if d.Side == messages.Ask {
		return append(b, `,"type":"sell"}`...)
	}
	return append(b, `,"type":"buy"}`...)
}

// AppendMarketDeals appends a JSON array of deals (AppendMarketDeal).
func AppendMarketDeals(b []byte, m *Market, deals []messages.MarketDeal) []byte {
	return appendArray(b, m, deals, AppendMarketDeal)
}

// appendArray appends a JSON array of items, each encoded by f.
func appendArray[T any](b []byte, m *Market, items []T, f func([]byte, *Market, *T) []byte) []byte {
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = f(b, m, &items[i])
	}
	return append(b, ']')
}

// AppendDepthLevels appends levels as order.depth answers them:
// [["price","amount"],…], stripped at money_prec and stock_prec.
func AppendDepthLevels(b []byte, m *Market, levels []messages.DepthLevel) []byte {
	b = append(b, '[')
	for i, l := range levels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = AppendUnits(b, l.Price, m.MoneyPrec)
		b = append(b, ',')
		b = AppendUnits(b, l.Amount, m.StockPrec)
		b = append(b, ']')
	}
	return append(b, ']')
}

// AppendDepth appends order.depth's result {"asks":[…],"bids":[…]}.
func AppendDepth(b []byte, m *Market, asks, bids []messages.DepthLevel) []byte {
	b = append(b, `{"asks":`...)
	b = AppendDepthLevels(b, m, asks)
	b = append(b, `,"bids":`...)
	b = AppendDepthLevels(b, m, bids)
	return append(b, '}')
}

// AppendCandle appends one k-line as market.kline answers it:
// [time, "open", "close", "high", "low", "volume", "deal", "market"];
// time in Unix seconds, deal at the money asset's prec_save.
func AppendCandle(b []byte, m *Market, k *messages.Candle) []byte {
	b = append(b, '[')
	b = strconv.AppendInt(b, k.Time, 10)
	for _, v := range [4]int64{k.Open, k.Close, k.High, k.Low} {
		b = append(b, ',')
		b = AppendUnits(b, v, m.MoneyPrec)
	}
	b = append(b, ',')
	b = AppendAmount(b, &k.Volume, m.StockPrec)
	b = append(b, ',')
	b = AppendAmount(b, &k.Deal, m.MoneySave)
	b = append(b, ',')
	b = AppendString(b, m.Name)
	return append(b, ']')
}

// AppendCandles appends a JSON array of k-lines (AppendCandle).
func AppendCandles(b []byte, m *Market, candles []messages.Candle) []byte {
	return appendArray(b, m, candles, AppendCandle)
}

// AppendBucket appends a k-line bucket as market data keeps it in Redis:
// ["open","close","high","low","volume","deal"].
func AppendBucket(b []byte, m *Market, c *messages.Candle) []byte {
	b = append(b, '[')
	for _, v := range [4]int64{c.Open, c.Close, c.High, c.Low} {
		b = AppendUnits(b, v, m.MoneyPrec)
		b = append(b, ',')
	}
	b = AppendAmount(b, &c.Volume, m.StockPrec)
	b = append(b, ',')
	b = AppendAmount(b, &c.Deal, m.MoneySave)
	return append(b, ']')
}

// AppendStatus appends market.status's result: {"period", "last", "open",
// "close", "high", "low", "volume", "deal"}.
func AppendStatus(b []byte, m *Market, r *messages.MarketStatusReply) []byte {
	b = append(b, `{"period":`...)
	b = strconv.AppendInt(b, r.Period, 10)
	for _, f := range [...]struct {
		key string
		v   int64
	}{{`,"last":`, r.Last}, {`,"open":`, r.Open}, {`,"close":`, r.Close}, {`,"high":`, r.High}, {`,"low":`, r.Low}} {
		b = append(b, f.key...)
		b = AppendUnits(b, f.v, m.MoneyPrec)
	}
	return appendVolume(b, m, &r.Volume, &r.Deal)
}

// AppendStatusToday appends market.status_today's result: {"open",
// "last", "high", "low", "volume", "deal"}.
func AppendStatusToday(b []byte, m *Market, r *messages.MarketStatusTodayReply) []byte {
	for _, f := range [...]struct {
		key string
		v   int64
	}{{`{"open":`, r.Open}, {`,"last":`, r.Last}, {`,"high":`, r.High}, {`,"low":`, r.Low}} {
		b = append(b, f.key...)
		b = AppendUnits(b, f.v, m.MoneyPrec)
	}
	return appendVolume(b, m, &r.Volume, &r.Deal)
}

// appendVolume ends a status object with "volume" and "deal".
func appendVolume(b []byte, m *Market, volume, deal *uint256.Int) []byte {
	b = append(b, `,"volume":`...)
	b = AppendAmount(b, volume, m.StockPrec)
	b = append(b, `,"deal":`...)
	b = AppendAmount(b, deal, m.MoneySave)
	return append(b, '}')
}

// AppendDeal appends a deals topic message: [time, market, ask_id,
// bid_id, ask_user, bid_user, price, amount, ask_fee, bid_fee,
// taker_side, deal_id, stock, money]. Decimals are raw: price at
// money_prec, amount at stock_prec, the ask fee (money) and the bid fee
// (stock) at their assets' prec_save.
func AppendDeal(b []byte, m *Market, d *messages.Trade) []byte {
	b = append(b, '[')
	b = AppendTime(b, d.Time)
	b = append(b, ',')
	b = AppendString(b, m.Name)
	for _, v := range [...]uint64{d.AskOrder, d.BidOrder, uint64(d.AskUser), uint64(d.BidUser)} {
		b = append(b, ',')
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, ',', '"')
	b = AppendRawUnits(b, d.Price, m.MoneyPrec)
	b = append(b, '"', ',', '"')
	b = AppendRawUnits(b, d.Amount, m.StockPrec)
	b = append(b, '"', ',', '"')
	b = AppendRaw(b, &d.AskFee, m.MoneySave)
	b = append(b, '"', ',', '"')
	b = AppendRaw(b, &d.BidFee, m.StockSave)
	b = append(b, '"', ',')
	b = strconv.AppendUint(b, uint64(d.TakerSide), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, d.DealID, 10)
	b = append(b, ',')
	b = AppendString(b, m.Stock)
	b = append(b, ',')
	b = AppendString(b, m.Money)
	return append(b, ']')
}
