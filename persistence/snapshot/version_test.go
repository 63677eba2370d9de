package snapshot

import (
	"encoding/binary"
	"testing"

	"github.com/bourse-exchange/bourse/actors/corestate"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
)

// TestLoadBookVersion1: a book state written before the order options
// (codec version 1: orders without options, no last price, no switches)
// restores, and re-encodes as version 2 with the options at their zero
// values.
func TestLoadBookVersion1(t *testing.T) {
	cfg := book.Config{Market: 1, Stock: 0, Money: 1, StockPrec: 8, MoneyPrec: 2, FeePrec: 4, StockSave: 12, MoneySave: 12}
	orders := []messages.Order{
		{ID: 1<<book.IDShift | 1, Market: 1, Type: messages.Limit, Side: messages.Ask, User: 7, Price: 101, Amount: 5, Left: 5, Source: "a"},
		{ID: 2<<book.IDShift | 1, Market: 1, Type: messages.Limit, Side: messages.Bid, User: 8, Price: 99, Amount: 3, Left: 2, DealStock: 1, Source: ""},
	}
	for i := range orders {
		orders[i].Frozen.SetUint64(uint64(orders[i].Left) * 1000)
	}
	v1 := binary.AppendUvarint(nil, 1) // market
	v1 = binary.AppendUvarint(v1, 2)   // order seq
	v1 = binary.AppendUvarint(v1, 9)   // deal seq
	v1 = binary.AppendUvarint(v1, uint64(len(orders)))
	const options = 6 // what version 2 appends to an order without options
	for i := range orders {
		b := codec.AppendOrder(nil, &orders[i])
		v1 = append(v1, b[:len(b)-options]...)
	}
	b := book.New(cfg)
	if err := LoadBookVersion(v1, 1, b); err != nil {
		t.Fatal(err)
	}
	var got []messages.Order
	b.EachOrder(func(o *messages.Order) { got = append(got, *o) })
	if len(got) != 2 || got[0] != orders[0] || got[1] != orders[1] || b.LastPrice() != 0 {
		t.Fatalf("restored %+v", got)
	}
	if err := LoadBookVersion(v1, 2, book.New(cfg)); err == nil {
		t.Fatal("version 1 state decoded as version 2")
	}
	again := book.New(cfg)
	if err := LoadBook(corestate.AppendBook(nil, b), again); err != nil {
		t.Fatal(err)
	}
	if string(corestate.AppendBook(nil, again)) != string(corestate.AppendBook(nil, b)) {
		t.Fatal("version 2 round trip differs")
	}
}
