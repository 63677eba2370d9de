// Package codec is the journal's binary encoding of events.
//
// An encoded event is its type code (messages.EventType) followed by its
// fields in declaration order: unsigned integers as uvarints, signed ones as
// varints, booleans as one byte, strings and byte slices with a uvarint
// length, uint256 values as a length byte and that many big-endian bytes.
// The encoding is deterministic (the same event always encodes to the same
// bytes), so it also serves the state hash. Decode never panics: malformed
// input is an error.
//
// The record framing around an encoded event (length, CRC, version byte,
// LSN) belongs to the journal backends.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Version is the codec version written in every journal record and
// snapshot. Decoders read every version from MinVersion up and refuse
// others. Version 2 added the order options (Order.ClientID … STP, after
// Source) and the events StopTriggered, OrderAmended and CancelAfterSet;
// version 1 data decodes with the options at their zero values. The events
// ConfigSet (code 9) and MarketHalted (code 10) came later within version
// 2: a version-2 journal without them still decodes, and only a binary
// older than them refuses them; so with the markets' fee rates in a
// ConfigSet (configFees).
const (
	Version    = 2
	MinVersion = 1
)

// Limits on decoded variable-length fields.
const (
	MaxString = 1 << 16
)

// ErrCorrupt is returned for bytes that do not decode to an event.
var ErrCorrupt = errors.New("codec: corrupt event")

// Append appends the encoding of ev to b.
func Append(b []byte, ev messages.Event) []byte {
	b = append(b, byte(ev.Type()))
	switch e := ev.(type) {
	case *messages.BalanceUpdated:
		b = appendBalanceUpdated(b, e)
	case *messages.OrderPlaced:
		b = AppendOrder(b, &e.Order)
		b = binary.AppendUvarint(b, uint64(e.FrozenAsset))
	case *messages.Trade:
		b = appendTrade(b, e)
	case *messages.OrderRested:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = binary.AppendUvarint(b, e.OrderID)
		b = binary.AppendVarint(b, e.Time)
	case *messages.OrderFinished:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = binary.AppendUvarint(b, e.OrderID)
		b = binary.AppendUvarint(b, uint64(e.User))
		b = binary.AppendVarint(b, e.Time)
		b = appendBool(b, e.Cancelled)
		b = binary.AppendUvarint(b, uint64(e.Asset))
		b = AppendU256(b, &e.Release)
	case *messages.StopTriggered:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = binary.AppendUvarint(b, e.OrderID)
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendVarint(b, e.Price)
	case *messages.OrderAmended:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = binary.AppendUvarint(b, e.OrderID)
		b = binary.AppendUvarint(b, uint64(e.User))
		b = binary.AppendVarint(b, e.Time)
		b = binary.AppendVarint(b, e.Amount)
		b = binary.AppendVarint(b, e.Left)
		b = binary.AppendUvarint(b, uint64(e.Asset))
		b = AppendU256(b, &e.Release)
	case *messages.CancelAfterSet:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = binary.AppendUvarint(b, uint64(e.User))
		b = binary.AppendVarint(b, e.Deadline)
		b = binary.AppendVarint(b, e.Time)
	case *messages.ConfigSet:
		b = appendConfigSet(b, e)
	case *messages.MarketHalted:
		b = binary.AppendUvarint(b, uint64(e.Market))
		b = appendBool(b, e.Halted)
		b = binary.AppendVarint(b, e.Time)
	default:
		panic(fmt.Sprintf("codec: unknown event %T", ev))
	}
	return b
}

// appendBalanceUpdated and appendTrade append an event's fields, type byte
// excluded.
func appendBalanceUpdated(b []byte, e *messages.BalanceUpdated) []byte {
	b = binary.AppendUvarint(b, uint64(e.User))
	b = binary.AppendUvarint(b, uint64(e.Asset))
	b = appendString(b, e.Business)
	b = binary.AppendUvarint(b, e.BusinessID)
	b = AppendU256(b, &e.Change)
	b = appendBool(b, e.Negative)
	b = appendString(b, string(e.Detail))
	b = binary.AppendVarint(b, e.Time)
	return b
}

