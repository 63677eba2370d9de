package events

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/bourse-exchange/bourse/runtime/derive"
	"github.com/holiman/uint256"
)

// Topic is one of the three event topics (docs/protocol.md "Kafka events").
type Topic uint8

// Topics, in the order a record's messages are encoded.
const (
	Balances Topic = iota // balance.update changes, keyed by user id
	Orders                // every order event, keyed by market name
	Deals                 // every trade, keyed by market name
	numTopics
)

var topicNames = [numTopics]string{"balances", "orders", "deals"}

// String is the topic's default name ("balances", "orders", "deals").
func (t Topic) String() string {
	if t < numTopics {
		return topicNames[t]
	}
	return "topic(" + strconv.Itoa(int(t)) + ")"
}

// Message is one event message: what the publisher sends to Kafka and the
// bus hands to in-process subscribers. Key and Value are shared by everyone
// who receives the message and must not be modified.
type Message struct {
	Topic Topic
	// Key decides the partition: the market name for orders and deals,
	// the user id in decimal for balances.
	Key string
	// Value is the JSON message of docs/protocol.md "Kafka events".
	Value []byte
	// LSN is the journal record the message was derived from.
	LSN uint64
	// Seq is the message's position among its record's messages of the
	// same topic, from 0: (LSN, Seq) identifies a message, and in a
	// partition messages follow each other in (LSN, Seq) order.
	Seq uint32
}

// Encoder turns derived records into messages. It holds only the
// configuration and is safe for concurrent use.
type Encoder struct {
	cfg *config.Config
}

// NewEncoder returns an encoder for cfg's assets and markets.
func NewEncoder(cfg *config.Config) *Encoder { return &Encoder{cfg: cfg} }

// Append appends r's messages to dst: the balances messages (one per
// balance.update change), then the orders messages (one per order change,
// in order), then the deals messages (one per trade). The values of one
// call share one backing array. An error means r names an asset or market
// the configuration lacks (the journal does not match it); dst is then
// returned unchanged.
func (e *Encoder) Append(dst []Message, r *derive.Record) ([]Message, error) {
	n0 := len(dst)
	var buf []byte
	var ends []int
	add := func(t Topic, key string, seq int) {
		ends = append(ends, len(buf))
		dst = append(dst, Message{Topic: t, Key: key, LSN: r.LSN, Seq: uint32(seq)})
	}
	seq := 0
	for i := range r.Balances {
		c := &r.Balances[i]
		if !c.Update {
			continue
		}
		if int(c.Asset) >= len(e.cfg.Assets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: asset %d is not configured", r.LSN, c.Asset)
		}
		buf = e.appendBalance(buf, c)
		add(Balances, strconv.FormatUint(uint64(c.User), 10), seq)
		seq++
	}
	for i := range r.Orders {
		c := &r.Orders[i]
		if int(c.Order.Market) >= len(e.cfg.Markets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: market %d is not configured", r.LSN, c.Order.Market)
		}
		m := e.cfg.Markets[c.Order.Market]
		buf = appendOrderEvent(buf, m, c)
		add(Orders, m.Name, i)
	}
	for i, d := range r.Deals {
		if int(d.Market) >= len(e.cfg.Markets) {
			return dst[:n0], fmt.Errorf("events: LSN %d: market %d is not configured", r.LSN, d.Market)
		}
		m := e.cfg.Markets[d.Market]
		buf = appendDeal(buf, m, d)
		add(Deals, m.Name, i)
	}
	start := 0
	for i, end := range ends {
		dst[n0+i].Value = buf[start:end:end]
		start = end
	}
	return dst, nil
}

// appendBalance appends a balances message (docs/protocol.md "Kafka events"):
// [time, user_id, asset, business, change]. The change is raw (every
// fractional digit printed) at the asset's prec_show, the precision
// balance.update accepts, or at prec_save when the value has more digits
// than prec_show (never truncated).
func (e *Encoder) appendBalance(b []byte, c *derive.BalanceChange) []byte {
	a := e.cfg.Assets[c.Asset]
	scale := a.PrecSave
	if show := a.Show(); show < scale {
		var q, r uint256.Int
		q.DivMod(&c.Change, fixed.Pow10(scale-show), &r)
		if r.IsZero() {
			return appendBalanceAt(b, c, a, &q, show)
		}
	}
	return appendBalanceAt(b, c, a, &c.Change, scale)
}

