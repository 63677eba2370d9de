package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
)

// Record is the events of one step of one actor (a command's outcome) with
// its log sequence number. A record is written and recovered whole: a torn
// tail never splits a command's events. A record too large for one physical
// record (a frame of a segment file, a MySQL row) is stored as chunks that
// share its LSN (see ChunkSize), and every reader — recovery, Read,
// ReadFiles — hands it on only once all its chunks are read.
type Record struct {
	LSN    uint64
	Events []messages.Event
}

const headerSize = 8 // length + crc

// MaxRecord bounds a frame's length field when reading: a larger one is
// corruption. Writers keep every body within ChunkSize; journals written
// before records were chunked may hold bodies up to this size.
const MaxRecord = 64 << 20

// ChunkSize bounds the body of every physical record written: a frame of
// a segment file (after its 8-byte header) or a MySQL row (a smaller bound
// there if the server's max_allowed_packet asks for it). A record whose body
// would be larger is split into chunks, each holding as many whole events as
// fit, so one command — a market order sweeping a whole book side, a
// dead-man's switch cancelling every order of a user — never makes a record
// a backend refuses.
const ChunkSize = 1 << 20

// MaxEvent bounds one encoded event. The codec's limits keep every event far
// below it (strings and byte fields are at most codec.MaxString bytes, and no
// event has more than two), so a chunk always holds at least one event.
const MaxEvent = 1 << 18

// chunkOverhead bounds what a body adds to its events: version, LSN, chunk
// index and count, event count (uvarints of at most 10 bytes), and an
// event's 3-byte length.
const chunkOverhead = 1 + 8 + 3*binary.MaxVarintLen64 + 3

// minChunk is the smallest chunk bound a backend may use: one event of
// MaxEvent bytes fits.
const minChunk = MaxEvent + chunkOverhead

// chunkFlag, set in a body's version byte, marks a chunk of a record split
// over several bodies; the byte's other bits are the codec version. Such a
// body is
//
//	version|0x80 uint8
//	lsn          uint64 LE   the record's LSN, in each of its chunks
//	index        uvarint     0, 1, … in write order
//	chunks       uvarint     how many chunks the record has (≥ 2)
//	count        uvarint     events in this chunk
//	events       each a 3-byte uvarint length and its codec bytes
//
// A record that fits one body is written without the flag, exactly as
// before chunking existed, so journals without large records stay readable
// by older binaries; a binary that does not know the flag refuses a chunk
// as an unknown version rather than misreading it.
const chunkFlag = 0x80

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a damaged record that is not a torn tail.
var ErrCorrupt = errors.New("journal: corrupt record")

// errChunkOrder reports a valid body that does not continue the record
// being read (a missing, repeated or foreign chunk): damage, never a torn
// tail.
var errChunkOrder = errors.New("chunks out of order")

// bodyPrefix is the version byte and the LSN that start a record's body;
// the events (or, in a chunk, the chunk index and count) follow.
const bodyPrefix = 1 + 8

// appendBodies appends the bodies of r to b and, in ends, where each one
// ends in b. A record whose body fits in limit bytes is one body: version,
// LSN, event count and the events, each a 3-byte uvarint length and its
// codec bytes. A larger one is split into chunks (see chunkFlag), each body
// at most limit bytes. With framed, each body is preceded by the 8-byte
// header of segment files (length, CRC-32C) and ends counts it. limit must
// be at least minChunk; an event over MaxEvent is an error (the codec's
// limits make it impossible).
//
// Both backends store these bodies and check them by their CRC-32C
// (bodyCRC): Files frames them, MySQL keeps each body after bodyPrefix in a
// row beside the LSN, chunk index and version byte, and rebuilds the body
// to check and decode it.
func appendBodies(b []byte, r Record, limit int, framed bool, ends []int) ([]byte, []int, error) {
	start := len(b)
	hdr := 0
	if framed {
		hdr = headerSize
		b = append(b, make([]byte, headerSize)...)
	}
	b = append(b, codec.Version)
	b = binary.LittleEndian.AppendUint64(b, r.LSN)
	b = binary.AppendUvarint(b, uint64(len(r.Events)))
	for i, ev := range r.Events {
		at := len(b)
		b = append(b, 0, 0, 0) // room for a 3-byte uvarint length
		b = codec.Append(b, ev)
		if len(b)-at-3 > MaxEvent {
			return b[:start], ends, fmt.Errorf("journal: record %d: an event of %d bytes, over %d (%T)", r.LSN, len(b)-at-3, MaxEvent, ev)
		}
		b = putLen3(b, at)
		if len(b)-start-hdr > limit {
			// Size the events' buffer from those encoded so far.
			size := (len(b) - start) / (i + 1) * len(r.Events) * 9 / 8
			return appendChunks(b[:start], r, limit, framed, ends, size)
		}
	}
	if framed {
		sealFrame(b[start:])
	}
	return b, append(ends, len(b)), nil
}

