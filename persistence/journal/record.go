package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/codec"
)

// Record is the events of one step of one actor (a command's outcome) with
// its log sequence number. A record is written and recovered whole: a torn
// tail never splits a command's events.
type Record struct {
	LSN    uint64
	Events []messages.Event
}

const headerSize = 8 // length + crc

// MaxRecord bounds a record's size; a larger length field is corruption.
const MaxRecord = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a damaged record that is not a torn tail.
var ErrCorrupt = errors.New("journal: corrupt record")

// appendRecord frames one record onto b: header, then the body.
func appendRecord(b []byte, r Record) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	b = appendBody(b, r)
	body := b[start+headerSize:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], bodyCRC(body))
	return b
}

// bodyPrefix is the version byte and the LSN that start a record's body;
// the events follow.
const bodyPrefix = 1 + 8

// appendBody appends a record's body to b: version, LSN, event count and
// the events, each a 3-byte uvarint length and its codec bytes. Both
// backends store this body and check it by its CRC-32C (bodyCRC): Files
// frames it with a length, MySQL keeps the events (the body after
// bodyPrefix) in a column beside the LSN and version and rebuilds the body
// to check and decode it.
func appendBody(b []byte, r Record) []byte {
	b = append(b, codec.Version)
	b = binary.LittleEndian.AppendUint64(b, r.LSN)
	b = binary.AppendUvarint(b, uint64(len(r.Events)))
	for _, ev := range r.Events {
		at := len(b)
		b = append(b, 0, 0, 0) // room for a 3-byte uvarint length
		b = codec.Append(b, ev)
		b = putLen3(b, at)
	}
	return b
}

// bodyCRC is the checksum stored with a body.
func bodyCRC(body []byte) uint32 { return crc32.Checksum(body, castagnoli) }

// readRecord decodes the record at the start of b. It returns the record and
// its framed size; n == 0 means b holds no complete, valid record (torn or
// corrupt: err says which check failed).
func readRecord(b []byte) (r Record, n int, err error) {
	body, n, err := frame(b)
	if n == 0 {
		return r, 0, err
	}
	if r, err = decodeBody(body); err != nil {
		return r, 0, err
	}
	return r, n, nil
}

// frame checks the framing of the record at the start of b — length,
// checksum, version — and returns its body, its framed size and its LSN
// without decoding the events; n == 0 means b holds no complete, valid
// record (err says which check failed).
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
	if body[0] < codec.MinVersion || body[0] > codec.Version {
		return nil, 0, fmt.Errorf("unknown version %d", body[0])
	}
	return body, headerSize + size, nil
}

// bodyLSN is the LSN of a body that frame accepted.
func bodyLSN(body []byte) uint64 { return binary.LittleEndian.Uint64(body[1:]) }

// decodeBody decodes a body written by appendBody whose checksum has been
// verified.
func decodeBody(body []byte) (r Record, err error) {
	if len(body) < bodyPrefix {
		return r, fmt.Errorf("short body (%d bytes)", len(body))
	}
	if body[0] < codec.MinVersion || body[0] > codec.Version {
		return r, fmt.Errorf("unknown version %d", body[0])
	}
	r.LSN = binary.LittleEndian.Uint64(body[1:])
	rest := body[bodyPrefix:]
	count, k := binary.Uvarint(rest)
	if k <= 0 || count > uint64(len(rest)) {
		return r, errors.New("bad event count")
	}
	rest = rest[k:]
	r.Events = make([]messages.Event, 0, count)
	for i := uint64(0); i < count; i++ {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return r, errors.New("bad event length")
		}
		ev, err := codec.DecodeVersion(rest[k:k+int(n)], body[0])
		if err != nil {
			return r, err
		}
		r.Events = append(r.Events, ev)
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return r, errors.New("trailing bytes")
	}
	return r, nil
}

// putLen3 writes the length of b[at+3:] as a 3-byte (padded) uvarint at
// b[at:]; events are far below 2^21 bytes.
func putLen3(b []byte, at int) []byte {
	n := len(b) - at - 3
	b[at] = byte(n) | 0x80
	b[at+1] = byte(n>>7) | 0x80
	b[at+2] = byte(n >> 14)
	return b
}