func appendBalanceAt(b []byte, c *derive.BalanceChange, a *config.Asset, change *uint256.Int, scale int) []byte {
	b = append(b, '[')
	b = appendTime(b, c.Time)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(c.User), 10)
	b = append(b, ',')
	b = appendString(b, a.Name)
	b = append(b, ',')
	b = appendString(b, c.Business)
	b = append(b, ',', '"')
	if c.Negative && !change.IsZero() {
		b = append(b, '-')
	}
	b = appendRaw(b, change, scale)
	return append(b, '"', ']')
}

// appendOrderEvent appends an orders message (docs/protocol.md "Kafka events"):
// {"event":E,"order":<order info>,"stock":S,"money":M}.
func appendOrderEvent(b []byte, m *config.Market, c *derive.OrderChange) []byte {
	b = append(b, `{"event":`...)
	b = strconv.AppendUint(b, uint64(c.Event), 10)
	b = append(b, `,"order":`...)
	b = AppendOrder(b, m, &c.Order)
	b = append(b, `,"stock":`...)
	b = appendString(b, m.Stock)
	b = append(b, `,"money":`...)
	b = appendString(b, m.Money)
	return append(b, '}')
}

// appendDeal appends a deals message (docs/protocol.md "Kafka events"): [time, market,
// ask_id, bid_id, ask_user, bid_user, price, amount, ask_fee, bid_fee,
// taker_side, deal_id, stock, money]. Decimals are raw: price at money_prec,
// amount at stock_prec, the ask fee (money) and the bid fee (stock) at
// their assets' prec_save.
func appendDeal(b []byte, m *config.Market, d *messages.Trade) []byte {
	b = append(b, '[')
	b = appendTime(b, d.Time)
	b = append(b, ',')
	b = appendString(b, m.Name)
	for _, v := range [...]uint64{d.AskOrder, d.BidOrder, uint64(d.AskUser), uint64(d.BidUser)} {
		b = append(b, ',')
		b = strconv.AppendUint(b, v, 10)
	}
	b = append(b, ',', '"')
	b = appendRawInt(b, d.Price, m.MoneyPrec)
	b = append(b, '"', ',', '"')
	b = appendRawInt(b, d.Amount, m.StockPrec)
	b = append(b, '"', ',', '"')
	b = appendRaw(b, &d.AskFee, m.MoneyAsset.PrecSave)
	b = append(b, '"', ',', '"')
	b = appendRaw(b, &d.BidFee, m.StockAsset.PrecSave)
	b = append(b, '"', ',')
	b = strconv.AppendUint(b, uint64(d.TakerSide), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, d.DealID, 10)
	b = append(b, ',')
	b = appendString(b, m.Stock)
	b = append(b, ',')
	b = appendString(b, m.Money)
	return append(b, ']')
}

// AppendOrder appends the order info object of docs/protocol.md "Order object" for o, an order
// of market m, exactly as the HTTP API prints it (edges/httprpc): decimals
// stripped (docs/protocol.md D2) at the scales documented on messages.Order; price
// and maker_fee "0" for market orders; a market buy's amount and left in
// money (left is its unspent money, at the money asset's prec_save).
func AppendOrder(b []byte, m *config.Market, o *messages.Order) []byte {
	marketOrder := o.Type == messages.Market
	marketBid := marketOrder && o.Side == messages.Bid
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, o.ID, 10)
	b = append(b, `,"market":`...)
	b = appendString(b, m.Name)
	b = append(b, `,"source":`...)
	b = appendString(b, o.Source)
	b = append(b, `,"type":`...)
	b = strconv.AppendUint(b, uint64(o.Type), 10)
	b = append(b, `,"side":`...)
	b = strconv.AppendUint(b, uint64(o.Side), 10)
	b = append(b, `,"user":`...)
	b = strconv.AppendUint(b, uint64(o.User), 10)
	b = append(b, `,"ctime":`...)
	b = appendTime(b, o.CTime)
	b = append(b, `,"mtime":`...)
	b = appendTime(b, o.MTime)

	b = append(b, `,"price":"`...)
	if marketOrder {
		b = append(b, '0')
	} else {
		b = appendStrippedInt(b, o.Price, m.MoneyPrec)
	}
	b = append(b, `","amount":"`...)
	if marketBid {
		b = appendStrippedInt(b, o.Amount, m.MoneyPrec)
	} else {
		b = appendStrippedInt(b, o.Amount, m.StockPrec)
	}
	b = append(b, `","taker_fee":"`...)
	b = appendStrippedInt(b, o.TakerFee, m.Fee)
	b = append(b, `","maker_fee":"`...)
	if marketOrder {
		b = append(b, '0')
	} else {
		b = appendStrippedInt(b, o.MakerFee, m.Fee)
	}
	b = append(b, `","left":"`...)
	if marketBid {
		b = appendStripped(b, &o.Frozen, m.MoneyAsset.PrecSave)
	} else {
		b = appendStrippedInt(b, o.Left, m.StockPrec)
	}
	b = append(b, `","deal_stock":"`...)
	b = appendStrippedInt(b, o.DealStock, m.StockPrec)
	b = append(b, `","deal_money":"`...)
	b = appendStripped(b, &o.DealMoney, m.MoneyAsset.PrecSave)
	b = append(b, `","deal_fee":"`...)
	if o.Side == messages.Bid {
		b = appendStripped(b, &o.DealFee, m.StockAsset.PrecSave)
	} else {
		b = appendStripped(b, &o.DealFee, m.MoneyAsset.PrecSave)
	}
	b = append(b, '"')
	return appendOptions(b, m, o)
}

