package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bourse-exchange/bourse/messages/codec"
	"github.com/holiman/uint256"
)

// File is one snapshot: the whole exchange's state as of journal LSN. Books
// and Ledgers hold corestate.AppendBook / AppendLedger bytes in market and shard
// order. Fingerprint identifies the configuration layout the state belongs
// to; Config, in snapshots that have it, is that configuration itself: a
// codec-encoded messages.ConfigSet. Deposits and Withdrawals are the
// per-asset sums of every balance update up to LSN (for the conservation
// check).
type File struct {
	// Version is the codec version the parts were written with; 0 means
	// codec.Version.
	Version               byte
	LSN                   uint64
	Fingerprint           [32]byte
	Deposits, Withdrawals []uint256.Int
	Books, Ledgers        [][]byte
	// Config is empty in snapshots written before the configuration was
	// durable; it is encoded after the ledgers, so those still decode.
	Config []byte
}

// magic starts a snapshot file; its last byte is the codec version.
var magic = []byte("BOURSNP2")

// CodecVersion is the codec version of f's parts.
func (f *File) CodecVersion() byte {
	if f.Version == 0 {
		return codec.Version
	}
	return f.Version
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Encode serialises f: magic, body, CRC-32C of the body.
func (f *File) Encode() []byte {
	b := append([]byte(nil), magic[:len(magic)-1]...)
	b = append(b, '0'+f.CodecVersion())
	b = binary.AppendUvarint(b, f.LSN)
	b = append(b, f.Fingerprint[:]...)
	b = binary.AppendUvarint(b, uint64(len(f.Deposits)))
	for i := range f.Deposits {
		b = codec.AppendU256(b, &f.Deposits[i])
		b = codec.AppendU256(b, &f.Withdrawals[i])
	}
	for _, parts := range [][][]byte{f.Books, f.Ledgers} {
		b = binary.AppendUvarint(b, uint64(len(parts)))
		for _, p := range parts {
			b = binary.AppendUvarint(b, uint64(len(p)))
			b = append(b, p...)
		}
	}
	if len(f.Config) > 0 {
		b = binary.AppendUvarint(b, uint64(len(f.Config)))
		b = append(b, f.Config...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[len(magic):], castagnoli))
}

// Decode parses and checks an encoded snapshot.
func Decode(data []byte) (*File, error) {
	if len(data) < len(magic)+4 || !bytes.Equal(data[:len(magic)-1], magic[:len(magic)-1]) {
		return nil, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	v := data[len(magic)-1] - '0'
	if v < codec.MinVersion || v > codec.Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, v)
	}
	body := data[len(magic) : len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	r := &reader{b: body}
	f := &File{Version: v, LSN: r.uvarint()}
	copy(f.Fingerprint[:], r.bytes(32))
	n := r.uvarint()
	if n > 1<<16 {
		return nil, ErrCorrupt
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		f.Deposits = append(f.Deposits, r.u256())
		f.Withdrawals = append(f.Withdrawals, r.u256())
	}
	for _, parts := range []*[][]byte{&f.Books, &f.Ledgers} {
		n := r.uvarint()
		for i := uint64(0); i < n && r.err == nil; i++ {
			*parts = append(*parts, r.bytes(r.uvarint()))
		}
	}
	if r.err == nil && len(r.b) != 0 {
		f.Config = r.bytes(r.uvarint())
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrCorrupt
	}
	if r.err != nil {
		return nil, r.err
	}
	return f, nil
}

const ext = ".snap"

// Name is the file name of the snapshot at lsn.
func Name(lsn uint64) string { return fmt.Sprintf("%020d%s", lsn, ext) }

// Write stores f in dir atomically: temporary file, fsync, rename, fsync of
// the directory; then reads it back and checks it decodes to the same bytes
// before returning (a snapshot becomes a restore point only once verified).
func Write(dir string, f *File) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data := f.Encode()
	final := filepath.Join(dir, Name(f.LSN))
	tmp, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return "", err
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("snapshot: write: %w", werr)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("snapshot: rename: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	back, err := os.ReadFile(final)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(back, data) {
		os.Remove(final)
		return "", fmt.Errorf("snapshot: %s does not read back as written", final)
	}
	return final, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// List returns the LSNs of the snapshots in dir, newest first.
func List(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lsns []uint64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ext) {
			continue
		}
		if v, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ext), 10, 64); err == nil {
			lsns = append(lsns, v)
		}
	}
	sort.Slice(lsns, func(i, j int) bool { return lsns[i] > lsns[j] })
	return lsns, nil
}

// Usable says whether a decoded snapshot fits the configuration it is
// about to be restored under; its error says why not.
type Usable func(*File) error

// SameFingerprint accepts the snapshots made with fingerprint.
func SameFingerprint(fingerprint [32]byte) Usable {
	return func(f *File) error {
		if f.Fingerprint != fingerprint {
			return errors.New("made with another configuration")
		}
		return nil
	}
}

// Latest returns the newest snapshot in dir that decodes and is usable, or
// nil if there is none; skipped lists the newer ones that were not, with
// the reason.
func Latest(dir string, usable Usable) (f *File, skipped []string, err error) {
	return LatestUpTo(dir, usable, math.MaxUint64)
}

// LatestUpTo is Latest among the snapshots at LSN upto or before.
func LatestUpTo(dir string, usable Usable, upto uint64) (f *File, skipped []string, err error) {
	lsns, err := List(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, lsn := range lsns {
		if lsn > upto {
			continue
		}
		f, err := load(dir, lsn, usable)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		return f, skipped, nil
	}
	return nil, skipped, nil
}

// OldestAfter returns the oldest usable snapshot in dir after LSN after, or
// nil if there is none.
func OldestAfter(dir string, usable Usable, after uint64) (*File, error) {
	lsns, err := List(dir)
	if err != nil {
		return nil, err
	}
	for i := len(lsns) - 1; i >= 0; i-- {
		if lsns[i] <= after {
			continue
		}
		if f, err := load(dir, lsns[i], usable); err == nil {
			return f, nil
		}
	}
	return nil, nil
}

func load(dir string, lsn uint64, usable Usable) (*File, error) {
	path := filepath.Join(dir, Name(lsn))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	f, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if err := usable(f); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return f, nil
}

// Prune removes all but the newest keep snapshots — and, if hold > 0, the
// newest one at LSN hold or before, which a journal follower at cursor hold
// needs to rebuild its state — and returns the LSN of the oldest one kept
// (0 if none).
func Prune(dir string, keep int, hold uint64) (uint64, error) {
	lsns, err := List(dir)
	if err != nil || len(lsns) == 0 {
		return 0, err
	}
	if keep < 1 {
		keep = 1
	}
	kept := lsns[:min(keep, len(lsns))]
	held := false
	for _, lsn := range lsns[len(kept):] {
		if hold > 0 && !held && lsn <= hold && kept[len(kept)-1] > hold {
			held = true
			kept = append(kept[:len(kept):len(kept)], lsn)
			continue
		}
		if err := os.Remove(filepath.Join(dir, Name(lsn))); err != nil {
			return 0, err
		}
	}
	return kept[len(kept)-1], nil
}