func appendTrade(b []byte, e *messages.Trade) []byte {
	b = binary.AppendUvarint(b, uint64(e.Market))
	b = binary.AppendUvarint(b, e.DealID)
	b = binary.AppendVarint(b, e.Time)
	b = append(b, byte(e.TakerSide))
	b = binary.AppendUvarint(b, e.AskOrder)
	b = binary.AppendUvarint(b, e.BidOrder)
	b = binary.AppendUvarint(b, uint64(e.AskUser))
	b = binary.AppendUvarint(b, uint64(e.BidUser))
	b = binary.AppendVarint(b, e.Price)
	b = binary.AppendVarint(b, e.Amount)
	b = binary.AppendUvarint(b, uint64(e.Stock))
	b = binary.AppendUvarint(b, uint64(e.Money))
	b = AppendU256(b, &e.StockQty)
	b = AppendU256(b, &e.Deal)
	b = AppendU256(b, &e.AskFee)
	b = AppendU256(b, &e.BidFee)
	b = AppendU256(b, &e.BidFrozen)
	return b
}

// AppendOrder appends the encoding of an order (used by OrderPlaced and by
// snapshots).
func AppendOrder(b []byte, o *messages.Order) []byte {
	b = binary.AppendUvarint(b, o.ID)
	b = binary.AppendUvarint(b, uint64(o.Market))
	b = append(b, byte(o.Type), byte(o.Side))
	b = binary.AppendUvarint(b, uint64(o.User))
	b = binary.AppendVarint(b, o.CTime)
	b = binary.AppendVarint(b, o.MTime)
	b = binary.AppendVarint(b, o.Price)
	b = binary.AppendVarint(b, o.Amount)
	b = binary.AppendVarint(b, o.TakerFee)
	b = binary.AppendVarint(b, o.MakerFee)
	b = binary.AppendVarint(b, o.Left)
	b = binary.AppendVarint(b, o.DealStock)
	b = AppendU256(b, &o.DealMoney)
	b = AppendU256(b, &o.DealFee)
	b = AppendU256(b, &o.Frozen)
	b = appendString(b, o.Source)
	b = appendString(b, o.ClientID)
	b = binary.AppendVarint(b, o.StopPrice)
	b = appendBool(b, o.Triggered)
	b = append(b, byte(o.TIF))
	b = appendBool(b, o.PostOnly)
	return append(b, byte(o.STP))
}

func appendConfigSet(b []byte, e *messages.ConfigSet) []byte {
	b = binary.AppendUvarint(b, uint64(e.FeeUser))
	b = binary.AppendUvarint(b, uint64(e.Shards))
	b = binary.AppendUvarint(b, uint64(len(e.Assets)))
	for _, a := range e.Assets {
		b = appendString(b, a.Name)
		b = append(b, a.PrecSave, a.PrecShow)
	}
	if e.Fees {
		b = binary.AppendUvarint(b, configFees)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Markets)))
	for _, m := range e.Markets {
		b = appendString(b, m.Name)
		b = binary.AppendUvarint(b, uint64(m.Stock))
		b = binary.AppendUvarint(b, uint64(m.Money))
		b = append(b, m.StockPrec, m.MoneyPrec, m.FeePrec)
		b = binary.AppendVarint(b, m.MinAmount)
		b = binary.AppendUvarint(b, uint64(m.MaxOpenOrders))
		b = append(b, byte(m.STP))
		if e.Fees {
			b = binary.AppendVarint(b, m.MakerFee)
			b = binary.AppendVarint(b, m.TakerFee)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendU256 appends a uint256 as a length byte and its big-endian bytes.
func AppendU256(b []byte, u *uint256.Int) []byte {
	n := (u.BitLen() + 7) / 8
	b = append(b, byte(n))
	var buf [32]byte
	u.WriteToArray32(&buf)
	return append(b, buf[32-n:]...)
}

// Decode decodes one event of the current Version that fills b exactly.
func Decode(b []byte) (messages.Event, error) { return DecodeVersion(b, Version) }

// DecodeVersion decodes one event written by codec version v that fills b
// exactly.
func DecodeVersion(b []byte, v byte) (messages.Event, error) {
	if v < MinVersion || v > Version {
		return nil, fmt.Errorf("codec: unknown version %d", v)
	}
	r := reader{b: b, v: v}
	ev := r.event()
	if r.err == nil && r.i != len(r.b) {
		r.err = ErrCorrupt
	}
	if r.err != nil {
		return nil, r.err
	}
	return ev, nil
}

type reader struct {
	b   []byte
	i   int
	v   byte // the codec version being read
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrCorrupt
	}
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 || v > max {
		r.fail()
		return 0
	}
	r.i += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.i:])
	if n <= 0 {
		r.fail()
		return 0
	}
	r.i += n
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || r.i >= len(r.b) {
		r.fail()
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *reader) bool() bool {
	switch r.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *reader) bytes() []byte {
	n := int(r.uvarint(MaxString))
	if r.err != nil || r.i+n > len(r.b) {
		r.fail()
		return nil
	}
	r.i += n
	return r.b[r.i-n : r.i]
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) u256() (u uint256.Int) {
	n := int(r.byte())
	if r.err != nil || n > 32 || r.i+n > len(r.b) || (n > 0 && r.b[r.i] == 0) {
		r.fail()
		return u
	}
	u.SetBytes(r.b[r.i : r.i+n])
	r.i += n
	return u
}