// appendOptions appends the order's Bourse options (README "Order
// options"), each only when it is not the default, so that an order placed
// through viabtc's methods prints exactly as viabtc prints it; and the
// closing brace.
func appendOptions(b []byte, m *config.Market, o *messages.Order) []byte {
	if o.ClientID != "" {
		b = append(b, `,"client_id":`...)
		b = appendString(b, o.ClientID)
	}
	if o.StopPrice != 0 {
		b = append(b, `,"stop_price":"`...)
		b = appendStrippedInt(b, o.StopPrice, m.MoneyPrec)
		b = append(b, `","triggered":`...)
		b = strconv.AppendBool(b, o.Triggered)
	}
	if o.TIF != messages.GTC {
		b = append(b, `,"time_in_force":"`...)
		b = append(b, o.TIF.String()...)
		b = append(b, '"')
	}
	if o.PostOnly {
		b = append(b, `,"post_only":true`...)
	}
	if o.STP != messages.STPDefault {
		b = append(b, `,"stp":"`...)
		b = append(b, o.STP.String()...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendDigits appends the decimal digits of u (uint64 fast path).
func appendDigits(b []byte, u *uint256.Int) []byte {
	if u.IsUint64() {
		return strconv.AppendUint(b, u.Uint64(), 10)
	}
	return append(b, u.Dec()...)
}

// appendRaw appends u units of 10^-scale in plain notation with exactly
// scale fractional digits ("raw", docs/protocol.md D2): 1500 at scale 3 is
// "1.500", 0 at scale 2 is "0.00", 7 at scale 0 is "7".
func appendRaw(b []byte, u *uint256.Int, scale int) []byte {
	var tmp [80]byte
	d := appendDigits(tmp[:0], u)
	if scale <= 0 {
		return append(b, d...)
	}
	if len(d) > scale {
		b = append(b, d[:len(d)-scale]...)
		d = d[len(d)-scale:]
	} else {
		b = append(b, '0')
	}
	b = append(b, '.')
	for i := len(d); i < scale; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendRawInt is appendRaw for a non-negative int64 (prices, amounts).
func appendRawInt(b []byte, v int64, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	u := uint256.NewInt(uint64(v))
	return appendRaw(b, u, scale)
}

// appendStripped appends u units of 10^-scale in plain notation, trailing
// fractional zeros and a trailing point removed (fixed.Format's format).
func appendStripped(b []byte, u *uint256.Int, scale int) []byte {
	b = appendRaw(b, u, scale)
	if scale <= 0 {
		return b
	}
	end := len(b)
	for b[end-1] == '0' {
		end--
	}
	if b[end-1] == '.' {
		end-- // the '.' stops the loop: the integer part stays whole
	}
	return b[:end]
}

// appendStrippedInt is appendStripped for an int64.
func appendStrippedInt(b []byte, v int64, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	u := uint256.NewInt(uint64(v))
	return appendStripped(b, u, scale)
}

// appendTime appends Unix microseconds as a JSON real of seconds with
// trailing fractional zeros removed but one fractional digit kept:
// 1700000000123450 → 1700000000.12345, 1700000000000000 → 1700000000.0.
func appendTime(b []byte, us int64) []byte {
	u := uint64(us)
	if us < 0 {
		b = append(b, '-')
		u = -u
	}
	b = strconv.AppendUint(b, u/1_000_000, 10)
	b = append(b, '.')
	frac := u % 1_000_000
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 6
	for n > 1 && d[n-1] == '0' {
		n--
	}
	return append(b, d[:n]...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: '"', '\' and control characters
// escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
