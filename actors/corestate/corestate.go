// Package corestate encodes the state of the pure cores deterministically: the
// bytes the state hash is taken over (live, replayed and restored state must
// hash the same) and that snapshot files hold (persistence/snapshot, which
// also restores them). Like the cores it is pure: no I/O, no clock.
package corestate

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"

	"github.com/bourse-exchange/bourse/actors/balance/ledger"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
)

// Typical encoded sizes, to size the output once: an order (a few dozen
// bytes of varints, three uint256, its source) and one uint256 balance.
const (
	orderBytes   = 64
	accountBytes = 6
)

// AppendBook appends a book's state: its market, id counters, every open
// order (the resting ones in matching priority, side by side, best first,
// FIFO; then the held stop orders, oldest first), the last trade price, the
// armed dead-man's switches by user, and a byte 1 if the market is halted
// (market.halt; nothing if not).
func AppendBook(b []byte, bk *book.Book) []byte {
	order, deal := bk.Seqs()
	b = binary.AppendUvarint(b, uint64(bk.Config().Market))
	b = binary.AppendUvarint(b, order)
	b = binary.AppendUvarint(b, deal)
	n := 0
	bk.EachOrder(func(*messages.Order) { n++ })
	b = binary.AppendUvarint(b, uint64(n))
	b = slices.Grow(b, n*orderBytes)
	bk.EachOrder(func(o *messages.Order) { b = codec.AppendOrder(b, o) })
	b = binary.AppendVarint(b, bk.LastPrice())
	n = 0
	bk.EachDeadline(func(uint32, int64) { n++ })
	b = binary.AppendUvarint(b, uint64(n))
	bk.EachDeadline(func(user uint32, deadline int64) {
		b = binary.AppendUvarint(b, uint64(user))
		b = binary.AppendVarint(b, deadline)
	})
	if bk.Halted() {
		b = append(b, 1) // only when halted: a running book's bytes are as before
	}
	return b
}

// AppendLedger appends a ledger's state: the count and list of its non-zero
// accounts by user, then the count and list of its idempotency keys oldest
// first.
func AppendLedger(b []byte, l *ledger.Ledger) []byte {
	n := 0
	l.EachSorted(func(uint32, []messages.Balance) { n++ })
	b = binary.AppendUvarint(b, uint64(n))
	b = slices.Grow(b, n*(1+2*l.Config().Assets*accountBytes))
	l.EachSorted(func(user uint32, bal []messages.Balance) {
		b = binary.AppendUvarint(b, uint64(user))
		for i := range bal {
			b = codec.AppendU256(b, &bal[i].Available)
			b = codec.AppendU256(b, &bal[i].Frozen)
		}
	})
	n = 0
	l.EachKey(func(uint32, messages.AssetID, string, uint64, int64) { n++ })
	b = binary.AppendUvarint(b, uint64(n))
	l.EachKey(func(user uint32, asset messages.AssetID, business string, id uint64, time int64) {
		b = binary.AppendUvarint(b, uint64(user))
		b = binary.AppendUvarint(b, uint64(asset))
		b = binary.AppendUvarint(b, uint64(len(business)))
		b = append(b, business...)
		b = binary.AppendUvarint(b, id)
		b = binary.AppendVarint(b, time)
	})
	return b
}

// Hash is the state hash of a whole exchange: SHA-256 over the books in
// market order, then the ledgers in shard order.
func Hash(books [][]byte, ledgers [][]byte) string {
	h := sha256.New()
	for _, part := range append(append([][]byte{}, books...), ledgers...) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}