// appendChunks is appendBodies for a record over limit: its events are
// encoded once (into a buffer of size bytes to start with), then copied
// into as many chunks as they need.
func appendChunks(b []byte, r Record, limit int, framed bool, ends []int, size int) ([]byte, []int, error) {
	evs := make([]byte, 0, size)
	evEnds := make([]int, len(r.Events))
	for i, ev := range r.Events {
		at := len(evs)
		evs = append(evs, 0, 0, 0)
		evs = codec.Append(evs, ev)
		if len(evs)-at-3 > MaxEvent {
			return b, ends, fmt.Errorf("journal: record %d: an event of %d bytes, over %d (%T)", r.LSN, len(evs)-at-3, MaxEvent, ev)
		}
		evs = putLen3(evs, at)
		evEnds[i] = len(evs)
	}
	// Chunk k holds the events up to cuts[k] (exclusive): as many as fit
	// in limit with the largest header a chunk can have.
	room := limit - (chunkOverhead - 3)
	var cuts []int
	first, from := 0, 0 // the current chunk's first event and its offset in evs
	for i := range evEnds {
		if i > first && evEnds[i]-from > room {
			cuts = append(cuts, i)
			first, from = i, evEnds[i-1]
		}
	}
	cuts = append(cuts, len(evEnds))
	total := uint64(len(cuts))
	b = slices.Grow(b, len(evs)+len(cuts)*(headerSize+chunkOverhead))
	first = 0
	for k, cut := range cuts {
		start := len(b)
		if framed {
			b = append(b, make([]byte, headerSize)...)
		}
		b = append(b, codec.Version|chunkFlag)
		b = binary.LittleEndian.AppendUint64(b, r.LSN)
		b = binary.AppendUvarint(b, uint64(k))
		b = binary.AppendUvarint(b, total)
		b = binary.AppendUvarint(b, uint64(cut-first))
		lo := 0
		if first > 0 {
			lo = evEnds[first-1]
		}
		b = append(b, evs[lo:evEnds[cut-1]]...)
		if framed {
			sealFrame(b[start:])
		}
		ends = append(ends, len(b))
		first = cut
	}
	return b, ends, nil
}

// sealFrame fills the header of the frame f (header, then body).
func sealFrame(f []byte) {
	body := f[headerSize:]
	binary.LittleEndian.PutUint32(f, uint32(len(body)))
	binary.LittleEndian.PutUint32(f[4:], bodyCRC(body))
}

// bodyCRC is the checksum stored with a body.
func bodyCRC(body []byte) uint32 { return crc32.Checksum(body, castagnoli) }

// frame checks the framing of the body at the start of b — length,
// checksum, version — and returns it and its framed size without decoding
// the events; n == 0 means b holds no complete, valid frame (err says which
// check failed).
func frame(b []byte) (body []byte, n int, err error) {
	if len(b) < headerSize {
		return nil, 0, fmt.Errorf("short header (%d bytes)", len(b))
	}
	size := int(binary.LittleEndian.Uint32(b))
	if size < bodyPrefix || size > MaxRecord {
		return nil, 0, fmt.Errorf("bad length %d", size)
	}
	if len(b) < headerSize+size {
		return nil, 0, fmt.Errorf("short record (%d of %d bytes)", len(b)-headerSize, size)
	}
	body = b[headerSize : headerSize+size]
	if bodyCRC(body) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errors.New("checksum mismatch")
	}
	if v := body[0] &^ chunkFlag; v < codec.MinVersion || v > codec.Version {
		return nil, 0, fmt.Errorf("unknown version %d", body[0])
	}
	return body, headerSize + size, nil
}

// chunk is a body as read: the record's LSN and codec version, the body's
// place among the record's chunks, and its events, not yet decoded.
type chunk struct {
	lsn          uint64
	version      byte
	index, total uint64 // 0 and 1 for a record in one body
	events       []byte // the event count, then the events
}

