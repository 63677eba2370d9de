package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	"github.com/holiman/uint256"
)

// ErrCorrupt reports state bytes that do not decode.
var ErrCorrupt = errors.New("snapshot: corrupt state")

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = ErrCorrupt
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u256() (u uint256.Int) {
	n := r.bytes(1)
	if r.err != nil || n[0] > 32 {
		r.err = ErrCorrupt
		return u
	}
	u.SetBytes(r.bytes(uint64(n[0])))
	return u
}

// LoadBook restores into an empty book the state corestate.AppendBook
// wrote.
func LoadBook(data []byte, b *book.Book) error { return LoadBookVersion(data, codec.Version, b) }

// LoadBookVersion restores into an empty book the state
// corestate.AppendBook of codec version v wrote (version 1 had neither stop
// orders, last price nor dead-man's switches).
func LoadBookVersion(data []byte, v byte, b *book.Book) error {
	r := &reader{b: data}
	if m := r.uvarint(); r.err == nil && m != uint64(b.Config().Market) {
		return fmt.Errorf("%w: book of market %d, want %d", ErrCorrupt, m, b.Config().Market)
	}
	orderSeq, dealSeq := r.uvarint(), r.uvarint()
	n := r.uvarint()
	b.Grow(int(min(n, uint64(len(r.b)/17)))) // an order takes ≥ 17 bytes
	for i := uint64(0); i < n && r.err == nil; i++ {
		var o messages.Order
		rest, err := codec.DecodeOrder(r.b, v, &o)
		if err != nil {
			return fmt.Errorf("%w: order %d: %v", ErrCorrupt, i, err)
		}
		r.b = rest
		b.Restore(o)
	}
	if v >= 2 {
		b.SetLastPrice(r.varint())
		n := r.uvarint()
		for i := uint64(0); i < n && r.err == nil; i++ {
			user, deadline := r.uvarint(), r.varint()
			if user > 1<<32-1 {
				r.err = ErrCorrupt
			} else if r.err == nil {
				b.RestoreDeadline(uint32(user), deadline)
			}
		}
		if r.err == nil && len(r.b) == 1 && r.b[0] == 1 {
			b.SetHalted(true)
			r.b = r.b[1:]
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrCorrupt
	}
	b.SetSeqs(orderSeq, dealSeq)
	return r.err
}

// LoadLedger restores into an empty ledger the state corestate.AppendLedger
// wrote.
func LoadLedger(data []byte, l *ledger.Ledger) error {
	r := &reader{b: data}
	assets := l.Config().Assets
	n := r.uvarint()
	// Each account takes at least 1 + 2×assets bytes, each key 5: a count
	// the data cannot hold is corruption, found below, not a size to reserve.
	l.Grow(int(min(n, uint64(len(r.b)/(1+2*max(assets, 1))))), 0)
	bal := make([]messages.Balance, assets)
	for i := uint64(0); i < n && r.err == nil; i++ {
		user := r.uvarint()
		for a := range bal {
			bal[a].Available = r.u256()
			bal[a].Frozen = r.u256()
		}
		if r.err == nil && user <= 1<<32-1 {
			l.Restore(uint32(user), bal)
		}
	}
	n = r.uvarint()
	l.Grow(0, int(min(n, uint64(len(r.b)/5))))
	var business string
	for i := uint64(0); i < n && r.err == nil; i++ {
		user, asset := r.uvarint(), r.uvarint()
		if b := r.bytes(r.uvarint()); string(b) != business {
			business = string(b) // most keys share a few business names
		}
		id, at := r.uvarint(), r.varint()
		if r.err == nil {
			l.RestoreKey(uint32(user), messages.AssetID(asset), business, id, at)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrCorrupt
	}
	return r.err
}
