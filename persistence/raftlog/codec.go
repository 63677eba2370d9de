package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
)

// EncodeEvents is the data of the Raft entry that carries events: the
// codec version, the event count and each event as a uvarint length and
// its codec bytes. No events is nil (the empty entry a new leader appends).
func EncodeEvents(events []messages.Event) []byte {
	if len(events) == 0 {
		return nil
	}
	b := []byte{codec.Version}
	b = binary.AppendUvarint(b, uint64(len(events)))
	var ev []byte
	for _, e := range events {
		ev = codec.Append(ev[:0], e)
		b = binary.AppendUvarint(b, uint64(len(ev)))
		b = append(b, ev...)
	}
	return b
}

// DecodeEvents reads what EncodeEvents wrote; damaged data is an error.
func DecodeEvents(data []byte) ([]messages.Event, error) {
	if len(data) == 0 {
		return nil, nil
	}
	v := data[0]
	if v < codec.MinVersion || v > codec.Version {
		return nil, fmt.Errorf("raftlog: unknown codec version %d", v)
	}
	count, k := binary.Uvarint(data[1:])
	rest := data[1+max(k, 0):]
	if k <= 0 || count == 0 || count > uint64(len(rest)) {
		return nil, errors.New("raftlog: bad event count")
	}
	events := make([]messages.Event, 0, count)
	for range count {
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > uint64(len(rest)-k) {
			return nil, errors.New("raftlog: bad event length")
		}
		ev, err := codec.DecodeVersion(rest[k:k+int(n)], v)
		if err != nil {
			return nil, fmt.Errorf("raftlog: %w", err)
		}
		events = append(events, ev)
		rest = rest[k+int(n):]
	}
	if len(rest) != 0 {
		return nil, errors.New("raftlog: trailing bytes")
	}
	return events, nil
}