// parseBody reads the header of a body whose checksum has been verified.
func parseBody(body []byte) (c chunk, err error) {
	if len(body) < bodyPrefix {
		return c, fmt.Errorf("short body (%d bytes)", len(body))
	}
	c.version = body[0] &^ chunkFlag
	if c.version < codec.MinVersion || c.version > codec.Version {
		return c, fmt.Errorf("unknown version %d", body[0])
	}
	c.lsn = binary.LittleEndian.Uint64(body[1:])
	c.events, c.total = body[bodyPrefix:], 1
	if body[0]&chunkFlag != 0 {
		index, k := binary.Uvarint(c.events)
		if k <= 0 {
			return c, errors.New("bad chunk index")
		}
		total, k2 := binary.Uvarint(c.events[k:])
		if k2 <= 0 || total < 2 || index >= total {
			return c, fmt.Errorf("bad chunk count (chunk %d)", index)
		}
		c.index, c.total, c.events = index, total, c.events[k+k2:]
	}
	return c, nil
}

// decode appends the chunk's events to dst.
func (c *chunk) decode(dst []messages.Event) ([]messages.Event, error) {
	rest := c.events
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)) {
		return dst, errors.New("bad event count")
	}
	rest = rest[k:]
	dst = growEvents(dst, int(count))
	for i := uint64(0); i < count; i++ {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return dst, errors.New("bad event length")
		}
		ev, err := codec.DecodeVersion(rest[k:k+int(n)], c.version)
		if err != nil {
			return dst, err
		}
		dst = append(dst, ev)
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return dst, errors.New("trailing bytes")
	}
	return dst, nil
}

func growEvents(s []messages.Event, n int) []messages.Event {
	if cap(s)-len(s) >= n {
		return s
	}
	return append(make([]messages.Event, 0, len(s)+n), s...)
}

// assembler joins the bodies of records read in log order into records.
type assembler struct {
	r            Record
	version      byte
	next, total  uint64 // the next chunk expected, of total; total == 0: between records
	decodeEvents bool
}

// add takes the next body. decode (asked of a record's first body only)
// says whether to decode the record's events; when it does not, the
// record's Events stay nil. add reports whether c completed a record, which
// is then a.r, valid until the next call. A body that does not continue the
// record being read is errChunkOrder.
func (a *assembler) add(c chunk, decode func(lsn uint64) bool) (bool, error) {
	if a.total == 0 {
		if c.index != 0 {
			return false, fmt.Errorf("%w: chunk %d of %d of LSN %d without the chunks before it", errChunkOrder, c.index, c.total, c.lsn)
		}
		a.r = Record{LSN: c.lsn}
		a.version, a.next, a.total = c.version, 0, c.total
		a.decodeEvents = decode != nil && decode(c.lsn)
	} else if c.lsn != a.r.LSN || c.index != a.next || c.total != a.total || c.version != a.version {
		return false, fmt.Errorf("%w: LSN %d chunk %d of %d where chunk %d of %d of LSN %d was expected",
			errChunkOrder, c.lsn, c.index, c.total, a.next, a.total, a.r.LSN)
	}
	if a.decodeEvents {
		var err error
		if a.r.Events, err = c.decode(a.r.Events); err != nil {
			return false, err
		}
	}
	a.next++
	if a.next < a.total {
		return false, nil
	}
	a.total = 0
	return true, nil
}

// pending reports a record whose chunks are not all read, with what it
// lacks; "" when between records.
func (a *assembler) pending() string {
	if a.total == 0 {
		return ""
	}
	return fmt.Sprintf("record %d has %d of its %d chunks", a.r.LSN, a.next, a.total)
}

// nextRecord reads the record at the start of b: one frame, or the frames
// of its chunks. decode says, by LSN, whether to decode its events. It
// returns the record and the bytes its frames span; n == 0 means b holds no
// complete, valid record: err says why, and bad is the offset in b of the
// frame that failed (len(b) when b ends before the record's last chunk). A
// valid frame that does not continue the record is errChunkOrder.
func nextRecord(b []byte, decode func(lsn uint64) bool) (r Record, n, bad int, err error) {
	var a assembler
	for off := 0; ; {
		if off == len(b) && off > 0 {
			return r, 0, off, errors.New(a.pending())
		}
		body, k, err := frame(b[off:])
		if k == 0 {
			return r, 0, off, err
		}
		c, err := parseBody(body)
		if err != nil {
			return r, 0, off, err
		}
		done, err := a.add(c, decode)
		if err != nil {
			return r, 0, off, err
		}
		off += k
		if done {
			return a.r, off, 0, nil
		}
	}
}

// putLen3 writes the length of b[at+3:] as a 3-byte (padded) uvarint at
// b[at:]; events are at most MaxEvent bytes, far below 2^21.
func putLen3(b []byte, at int) []byte {
	n := len(b) - at - 3
	b[at] = byte(n) | 0x80
	b[at+1] = byte(n>>7) | 0x80
	b[at+2] = byte(n >> 14)
	return b
}
