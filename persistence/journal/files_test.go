package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
)

func rec(lsn uint64) Record {
	return Record{LSN: lsn, Events: []messages.Event{&messages.OrderRested{OrderID: lsn}}}
}

func writeN(t *testing.T, dir string, size int64, n int) {
	t.Helper()
	j, _, err := OpenFiles(dir, size, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := j.Write([]Record{rec(uint64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadFilesRefusesGaps(t *testing.T) {
	dir := t.TempDir()
	writeN(t, dir, 64, 9) // a few records per segment
	var got []uint64
	if err := ReadFiles(dir, 2, 7, func(r Record) error { got = append(got, r.LSN); return nil }); err != nil || len(got) != 5 || got[0] != 3 || got[4] != 7 {
		t.Fatalf("ReadFiles(2, 7) = %v, %v; want 3..7", got, err)
	}
	if err := ReadFiles(dir, 0, 12, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading past the end = %v; want ErrCorrupt", err)
	}
	if n, err := RemoveCovered(dir, 5); err != nil || n == 0 {
		t.Fatalf("RemoveCovered(5) = %d, %v", n, err)
	}
	if err := ReadFiles(dir, 0, 9, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading removed records = %v; want ErrCorrupt", err)
	}
	if err := ReadFiles(dir, 5, 9, func(Record) error { return nil }); err != nil {
		t.Fatalf("reading after the removed records: %v", err)
	}
}

// TestMidSegmentDamageRefused: a bad record followed by intact ones is not
// a torn tail; cutting there would drop durable records, so Open refuses.
func TestMidSegmentDamageRefused(t *testing.T) {
	dir := t.TempDir()
	writeN(t, dir, 1<<20, 5)
	seg := filepath.Join(dir, "00000000000000000001.seg")
	data, _ := os.ReadFile(seg)
	data[30] ^= 0xff // inside record 2
	os.WriteFile(seg, data, 0o644)
	if _, _, err := OpenFiles(dir, 0, 0, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFiles over mid-segment damage = %v; want ErrCorrupt", err)
	}
	if after, _ := os.ReadFile(seg); len(after) != len(data) {
		t.Fatalf("the segment was cut from %d to %d bytes", len(data), len(after))
	}
}

// TestCoveredRecordsChecked: records at or below after (a snapshot holds
// them) are not decoded, but their checksum and LSN order still are.
func TestCoveredRecordsChecked(t *testing.T) {
	dir := t.TempDir()
	writeN(t, dir, 1<<20, 5)
	seg := filepath.Join(dir, "00000000000000000001.seg")
	good, _ := os.ReadFile(seg)
	// Replace record 2 by one with a valid frame and checksum whose event
	// does not decode (an unknown event type).
	var data []byte
	off := 0
	for lsn := uint64(1); lsn <= 5; lsn++ {
		_, n, err := frame(good[off:])
		if err != nil {
			t.Fatal(err)
		}
		if lsn == 2 {
			body := append([]byte{codec.Version}, binary.LittleEndian.AppendUint64(nil, lsn)...)
			body = append(body, 1, 1, 0xee) // one event: 1 byte, type 0xee
			data = binary.LittleEndian.AppendUint32(data, uint32(len(body)))
			data = binary.LittleEndian.AppendUint32(data, bodyCRC(body))
			data = append(data, body...)
		} else {
			data = append(data, good[off:off+n]...)
		}
		off += n
	}
	os.WriteFile(seg, data, 0o644)
	var got []uint64
	collect := func(r Record) error { got = append(got, r.LSN); return nil }
	j, rec, err := OpenFiles(dir, 0, 2, collect)
	if err != nil || rec.Records != 5 || rec.TornBytes != 0 || len(got) != 3 || got[0] != 3 {
		t.Fatalf("OpenFiles(after 2) = %+v, %v, replayed %v; want 5 records, 3..5 replayed", rec, err, got)
	}
	j.Close()
	if _, _, err := OpenFiles(dir, 0, 1, collect); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFiles(after 1), record 2 undecodable = %v; want ErrCorrupt", err)
	}
	// A covered record whose checksum fails is still damage.
	data[len(data)/2] ^= 0xff
	os.WriteFile(seg, data, 0o644)
	if _, _, err := OpenFiles(dir, 0, 5, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFiles(after 5) over a bad checksum = %v; want ErrCorrupt", err)
	}
}

// TestScanFilesReadOnly: ScanFiles reports a torn tail without cutting it,
// and creates no directory.
func TestScanFilesReadOnly(t *testing.T) {
	dir := t.TempDir()
	j, _, err := OpenFiles(dir, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Write(testRecords(1, 4)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d%s", 1, segExt))
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{9, 9, 9})
	f.Close()
	before, _ := os.ReadFile(seg)
	var n int
	rec, err := ScanFiles(dir, 0, func(Record) error { n++; return nil })
	if err != nil || rec.Records != 4 || rec.LastLSN != 4 || rec.TornBytes != 3 || n != 4 {
		t.Fatalf("ScanFiles = %+v, %d replayed, %v", rec, n, err)
	}
	if after, _ := os.ReadFile(seg); !bytes.Equal(before, after) {
		t.Fatalf("ScanFiles changed the segment: %d bytes, was %d", len(after), len(before))
	}
	missing := filepath.Join(dir, "none")
	if rec, err := ScanFiles(missing, 0, nil); err != nil || rec.Records != 0 {
		t.Fatalf("ScanFiles of a missing directory = %+v, %v", rec, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("ScanFiles created %s", missing)
	}
}