func (r *reader) u32() uint32 { return uint32(r.uvarint(1<<32 - 1)) }
func (r *reader) u16() uint16 { return uint16(r.uvarint(1<<16 - 1)) }
func (r *reader) u64() uint64 { return r.uvarint(1<<64 - 1) }

func (r *reader) side() messages.Side {
	s := messages.Side(r.byte())
	if s != messages.Ask && s != messages.Bid {
		r.fail()
	}
	return s
}

func (r *reader) event() messages.Event {
	typ := messages.EventType(r.byte())
	switch typ {
	case messages.TypeBalanceUpdated:
		return r.balanceUpdated()
	case messages.TypeOrderPlaced:
		return r.orderPlaced()
	case messages.TypeTrade:
		return r.trade()
	case messages.TypeOrderRested:
		return r.orderRested()
	case messages.TypeOrderFinished:
		return r.orderFinished()
	}
	if r.v < 2 {
		r.fail()
		return nil
	}
	switch typ {
	case messages.TypeStopTriggered:
		return r.stopTriggered()
	case messages.TypeOrderAmended:
		return r.orderAmended()
	case messages.TypeCancelAfterSet:
		return r.cancelAfterSet()
	case messages.TypeConfigSet:
		return r.configSet()
	case messages.TypeMarketHalted:
		return r.marketHalted()
	}
	r.fail()
	return nil
}

// balanceUpdated and the methods below it read one event each, after its
// type byte, in the field order Append writes.
func (r *reader) balanceUpdated() *messages.BalanceUpdated {
	e := &messages.BalanceUpdated{}
	e.User = r.u32()
	e.Asset = messages.AssetID(r.u16())
	e.Business = r.string()
	e.BusinessID = r.u64()
	e.Change = r.u256()
	e.Negative = r.bool()
	if d := r.bytes(); len(d) > 0 {
		e.Detail = append([]byte(nil), d...)
	}
	e.Time = r.varint()
	return e
}

func (r *reader) orderPlaced() *messages.OrderPlaced {
	e := &messages.OrderPlaced{}
	r.order(&e.Order)
	e.FrozenAsset = messages.AssetID(r.u16())
	return e
}

func (r *reader) trade() *messages.Trade {
	e := &messages.Trade{}
	e.Market = messages.MarketID(r.u16())
	e.DealID = r.u64()
	e.Time = r.varint()
	e.TakerSide = r.side()
	e.AskOrder = r.u64()
	e.BidOrder = r.u64()
	e.AskUser = r.u32()
	e.BidUser = r.u32()
	e.Price = r.varint()
	e.Amount = r.varint()
	e.Stock = messages.AssetID(r.u16())
	e.Money = messages.AssetID(r.u16())
	e.StockQty = r.u256()
	e.Deal = r.u256()
	e.AskFee = r.u256()
	e.BidFee = r.u256()
	e.BidFrozen = r.u256()
	return e
}

func (r *reader) orderRested() *messages.OrderRested {
	e := &messages.OrderRested{}
	e.Market = messages.MarketID(r.u16())
	e.OrderID = r.u64()
	e.Time = r.varint()
	return e
}

func (r *reader) orderFinished() *messages.OrderFinished {
	e := &messages.OrderFinished{}
	e.Market = messages.MarketID(r.u16())
	e.OrderID = r.u64()
	e.User = r.u32()
	e.Time = r.varint()
	e.Cancelled = r.bool()
	e.Asset = messages.AssetID(r.u16())
	e.Release = r.u256()
	return e
}

func (r *reader) stopTriggered() *messages.StopTriggered {
	e := &messages.StopTriggered{}
	e.Market = messages.MarketID(r.u16())
	e.OrderID = r.u64()
	e.Time = r.varint()
	e.Price = r.varint()
	return e
}

func (r *reader) orderAmended() *messages.OrderAmended {
	e := &messages.OrderAmended{}
	e.Market = messages.MarketID(r.u16())
	e.OrderID = r.u64()
	e.User = r.u32()
	e.Time = r.varint()
	e.Amount = r.varint()
	e.Left = r.varint()
	e.Asset = messages.AssetID(r.u16())
	e.Release = r.u256()
	return e
}

