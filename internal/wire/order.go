package wire

import (
	"strconv"

	"github.com/bourse-exchange/bourse/messages"
)

// Market is what the encodings need to know of a market: its names and
// precisions. Configuration builds it (config.Market.Wire).
type Market struct {
	Name, Stock, Money string
	StockPrec          int // amounts
	MoneyPrec          int // prices
	FeePrec            int // fee rates
	StockSave          int // the stock asset's prec_save
	MoneySave          int // the money asset's prec_save
}

// AppendOrder appends the order info object of o, an order of market m,
// as the HTTP API answers it, the websocket pushes it and the orders topic
// carries it: decimals stripped at the scales documented on
// messages.Order; price and maker_fee "0" for a market order; a market
// buy's amount and left in money (left is its unspent money, at the money
// asset's prec_save). Bourse's order options follow, each only when it is
// not the default, so that an order placed with viabtc's methods prints
// exactly as viabtc prints it.
func AppendOrder(b []byte, m *Market, o *messages.Order) []byte {
	marketOrder := o.Type == messages.Market
	marketBid := marketOrder && o.Side == messages.Bid
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, o.ID, 10)
	b = append(b, `,"market":`...)
	b = AppendString(b, m.Name)
	b = append(b, `,"source":`...)
	b = AppendString(b, o.Source)
	b = appendOrderKind(b, o.Type, o.Side)
	b = append(b, `,"user":`...)
	b = strconv.AppendUint(b, uint64(o.User), 10)
	b = append(b, `,"ctime":`...)
	b = AppendTime(b, o.CTime)
	b = append(b, `,"mtime":`...)
	b = AppendTime(b, o.MTime)
	b = append(b, `,"price":`...)
	b = unitsOrZero(b, o.Price, m.MoneyPrec, marketOrder)
	b = append(b, `,"amount":`...)
	if marketBid {
		b = AppendUnits(b, o.Amount, m.MoneyPrec)
	} else {
		b = AppendUnits(b, o.Amount, m.StockPrec)
	}
	b = append(b, `,"taker_fee":`...)
	b = AppendUnits(b, o.TakerFee, m.FeePrec)
	b = append(b, `,"maker_fee":`...)
	b = unitsOrZero(b, o.MakerFee, m.FeePrec, marketOrder)
	b = append(b, `,"left":`...)
	if marketBid {
		b = AppendAmount(b, &o.Frozen, m.MoneySave)
	} else {
		b = AppendUnits(b, o.Left, m.StockPrec)
	}
	b = append(b, `,"deal_stock":`...)
	b = AppendUnits(b, o.DealStock, m.StockPrec)
	b = append(b, `,"deal_money":`...)
	b = AppendAmount(b, &o.DealMoney, m.MoneySave)
	b = append(b, `,"deal_fee":`...)
	if o.Side == messages.Bid {
		b = AppendAmount(b, &o.DealFee, m.StockSave)
	} else {
		b = AppendAmount(b, &o.DealFee, m.MoneySave)
	}
	b = appendClientID(b, o.ClientID)
	if o.StopPrice != 0 {
		b = append(b, `,"stop_price":`...)
		b = AppendUnits(b, o.StopPrice, m.MoneyPrec)
		b = appendTriggered(b, o.Triggered)
	}
	return appendFlags(b, o.TIF, o.PostOnly, o.STP)
}

// unitsOrZero appends "0" when zero is set, else v at scale.
func unitsOrZero(b []byte, v int64, scale int, zero bool) []byte {
	if zero {
		return append(b, `"0"`...)
	}
	return AppendUnits(b, v, scale)
}

// appendOrderKind appends the "type" and "side" members.
func appendOrderKind(b []byte, t messages.OrderType, s messages.Side) []byte {
	b = append(b, `,"type":`...)
	b = strconv.AppendUint(b, uint64(t), 10)
	b = append(b, `,"side":`...)
	return strconv.AppendUint(b, uint64(s), 10)
}

// The order options are printed only when they are not the default:
// client_id, then stop_price and triggered, then appendFlags.

func appendClientID(b []byte, clientID string) []byte {
	if clientID == "" {
		return b
	}
	b = append(b, `,"client_id":`...)
	return AppendString(b, clientID)
}

func appendTriggered(b []byte, triggered bool) []byte {
	b = append(b, `,"triggered":`...)
	return strconv.AppendBool(b, triggered)
}

// appendFlags appends time_in_force, post_only and stp, and the closing
// brace.
func appendFlags(b []byte, tif messages.TimeInForce, postOnly bool, stp messages.STP) []byte {
	if tif != messages.GTC {
		b = append(b, `,"time_in_force":`...)
		b = AppendString(b, tif.String())
	}
	if postOnly {
		b = append(b, `,"post_only":true`...)
	}
	if stp != messages.STPDefault {
		b = append(b, `,"stp":`...)
		b = AppendString(b, stp.String())
	}
	return append(b, '}')
}

// AppendFinishedOrder appends a finished order as the history answers it:
// the order info without "left", with "ftime", decimals as stored; then
// its options as AppendOrder prints them.
func AppendFinishedOrder(b []byte, o *messages.FinishedOrder) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, o.ID, 10)
	b = append(b, `,"ctime":`...)
	b = AppendTime(b, o.CTime)
	b = append(b, `,"ftime":`...)
	b = AppendTime(b, o.FTime)
	b = append(b, `,"user":`...)
	b = strconv.AppendUint(b, uint64(o.User), 10)
	b = append(b, `,"market":`...)
	b = AppendString(b, o.Market)
	b = append(b, `,"source":`...)
	b = AppendString(b, o.Source)
	b = appendOrderKind(b, o.Type, o.Side)
	for _, f := range [...]struct{ key, v string }{
		{`,"price":`, o.Price}, {`,"amount":`, o.Amount}, {`,"taker_fee":`, o.TakerFee},
		{`,"maker_fee":`, o.MakerFee}, {`,"deal_stock":`, o.DealStock},
		{`,"deal_money":`, o.DealMoney}, {`,"deal_fee":`, o.DealFee},
	} {
		b = append(b, f.key...)
		b = AppendString(b, f.v)
	}
	b = appendClientID(b, o.ClientID)
	if o.StopPrice != "" {
		b = append(b, `,"stop_price":`...)
		b = AppendString(b, o.StopPrice)
		b = appendTriggered(b, o.Triggered)
	}
	return appendFlags(b, o.TIF, o.PostOnly, o.STP)
}

// AppendOrderEvent appends an orders topic message:
// {"event":E,"order":<order info>,"stock":S,"money":M}.
func AppendOrderEvent(b []byte, m *Market, event uint8, o *messages.Order) []byte {
	b = append(b, `{"event":`...)
	b = strconv.AppendUint(b, uint64(event), 10)
	b = append(b, `,"order":`...)
	b = AppendOrder(b, m, o)
	b = append(b, `,"stock":`...)
	b = AppendString(b, m.Stock)
	b = append(b, `,"money":`...)
	b = AppendString(b, m.Money)
	return append(b, '}')
}

// AppendOrderUpdate appends the params of the websocket's order.update
// push: [event, <order info>].
func AppendOrderUpdate(b []byte, m *Market, event uint8, o *messages.Order) []byte {
	b = append(b, '[')
	b = strconv.AppendUint(b, uint64(event), 10)
	b = append(b, ',')
	b = AppendOrder(b, m, o)
	return append(b, ']')
}
