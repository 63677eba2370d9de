package codec

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

func big(s string) uint256.Int {
	var u uint256.Int
	if err := u.SetFromDecimal(s); err != nil {
		panic(err)
	}
	return u
}

func sampleEvents() []messages.Event {
	o := messages.Order{
		ID: 5<<10 | 3, Market: 3, Type: messages.Limit, Side: messages.Bid, User: math.MaxUint32,
		CTime: 1700000000123456, MTime: -1, Price: math.MaxInt64, Amount: 1, TakerFee: 20, MakerFee: 10,
		Left: 0, DealStock: 7, DealMoney: big("123456789012345678901234567890"), DealFee: big("0"),
		Frozen: big("115792089237316195423570985008687907853269984665640564039457584007913129639935"), Source: "web",
	}
	return []messages.Event{
		&messages.BalanceUpdated{User: 1, Asset: 2, Business: "deposit", BusinessID: math.MaxUint64, Change: big("1000000000000"), Negative: true, Detail: []byte(`{"id":1}`), Time: 42},
		&messages.BalanceUpdated{User: 9, Asset: 0, Business: "x", Change: big("0")},
		&messages.OrderPlaced{Order: o, FrozenAsset: 1},
		&messages.Trade{Market: 1, DealID: 9, Time: 3, TakerSide: messages.Ask, AskOrder: 1, BidOrder: 2, AskUser: 3, BidUser: 4,
			Price: 100, Amount: 200, Stock: 0, Money: 2, StockQty: big("1"), Deal: big("2"), AskFee: big("3"), BidFee: big("4"), BidFrozen: big("5")},
		&messages.OrderRested{Market: 65535, OrderID: 77, Time: math.MinInt64},
		&messages.OrderFinished{Market: 2, OrderID: 8, User: 6, Time: 5, Cancelled: true, Asset: 1, Release: big("99")},
		&messages.OrderPlaced{Order: withOptions(o), FrozenAsset: 2},
		&messages.StopTriggered{Market: 4, OrderID: 1 << 40, Time: 6, Price: math.MaxInt64},
		&messages.OrderAmended{Market: 1, OrderID: 2, User: 3, Time: -4, Amount: 5, Left: 1, Asset: 7, Release: big("123456789")},
		&messages.CancelAfterSet{Market: 2, User: math.MaxUint32, Deadline: 1700000000000000, Time: 1699999999000000},
		&messages.CancelAfterSet{Market: 2, User: 1},
		&messages.ConfigSet{FeeUser: math.MaxUint32, Shards: 4096,
			Assets: []messages.AssetSpec{{Name: "BTC", PrecSave: 12, PrecShow: 8}, {Name: "USDT", PrecSave: 36, PrecShow: 0}},
			Markets: []messages.MarketSpec{{Name: "BTCUSDT", Stock: 0, Money: 1, StockPrec: 8, MoneyPrec: 2, FeePrec: 4,
				MinAmount: 10000, MaxOpenOrders: math.MaxUint64, STP: messages.STPCancelBoth}}},
		&messages.ConfigSet{},
		&messages.ConfigSet{FeeUser: 7, Shards: 4, Fees: true,
			Assets: []messages.AssetSpec{{Name: "BTC", PrecSave: 12, PrecShow: 8}, {Name: "USDT", PrecSave: 12, PrecShow: 8}},
			Markets: []messages.MarketSpec{
				{Name: "BTCUSDT", Stock: 0, Money: 1, StockPrec: 8, MoneyPrec: 2, FeePrec: 4, MinAmount: 10000, MakerFee: 10, TakerFee: 9999},
				{Name: "USDTBTC", Stock: 1, Money: 0, StockPrec: 2, MoneyPrec: 8, FeePrec: 18, MakerFee: math.MaxInt64}}},
		&messages.ConfigSet{Fees: true},
		&messages.MarketHalted{Market: 3, Halted: true, Time: 1700000000000000},
		&messages.MarketHalted{Market: 0},
	}
}

func withOptions(o messages.Order) messages.Order {
	o.ClientID, o.StopPrice, o.Triggered = "client-1", 12345, true
	o.TIF, o.PostOnly, o.STP = messages.FOK, true, messages.STPCancelBoth
	return o
}

// TestVersion1 decodes the bytes version 1 wrote for an order (without the
// options) and refuses the events version 1 did not have.
func TestVersion1(t *testing.T) {
	ev := sampleEvents()[2].(*messages.OrderPlaced)
	v2 := Append(nil, ev)
	// Version 2 appends the options after Source, before FrozenAsset:
	// client id (1 byte length), stop price, triggered, TIF, post-only, STP.
	opts := 1 + 1 + 1 + 1 + 1 + 1
	tail := v2[len(v2)-1:] // FrozenAsset, one uvarint byte
	v1 := append(append([]byte(nil), v2[:len(v2)-1-opts]...), tail...)
	got, err := DecodeVersion(v1, 1)
	if err != nil || !reflect.DeepEqual(got, ev) {
		t.Fatalf("version 1 order: %v %+v", err, got)
	}
	if _, err := DecodeVersion(v2, 1); err == nil {
		t.Fatal("version 2 bytes decoded as version 1")
	}
	for _, ev := range sampleEvents()[7:] {
		if _, err := DecodeVersion(Append(nil, ev), 1); err == nil {
			t.Errorf("%T decoded as version 1", ev)
		}
	}
	for _, v := range []byte{0, Version + 1} {
		if _, err := DecodeVersion(v2, v); err == nil {
			t.Errorf("version %d accepted", v)
		}
	}
}