func (r *reader) cancelAfterSet() *messages.CancelAfterSet {
	e := &messages.CancelAfterSet{}
	e.Market = messages.MarketID(r.u16())
	e.User = r.u32()
	e.Deadline = r.varint()
	e.Time = r.varint()
	return e
}

func (r *reader) marketHalted() *messages.MarketHalted {
	e := &messages.MarketHalted{}
	e.Market = messages.MarketID(r.u16())
	e.Halted = r.bool()
	e.Time = r.varint()
	return e
}

// configFees, where a ConfigSet's market count starts, says that the count
// follows and that each market ends with its MakerFee and TakerFee
// (varints): ConfigSet.Fees. It is above any count (maxSpecMarkets), so a
// ConfigSet written before the fee rates were recorded, which starts with
// the count, decodes with Fees false. (Within version 2, as ConfigSet
// itself: see Version.)
const configFees = maxSpecMarkets + 1

// Limits on a decoded ConfigSet (the configuration's own limits are
// smaller: internal/config).
const (
	maxSpecAssets  = 1 << 16
	maxSpecMarkets = 1 << 16
)

func (r *reader) configSet() *messages.ConfigSet {
	e := &messages.ConfigSet{FeeUser: r.u32(), Shards: r.u32()}
	n := r.uvarint(maxSpecAssets)
	if r.err == nil && n > uint64(len(r.b)-r.i) {
		r.fail() // each asset takes at least one byte
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		e.Assets = append(e.Assets, messages.AssetSpec{Name: r.string(), PrecSave: r.byte(), PrecShow: r.byte()})
	}
	n = r.uvarint(configFees)
	if n == configFees {
		e.Fees = true
		n = r.uvarint(maxSpecMarkets)
	}
	if r.err == nil && (n > maxSpecMarkets || n > uint64(len(r.b)-r.i)) {
		r.fail()
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		m := messages.MarketSpec{Name: r.string()}
		m.Stock = messages.AssetID(r.u16())
		m.Money = messages.AssetID(r.u16())
		m.StockPrec, m.MoneyPrec, m.FeePrec = r.byte(), r.byte(), r.byte()
		m.MinAmount = r.varint()
		m.MaxOpenOrders = r.u64()
		m.STP = messages.STP(r.byte())
		if m.STP > messages.STPCancelBoth {
			r.fail()
		}
		if e.Fees {
			m.MakerFee, m.TakerFee = r.varint(), r.varint()
			if m.MakerFee < 0 || m.TakerFee < 0 {
				r.fail()
			}
		}
		e.Markets = append(e.Markets, m)
	}
	if r.err != nil {
		return nil
	}
	return e
}

// DecodeOrder decodes an order written by AppendOrder of codec version v
// from the start of b and returns the bytes after it.
func DecodeOrder(b []byte, v byte, o *messages.Order) ([]byte, error) {
	if v < MinVersion || v > Version {
		return nil, fmt.Errorf("codec: unknown version %d", v)
	}
	r := reader{b: b, v: v}
	r.order(o)
	if r.err != nil {
		return nil, r.err
	}
	return b[r.i:], nil
}

func (r *reader) order(o *messages.Order) {
	o.ID = r.u64()
	o.Market = messages.MarketID(r.u16())
	o.Type = messages.OrderType(r.byte())
	if o.Type != messages.Limit && o.Type != messages.Market {
		r.fail()
	}
	o.Side = r.side()
	o.User = r.u32()
	o.CTime = r.varint()
	o.MTime = r.varint()
	o.Price = r.varint()
	o.Amount = r.varint()
	o.TakerFee = r.varint()
	o.MakerFee = r.varint()
	o.Left = r.varint()
	o.DealStock = r.varint()
	o.DealMoney = r.u256()
	o.DealFee = r.u256()
	o.Frozen = r.u256()
	o.Source = r.string()
	if r.v < 2 {
		return
	}
	o.ClientID = r.string()
	o.StopPrice = r.varint()
	o.Triggered = r.bool()
	o.TIF = messages.TimeInForce(r.byte())
	o.PostOnly = r.bool()
	o.STP = messages.STP(r.byte())
	if o.TIF > messages.FOK || o.STP > messages.STPCancelBoth || o.StopPrice < 0 || (o.Triggered && o.StopPrice == 0) {
		r.fail()
	}
}
