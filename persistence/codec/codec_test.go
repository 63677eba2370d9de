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