// TestBadOptions: option values out of range are corrupt, not decoded.
func TestBadOptions(t *testing.T) {
	for _, mod := range []func(*messages.Order){
		func(o *messages.Order) { o.TIF = messages.FOK + 1 },
		func(o *messages.Order) { o.STP = messages.STPCancelBoth + 1 },
		func(o *messages.Order) { o.StopPrice = -1 },
		func(o *messages.Order) { o.StopPrice, o.Triggered = 0, true },
	} {
		o := withOptions(sampleEvents()[2].(*messages.OrderPlaced).Order)
		mod(&o)
		if _, err := Decode(Append(nil, &messages.OrderPlaced{Order: o})); err == nil {
			t.Errorf("order %+v decoded", o)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, ev := range sampleEvents() {
		b := Append(nil, ev)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("round trip of %T:\n got %+v\nwant %+v", ev, got, ev)
		}
		if again := Append(nil, got); !bytes.Equal(again, b) {
			t.Errorf("%T: encoding is not deterministic", ev)
		}
		// Every strict prefix is an error, never a panic.
		for i := 0; i < len(b); i++ {
			if _, err := Decode(b[:i]); err == nil {
				t.Errorf("%T: prefix of %d bytes decoded", ev, i)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, ev := range sampleEvents() {
		f.Add(Append(nil, ev))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := Decode(b)
		if err != nil {
			return
		}
		if again := Append(nil, ev); !bytes.Equal(again, b) {
			// Varints have one canonical form only when minimal; a
			// non-minimal input may decode. It must then re-decode to
			// the same event.
			ev2, err := Decode(again)
			if err != nil || !reflect.DeepEqual(ev, ev2) {
				t.Fatalf("re-encoding changed the event")
			}
		}
	})
}

// TestConfigSetBeforeFees decodes a ConfigSet in the format written before
// the markets' fee rates were recorded (the bytes built here field by
// field, as that encoder wrote them): it decodes with Fees false and the
// rates 0, and encodes back to the same bytes; the current format of the
// same configuration with Fees differs and keeps its rates.
func TestConfigSetBeforeFees(t *testing.T) {
	old := []byte{byte(messages.TypeConfigSet),
		7,                       // FeeUser
		4,                       // Shards
		2,                       // assets
		3, 'B', 'T', 'C', 12, 8, // name, prec_save, prec_show
		4, 'U', 'S', 'D', 'T', 12, 8, //
		1,                                    // markets
		7, 'B', 'T', 'C', 'U', 'S', 'D', 'T', // name
		0, 1, // stock, money
		8, 2, 4, // stock_prec, money_prec, fee_prec
		0xa0, 0x9c, 0x01, // min_amount 10000 (zigzag varint)
		0x80, 0x08, // max_open_orders 1024
		2, // stp
	}
	want := &messages.ConfigSet{FeeUser: 7, Shards: 4,
		Assets: []messages.AssetSpec{{Name: "BTC", PrecSave: 12, PrecShow: 8}, {Name: "USDT", PrecSave: 12, PrecShow: 8}},
		Markets: []messages.MarketSpec{{Name: "BTCUSDT", Stock: 0, Money: 1, StockPrec: 8, MoneyPrec: 2, FeePrec: 4,
			MinAmount: 10000, MaxOpenOrders: 1024, STP: 2}}}
	got, err := Decode(old)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("old-format ConfigSet: %v %+v; want %+v", err, got, want)
	}
	if again := Append(nil, got); !bytes.Equal(again, old) {
		t.Errorf("old-format ConfigSet re-encodes as % x; want % x", again, old)
	}
	withFees := *want
	withFees.Fees = true
	withFees.Markets = []messages.MarketSpec{want.Markets[0]}
	withFees.Markets[0].MakerFee, withFees.Markets[0].TakerFee = 10, 20
	b := Append(nil, &withFees)
	if bytes.Equal(b, old) {
		t.Fatal("a ConfigSet with fee rates encodes as the old format")
	}
	if got, err := Decode(b); err != nil || !reflect.DeepEqual(got, &withFees) {
		t.Errorf("ConfigSet with fee rates: %v %+v", err, got)
	}
	// A negative rate is corrupt.
	withFees.Markets[0].TakerFee = -1
	if _, err := Decode(Append(nil, &withFees)); err == nil {
		t.Error("a negative fee rate decoded")
	}
}
