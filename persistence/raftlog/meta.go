package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"

	pj "github.com/bourse-exchange/bourse/persistence/journal"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// MetaFile is the name of the metadata file in the journal directory.
const MetaFile = "raft.meta"

// metaMagic starts the metadata file; its last byte is the format version.
var metaMagic = []byte("BRLM\x01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// run says that the entries from index on have term, up to the next run.
type run struct{ index, term uint64 }

// conf is an entry that is not a command: its record holds no events.
type conf struct {
	index uint64
	typ   pb.EntryType
	data  []byte
}

// meta is what raft.meta holds (see the package comment).
type meta struct {
	hard  *pb.HardState
	snap  *pb.SnapshotMetadata
	reset bool // a snapshot replaced the log; the segments are not yet removed
	runs  []run
	confs []conf
}

func newMeta() meta {
	return meta{hard: &pb.HardState{}, snap: &pb.SnapshotMetadata{ConfState: &pb.ConfState{}}}
}

// termAt is the term of the entry at index (after the snapshot), 0 if the
// metadata does not know it.
func (m *meta) termAt(index uint64) uint64 {
	for i := len(m.runs) - 1; i >= 0; i-- {
		if m.runs[i].index <= index {
			return m.runs[i].term
		}
	}
	if m.snap.GetIndex() > 0 && index >= m.snap.GetIndex() {
		return m.snap.GetTerm()
	}
	return 0
}

// confAt returns the conf change entry at index, if there is one.
func (m *meta) confAt(index uint64) (conf, bool) {
	i, ok := slices.BinarySearchFunc(m.confs, index, func(c conf, x uint64) int { return cmpU64(c.index, x) })
	if !ok {
		return conf{}, false
	}
	return m.confs[i], true
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// trimAfter forgets the runs and conf changes of entries after last.
func (m *meta) trimAfter(last uint64) bool {
	n, k := len(m.runs), len(m.confs)
	for len(m.runs) > 0 && m.runs[len(m.runs)-1].index > last {
		m.runs = m.runs[:len(m.runs)-1]
	}
	for len(m.confs) > 0 && m.confs[len(m.confs)-1].index > last {
		m.confs = m.confs[:len(m.confs)-1]
	}
	return n != len(m.runs) || k != len(m.confs)
}

// trimTo forgets the runs and conf changes of entries up to index (a
// snapshot covers them): the snapshot's term stands for the run that
// covered index (termAt).
func (m *meta) trimTo(index uint64) {
	i := 0
	for i < len(m.runs) && m.runs[i].index <= index {
		i++
	}
	m.runs = m.runs[i:]
	i = 0
	for i < len(m.confs) && m.confs[i].index <= index {
		i++
	}
	m.confs = m.confs[i:]
}

func (m *meta) encode() ([]byte, error) {
	b := slices.Clone(metaMagic)
	for _, msg := range []proto.Message{m.hard, m.snap} {
		p, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	reset := byte(0)
	if m.reset {
		reset = 1
	}
	b = append(b, reset)
	b = binary.AppendUvarint(b, uint64(len(m.runs)))
	for _, r := range m.runs {
		b = binary.AppendUvarint(b, r.index)
		b = binary.AppendUvarint(b, r.term)
	}
	b = binary.AppendUvarint(b, uint64(len(m.confs)))
	for _, c := range m.confs {
		b = binary.AppendUvarint(b, c.index)
		b = binary.AppendUvarint(b, uint64(c.typ))
		b = binary.AppendUvarint(b, uint64(len(c.data)))
		b = append(b, c.data...)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// reader reads uvarints and byte strings, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err, r.b = errors.New("bad uvarint"), nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err, r.b = errors.New("short field"), nil
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func decodeMeta(b []byte) (meta, error) {
	m := newMeta()
	if len(b) < len(metaMagic)+4 || string(b[:len(metaMagic)]) != string(metaMagic) {
		return m, errors.New("not a raft metadata file of a known version")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return m, errors.New("checksum mismatch")
	}
	r := &reader{b: body[len(metaMagic):]}
	hard, snap := r.bytes(), r.bytes()
	if r.err == nil {
		r.err = proto.Unmarshal(hard, m.hard)
	}
	if r.err == nil {
		r.err = proto.Unmarshal(snap, m.snap)
	}
	if r.err != nil || len(r.b) == 0 {
		return m, fmt.Errorf("bad header: %v", r.err)
	}
	m.reset, r.b = r.b[0] == 1, r.b[1:]
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		m.runs = append(m.runs, run{r.uvarint(), r.uvarint()})
	}
	for n := r.uvarint(); n > 0 && r.err == nil; n-- {
		m.confs = append(m.confs, conf{index: r.uvarint(), typ: pb.EntryType(r.uvarint()), data: r.bytes()})
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if m.snap.ConfState == nil {
		m.snap.ConfState = &pb.ConfState{}
	}
	return m, r.err
}

// readMeta reads dir's metadata file; a missing one is empty metadata.
func readMeta(dir string) (meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if errors.Is(err, os.ErrNotExist) {
		return newMeta(), nil
	}
	if err != nil {
		return meta{}, err
	}
	m, err := decodeMeta(b)
	if err != nil {
		return m, fmt.Errorf("raftlog: %s: %w", MetaFile, err)
	}
	return m, nil
}

func (m *meta) save(dir string) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	return pj.WriteFileAtomic(filepath.Join(dir, MetaFile), b)
}

// snapName is the file holding the data of the snapshot at index.
func snapName(index uint64) string { return fmt.Sprintf("raft-%020d.snap", index) }
