package marketdata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	"github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/holiman/uint256"
)

// CheckpointName is the memory store's checkpoint file in its directory.
const CheckpointName = "marketdata.ckpt"

// Checkpoint magics: version 2 adds the journal mark after the magic.
var (
	ckptMagic   = []byte("BOURSMD2")
	ckptMagicV1 = []byte("BOURSMD1")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a checkpoint that does not decode.
var ErrCorrupt = errors.New("marketdata: corrupt checkpoint")

// errLayout reports a checkpoint made for other market precisions.
var errLayout = errors.New("marketdata: checkpoint made with other market precisions")

// Encode serialises the whole model: magic, the journal mark (length and
// bytes), then LSN, horizon and per
// market its name, precisions, last price, the four bucket series and the
// kept deals, then the CRC-32C of everything after the magic.
func (m *Model) Encode() []byte {
	n := 64
	for _, mk := range m.markets {
		for _, s := range mk.series {
			n += len(s) * 48
		}
		n += len(mk.deals) * 24
	}
	b := append(make([]byte, 0, n), ckptMagic...)
	b = binary.AppendUvarint(b, uint64(len(m.mark)))
	b = append(b, m.mark...)
	b = binary.AppendUvarint(b, m.lsn)
	b = binary.AppendVarint(b, m.horizon)
	b = binary.AppendUvarint(b, uint64(len(m.markets)))
	for i, mk := range m.markets {
		cm := m.cfg.Markets[i]
		b = binary.AppendUvarint(b, uint64(len(cm.Name)))
		b = append(b, cm.Name...)
		b = binary.AppendUvarint(b, uint64(cm.StockPrec))
		b = binary.AppendUvarint(b, uint64(cm.MoneyPrec))
		b = binary.AppendUvarint(b, uint64(cm.MoneyAsset.PrecSave))
		b = binary.AppendVarint(b, mk.last)
		for _, s := range mk.series {
			b = binary.AppendUvarint(b, uint64(len(s)))
			prev := int64(0)
			for k := range s {
				c := &s[k]
				b = binary.AppendVarint(b, c.Time-prev)
				prev = c.Time
				b = binary.AppendVarint(b, c.Open)
				b = binary.AppendVarint(b, c.Close)
				b = binary.AppendVarint(b, c.High)
				b = binary.AppendVarint(b, c.Low)
				b = codec.AppendU256(b, &c.Volume)
				b = codec.AppendU256(b, &c.Deal)
			}
		}
		ds := mk.deals
		if len(ds) > m.dealsMax {
			ds = ds[len(ds)-m.dealsMax:]
		}
		b = binary.AppendUvarint(b, uint64(len(ds)))
		for _, d := range ds {
			b = binary.AppendUvarint(b, d.ID)
			b = binary.AppendVarint(b, d.Time)
			b = append(b, byte(d.Side))
			b = binary.AppendVarint(b, d.Price)
			b = binary.AppendVarint(b, d.Amount)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[len(ckptMagic):], castagnoli))
}

// Decode replaces the model's state with an encoded one. Markets are
// matched by name; a configured market missing from data starts empty, a
// market in data no longer configured is dropped. It fails with ErrCorrupt
// on damaged data and with an error wrapping errLayout when a market's
// precisions changed since (its integers would mean other values); on
// failure the model is unchanged.
func (m *Model) Decode(data []byte) error {
	if len(data) < len(ckptMagic)+4 {
		return fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	v1 := bytes.Equal(data[:len(ckptMagicV1)], ckptMagicV1)
	if !v1 && !bytes.Equal(data[:len(ckptMagic)], ckptMagic) {
		return fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body := data[len(ckptMagic) : len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	r := &reader{b: body}
	var mark string
	if !v1 {
		mark = string(r.bytes(r.uvarint()))
	}
	lsn := r.uvarint()
	horizon := r.varint()
	markets := make([]*market, len(m.markets))
	for i := range markets {
		markets[i] = &market{}
	}
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := string(r.bytes(r.uvarint()))
		stockPrec, moneyPrec, moneySave := r.uvarint(), r.uvarint(), r.uvarint()
		mk := r.marketState()
		cm := m.cfg.Market(name)
		if r.err != nil || cm == nil {
			continue
		}
		if uint64(cm.StockPrec) != stockPrec || uint64(cm.MoneyPrec) != moneyPrec || uint64(cm.MoneyAsset.PrecSave) != moneySave {
			return fmt.Errorf("%w: market %s", errLayout, name)
		}
		markets[cm.ID] = mk
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrCorrupt
	}
	if r.err != nil {
		return r.err
	}
	m.lsn, m.mark, m.horizon, m.markets = lsn, mark, horizon, markets
	m.dayLo, m.dayHi = 0, 0
	return nil
}

// marketState reads one market's last price, k-line series and deals, as
// Encode writes them after the market's name and precisions.
func (r *reader) marketState() *market {
	mk := &market{last: r.varint()}
	for res := range mk.series {
		mk.series[res] = r.series()
	}
	cnt := r.count()
	mk.deals = make([]messages.MarketDeal, 0, cnt)
	for k := uint64(0); k < cnt && r.err == nil; k++ {
		d := messages.MarketDeal{ID: r.uvarint(), Time: r.varint()}
		d.Side = messages.Side(r.byte())
		d.Price, d.Amount = r.varint(), r.varint()
		mk.deals = append(mk.deals, d)
	}
	return mk
}

// series reads one k-line series: its candles' times are delta-encoded and
// must increase.
func (r *reader) series() series {
	cnt := r.count()
	s := make(series, 0, cnt)
	prev := int64(0)
	for k := uint64(0); k < cnt && r.err == nil; k++ {
		c := messages.Candle{Time: prev + r.varint()}
		prev = c.Time
		c.Open, c.Close, c.High, c.Low = r.varint(), r.varint(), r.varint(), r.varint()
		c.Volume, c.Deal = r.u256(), r.u256()
		if k > 0 && c.Time <= s[k-1].Time {
			r.fail()
		}
		s = append(s, c)
	}
	return s
}

// WriteCheckpoint stores data (Model.Encode) as dir/CheckpointName
// atomically: a temporary file in dir, fsync, rename over the old one,
// fsync of dir.
func WriteCheckpoint(dir string, data []byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := journal.WriteFileAtomic(filepath.Join(dir, CheckpointName), data); err != nil {
		return fmt.Errorf("marketdata: %w", err)
	}
	return nil
}

// ReadCheckpoint returns the checkpoint in dir, or nil when there is none.
func ReadCheckpoint(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, CheckpointName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrCorrupt
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads an element count, refusing one larger than the bytes left
// (every element takes at least one), so damaged data cannot make Decode
// allocate much.
func (r *reader) count() uint64 {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return n
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u256() (u uint256.Int) {
	n := r.byte()
	if n > 32 {
		r.fail()
		return u
	}
	u.SetBytes(r.bytes(uint64(n)))
	return u
}
