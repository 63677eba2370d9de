package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	"github.com/holiman/uint256"
)

// bigRecord is a record of n balance updates, each with a detail of size
// bytes: n×size bytes of events at least.
func bigRecord(lsn uint64, n, size int) Record {
	r := Record{LSN: lsn, Events: make([]messages.Event, n)}
	detail := bytes.Repeat([]byte("d"), size)
	for i := range r.Events {
		r.Events[i] = &messages.BalanceUpdated{User: uint32(i), Asset: 1, Business: "deposit", BusinessID: lsn<<32 | uint64(i),
			Change: *uint256.NewInt(uint64(i) + 1), Detail: detail, Time: int64(lsn)}
	}
	return r
}

// mixedRecords is LSNs from..to, every third one a record of events times
// the usual ones (testRecord's), so larger than a small chunk bound.
func mixedRecords(from, to uint64, events int) []Record {
	var rs []Record
	for lsn := from; lsn <= to; lsn++ {
		r := testRecord(lsn)
		if lsn%3 == 1 {
			for i := 0; i < events; i++ {
				r.Events = append(r.Events, testRecord(lsn*1000+uint64(i)).Events...)
			}
		}
		rs = append(rs, r)
	}
	return rs
}

func sameRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records; want %d", len(got), len(want))
	}
	for i := range got {
		sameRecord(t, got[i], want[i])
	}
}

// frames lists the frames of the segment files in dir: LSN, chunk index
// and count, size of the body.
type frameInfo struct {
	lsn, index, total uint64
	size, off         int
	seg               string
}

func frames(t *testing.T, dir string) []frameInfo {
	t.Helper()
	segs, err := segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []frameInfo
	for _, seg := range segs {
		data, err := os.ReadFile(filepath.Join(dir, seg.name))
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(data); {
			body, n, err := frame(data[off:])
			if err != nil {
				t.Fatalf("%s offset %d: %v", seg.name, off, err)
			}
			c, err := parseBody(body)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, frameInfo{c.lsn, c.index, c.total, len(body), off, seg.name})
			off += n
		}
	}
	return out
}

// TestFilesChunkedRecords: records larger than the chunk bound are written
// as several frames sharing their LSN, none over the bound, never across
// segments, and every reader — recovery from any point, ReadFiles from and
// to any LSN — gets them back whole and in order.
func TestFilesChunkedRecords(t *testing.T) {
	dir := t.TempDir()
	j, _, err := OpenFiles(dir, 4096, 0, nil) // small segments: several records each
	if err != nil {
		t.Fatal(err)
	}
	j.chunk = 300
	want := mixedRecords(1, 40, 12)
	for _, batch := range [][]Record{want[:1], want[1:7], want[7:8], want[8:40]} {
		if err := j.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	fs := frames(t, dir)
	chunked := map[uint64]bool{}
	for i, f := range fs {
		if f.size > 300 {
			t.Fatalf("frame %+v: body over the chunk bound 300", f)
		}
		if f.total > 1 {
			chunked[f.lsn] = true
			if f.index > 0 && (fs[i-1].lsn != f.lsn || fs[i-1].seg != f.seg) {
				t.Fatalf("chunk %+v does not follow its record's previous chunk in the same segment (%+v)", f, fs[i-1])
			}
		}
	}
	if len(chunked) < 10 || len(fs) < len(want)+2*len(chunked) {
		t.Fatalf("%d frames, %d chunked records: the test does not exercise chunks", len(fs), len(chunked))
	}
	for _, after := range []uint64{0, 1, 2, 6, 39, 40} {
		var got []Record
		j, rec, err := OpenFiles(dir, 4096, after, func(r Record) error { got = append(got, r); return nil })
		if err != nil || rec.Records != 40 || rec.LastLSN != 40 || rec.TornBytes != 0 {
			t.Fatalf("OpenFiles(after %d) = %+v, %v", after, rec, err)
		}
		j.Close()
		sameRecords(t, got, want[after:])
	}
	for _, r := range [][2]uint64{{0, 40}, {0, 1}, {1, 4}, {3, 31}, {6, 7}, {39, 40}} {
		var got []Record
		if err := ReadFiles(dir, r[0], r[1], func(r Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatalf("ReadFiles(%d, %d): %v", r[0], r[1], err)
		}
		sameRecords(t, got, want[r[0]:r[1]])
	}
}

// TestFilesChunkedTornTail: a multi-chunk record cut anywhere — inside a
// chunk, between two chunks, after its first chunk — is a torn tail dropped
// whole on recovery: no part of that command is replayed, the segment is
// cut where the record began, and the journal appends after it again.
func TestFilesChunkedTornTail(t *testing.T) {
	src := t.TempDir()
	j, _, err := OpenFiles(src, 1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.chunk = 300
	want := testRecords(1, 3)
	big := mixedRecords(4, 4, 20)[0]
	if err := j.Write(append(want, big)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	seg := "00000000000000000001.seg"
	data, _ := os.ReadFile(filepath.Join(src, seg))
	var start int // where record 4 begins
	var cuts []int
	for _, f := range frames(t, src) {
		if f.lsn != 4 {
			continue
		}
		if f.index == 0 {
			start = f.off
		}
		if f.total < 4 {
			t.Fatalf("record 4 has %d chunks; want several", f.total)
		}
		// at the chunk's start (after the chunks before it), inside its
		// header, inside its body
		cuts = append(cuts, f.off, f.off+3, f.off+headerSize+f.size/2)
	}
	cuts = append(cuts, len(data)-1)
	for _, cut := range cuts {
		if cut == start {
			continue // nothing of record 4: not a torn record
		}
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, seg), data[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			var got []Record
			j, rec, err := OpenFiles(dir, 1<<20, 0, func(r Record) error { got = append(got, r); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if rec.Records != 3 || rec.LastLSN != 3 || rec.TornBytes != int64(cut-start) {
				t.Fatalf("cut at %d (record 4 at %d): %+v; want 3 records and %d torn bytes", cut, start, rec, cut-start)
			}
			sameRecords(t, got, want)
			if fi, _ := os.Stat(filepath.Join(dir, seg)); fi.Size() != int64(start) {
				t.Fatalf("segment is %d bytes after the cut; want %d (record 4 dropped whole)", fi.Size(), start)
			}
			again := testRecord(4)
			if err := j.Write([]Record{again}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			got = nil
			if _, rec, err = OpenFiles(dir, 1<<20, 0, func(r Record) error { got = append(got, r); return nil }); err != nil || rec.Records != 4 {
				t.Fatalf("reopen: %+v, %v", rec, err)
			}
			sameRecords(t, got, append(want, again))
		})
	}
}

// TestFilesChunkDamage: damage inside a multi-chunk record that is not a
// torn tail — a bad chunk with intact ones after it, a missing chunk, a
// chunk of another record in between — is corruption: Open refuses and
// cuts nothing.
func TestFilesChunkDamage(t *testing.T) {
	src := t.TempDir()
	j, _, err := OpenFiles(src, 1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.chunk = 300
	if err := j.Write(append(mixedRecords(1, 1, 20), testRecords(2, 3)...)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	seg := "00000000000000000001.seg"
	data, _ := os.ReadFile(filepath.Join(src, seg))
	fs := frames(t, src)
	if fs[0].total < 3 {
		t.Fatalf("record 1 has %d chunks; want at least 3", fs[0].total)
	}
	span := func(f frameInfo) []byte { return data[f.off : f.off+headerSize+f.size] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	last := fs[len(fs)-1]
	for name, bad := range map[string][]byte{
		"flipped byte in chunk 1": func() []byte {
			b := bytes.Clone(data)
			b[fs[1].off+headerSize+5] ^= 0xff
			return b
		}(),
		"chunk 1 missing":        join(data[:fs[1].off], data[fs[2].off:]),
		"chunk 1 twice":          join(data[:fs[2].off], span(fs[1]), data[fs[2].off:]),
		"a record inside chunks": join(data[:fs[1].off], span(last), data[fs[1].off:last.off]),
		"last chunk only at end": join(data[:fs[0].off], span(fs[1])),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, seg), bad, 0o644)
			if _, _, err := OpenFiles(dir, 0, 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v; want ErrCorrupt", err)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, seg)); !bytes.Equal(after, bad) {
				t.Fatal("the segment was changed")
			}
			if err := ReadFiles(dir, 0, 3, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ReadFiles: got %v; want ErrCorrupt", err)
			}
		})
	}
}

// TestFilesRecordOver64MiB: one command's record far larger than the old
// 64 MiB frame limit is written (no frame over ChunkSize) and replayed
// whole.
func TestFilesRecordOver64MiB(t *testing.T) {
	dir := t.TempDir()
	j, _, err := OpenFiles(dir, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	big := bigRecord(2, 68_000, 1000) // about 70 MB of events
	if err := j.Write([]Record{testRecord(1), big, testRecord(3)}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	var n, largest int
	for _, f := range frames(t, dir) {
		n++
		largest = max(largest, f.size)
	}
	if largest > ChunkSize || n < 65 {
		t.Fatalf("%d frames, the largest %d bytes; want more than 64 of at most %d", n, largest, ChunkSize)
	}
	var got []Record
	if _, rec, err := OpenFiles(dir, 0, 0, func(r Record) error { got = append(got, r); return nil }); err != nil || rec.Records != 3 {
		t.Fatalf("%+v, %v", rec, err)
	}
	sameRecords(t, got, []Record{testRecord(1), big, testRecord(3)})
}

// TestChunkBounds: whatever its events, every body appendBodies makes is
// within the bound it is given, and an event too large for any chunk (the
// codec's limits make one impossible) is an error before anything is
// written, never a frame a reader would refuse.
func TestChunkBounds(t *testing.T) {
	// The largest events the codec can decode — every string at
	// codec.MaxString — fit MaxEvent, so they fit any chunk.
	long := strings.Repeat("s", codec.MaxString)
	for _, ev := range []messages.Event{
		&messages.BalanceUpdated{User: math.MaxUint32, Asset: math.MaxUint16, Business: long, BusinessID: math.MaxUint64,
			Change: *new(uint256.Int).SetAllOne(), Negative: true, Detail: []byte(long), Time: math.MinInt64},
		&messages.OrderPlaced{Order: messages.Order{ID: math.MaxUint64, Market: math.MaxUint16, Type: messages.Limit, Side: messages.Ask, User: math.MaxUint32, CTime: math.MinInt64, MTime: math.MinInt64,
			Price: math.MinInt64, Amount: math.MinInt64, TakerFee: math.MinInt64, MakerFee: math.MinInt64, Left: math.MinInt64,
			DealStock: math.MinInt64, DealMoney: *new(uint256.Int).SetAllOne(), DealFee: *new(uint256.Int).SetAllOne(),
			Frozen: *new(uint256.Int).SetAllOne(), Source: long, ClientID: long, StopPrice: math.MaxInt64}, FrozenAsset: math.MaxUint16},
	} {
		if n := len(codec.Append(nil, ev)); n > MaxEvent {
			t.Fatalf("%T at the codec's limits is %d bytes, over MaxEvent %d", ev, n, MaxEvent)
		}
		if _, err := codec.Decode(codec.Append(nil, ev)); err != nil {
			t.Fatalf("%T at the codec's limits does not decode: %v", ev, err)
		}
	}
	for _, limit := range []int{200, 301, 4096, minChunk} {
		for _, r := range append(mixedRecords(1, 6, 40), bigRecord(7, 300, 150), bigRecord(8, 3, 1)) {
			for _, framed := range []bool{false, true} {
				b, ends, err := appendBodies([]byte("x"), r, limit, framed, nil)
				if err != nil {
					t.Fatal(err)
				}
				var a assembler
				prev := 1
				for i, end := range ends {
					body := b[prev:end]
					if framed {
						if _, n, err := frame(body); err != nil || n != len(body) {
							t.Fatalf("limit %d LSN %d frame %d: %v", limit, r.LSN, i, err)
						}
						body = body[headerSize:]
					}
					if len(body) > limit {
						t.Fatalf("limit %d LSN %d: body %d of %d is %d bytes", limit, r.LSN, i, len(ends), len(body))
					}
					c, err := parseBody(body)
					if err != nil {
						t.Fatal(err)
					}
					done, err := a.add(c, func(uint64) bool { return true })
					if err != nil || done != (i == len(ends)-1) {
						t.Fatalf("limit %d LSN %d body %d: done %v, %v", limit, r.LSN, i, done, err)
					}
					prev = end
				}
				sameRecord(t, a.r, r)
			}
		}
	}
	huge := bigRecord(1, 1, MaxEvent)
	b, ends, err := appendBodies([]byte("x"), huge, ChunkSize, true, nil)
	if err == nil || len(b) != 1 || len(ends) != 0 {
		t.Fatalf("an event over MaxEvent: %d bytes, %d bodies, %v; want an error and nothing appended", len(b), len(ends), err)
	}
	j, _, err := OpenFiles(t.TempDir(), 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Write([]Record{huge}); err == nil || j.LastLSN() != 0 || j.size != 0 {
		t.Fatalf("Files.Write of an event over MaxEvent: %v, last LSN %d, %d bytes written", err, j.LastLSN(), j.size)
	}
}

// TestVersionByteOfPlainRecords: a record that fits one body is written as
// before chunking (no chunk flag), so older binaries still read a journal
// without large records; a chunk's version byte carries the flag.
func TestVersionByteOfPlainRecords(t *testing.T) {
	b, _, err := appendBodies(nil, testRecord(6), ChunkSize, false, nil)
	if err != nil || b[0] != codec.Version || binary.LittleEndian.Uint64(b[1:]) != 6 {
		t.Fatalf("plain body starts % x, %v", b[:min(len(b), 9)], err)
	}
	b, _, err = appendBodies(nil, mixedRecords(1, 1, 20)[0], 300, false, nil)
	if err != nil || b[0] != codec.Version|chunkFlag {
		t.Fatalf("chunk body starts % x, %v", b[:9], err)
	}
}

// TestMySQLChunkedRecords: records larger than a row may be are stored as
// rows (lsn, chunk) within the bound, across INSERTs and pages, and read
// back whole by recovery and Read; a record larger than the server's
// max_allowed_packet is accepted.
func TestMySQLChunkedRecords(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	m.chunk = 300
	m.maxStatement = 4000 // a few rows per INSERT
	// Records 1, 4, 7 … are chunked; 61 has enough chunks to span recovery
	// pages (mysqlPage rows) on its own.
	want := mixedRecords(1, 60, 12)
	want = append(want, mixedRecords(61, 61, 5000)...)
	want = append(want, testRecords(62, 63)...)
	for _, batch := range [][]Record{want[:1], want[1:30], want[30:60], want[60:]} {
		if err := m.Write(batch); err != nil {
			t.Fatal(err)
		}
	}
	db, table := rawDB(t, dsn)
	var rows, records, largest int
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT lsn), MAX(LENGTH(body)) FROM "+table).Scan(&rows, &records, &largest); err != nil {
		t.Fatal(err)
	}
	if records != 63 || rows < mysqlPage+100 || largest > 300-bodyPrefix {
		t.Fatalf("%d rows for %d records, the largest body %d bytes", rows, records, largest)
	}
	for _, r := range [][2]uint64{{0, 63}, {0, 1}, {3, 7}, {60, 61}, {61, 63}} {
		var got []Record
		if err := m.Read(r[0], r[1], func(r Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatalf("Read(%d, %d): %v", r[0], r[1], err)
		}
		sameRecords(t, got, want[r[0]:r[1]])
	}
	// A record of over half the server's max_allowed_packet (16 MiB by
	// default on MariaDB: more than the old single-row limit), at the real
	// bounds.
	var packet int
	if err := db.QueryRow("SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		t.Fatal(err)
	}
	m.maxStatement, m.chunk, _ = mysqlSizes(packet)
	big := bigRecord(64, packet/2000+1000, 1000)
	if err := m.Write([]Record{big, testRecord(65)}); err != nil {
		t.Fatalf("a record of %d events of 1000 bytes, max_allowed_packet %d: %v", len(big.Events), packet, err)
	}
	m.Close()
	want = append(want, big, testRecord(65))
	for _, after := range []uint64{0, 1, 60, 61, 63} {
		m, rec, got := openMySQL(t, dsn, after)
		m.Close()
		if rec.Records != 65 || rec.LastLSN != 65 {
			t.Fatalf("after %d: %+v", after, rec)
		}
		sameRecords(t, got, want[after:])
	}
	var got []Record
	if rec, err := ScanMySQL(dsn, 60, func(r Record) error { got = append(got, r); return nil }); err != nil || rec.Records != 65 {
		t.Fatalf("ScanMySQL: %+v, %v", rec, err)
	}
	sameRecords(t, got, want[60:])
}

// TestMySQLChunkDamage: a missing chunk row, one whose chunk column
// disagrees with its body, or a record's last rows missing at the end of
// the table are ErrCorrupt.
func TestMySQLChunkDamage(t *testing.T) {
	server := testenv.MySQLDSN(t)
	for name, damage := range map[string]string{
		"middle chunk gone":   "DELETE FROM %s WHERE lsn = 2 AND chunk = 1",
		"first chunk gone":    "DELETE FROM %s WHERE lsn = 2 AND chunk = 0",
		"chunk column moved":  "UPDATE %s SET chunk = 99 WHERE lsn = 2 AND chunk = 2",
		"last record's chunk": "DELETE FROM %s WHERE lsn = 3 AND chunk = (SELECT c FROM (SELECT MAX(chunk) c FROM %[1]s WHERE lsn = 3) x)",
	} {
		t.Run(name, func(t *testing.T) {
			dsn := testenv.WithParam(server, "table", testenv.MySQLTable(t, server))
			m, _, _ := openMySQL(t, dsn, 0)
			m.chunk = 300
			if err := m.Write(append(testRecords(1, 1), mixedRecords(2, 3, 0)[:0]...)); err != nil {
				t.Fatal(err)
			}
			if err := m.Write([]Record{mixedRecords(1, 1, 20)[0], mixedRecords(1, 1, 20)[0]}); err == nil {
				t.Fatal("LSN 1 twice accepted")
			}
			r2, r3 := mixedRecords(1, 1, 20)[0], mixedRecords(1, 1, 20)[0]
			r2.LSN, r3.LSN = 2, 3
			if err := m.Write([]Record{r2, r3}); err != nil {
				t.Fatal(err)
			}
			m.Close()
			db, table := rawDB(t, dsn)
			mustExec(t, db, fmt.Sprintf(damage, table))
			if _, _, err := OpenMySQL(dsn, 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v; want ErrCorrupt", err)
			}
		})
	}
}

// TestMySQLOldTable: a journal table created before records were chunked
// (primary key lsn, no chunk column) gets the column at open, keeps its
// records and takes chunked ones after them.
func TestMySQLOldTable(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	db, table := rawDB(t, dsn)
	mustExec(t, db, "CREATE TABLE "+table+" (lsn BIGINT UNSIGNED NOT NULL PRIMARY KEY, version TINYINT UNSIGNED NOT NULL, "+
		"body LONGBLOB NOT NULL, crc INT UNSIGNED NOT NULL) ENGINE=InnoDB")
	old := testRecords(1, 5)
	for _, r := range old {
		b, _, err := appendBodies(nil, r, ChunkSize, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, "INSERT INTO "+table+" (lsn, version, body, crc) VALUES (?, ?, ?, ?)", r.LSN, b[0], b[bodyPrefix:], bodyCRC(b))
	}
	// bourse verify reads it as it is: it changes nothing.
	var scanned []Record
	if rec, err := ScanMySQL(dsn, 0, func(r Record) error { scanned = append(scanned, r); return nil }); err != nil || rec.Records != 5 {
		t.Fatalf("ScanMySQL of an old table: %+v, %v", rec, err)
	}
	sameRecords(t, scanned, old)
	var cols int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'chunk'",
		strings.Trim(table, "`")).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("ScanMySQL altered the table (%d chunk columns, %v)", cols, err)
	}
	m, rec, got := openMySQL(t, dsn, 0)
	if rec.Records != 5 {
		t.Fatalf("%+v", rec)
	}
	sameRecords(t, got, old)
	m.chunk = 300
	big := mixedRecords(6, 6, 20)[0]
	if err := m.Write([]Record{big}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	_, rec, got = openMySQL(t, dsn, 0)
	if rec.Records != 6 {
		t.Fatalf("%+v", rec)
	}
	sameRecords(t, got, append(old, big))
}

// TestMySQLSizes: rows and INSERTs stay within the server's
// max_allowed_packet, at most ChunkSize and 4 MiB; a server whose packet
// cannot take a row of one event of MaxEvent bytes is refused at open.
func TestMySQLSizes(t *testing.T) {
	for _, packet := range []int{64 << 20, 16 << 20, 4 << 20, 2<<20 + 8192, 1 << 20, 2*minChunk + mysqlRowCost + mysqlSlack} {
		statement, chunk, err := mysqlSizes(packet)
		if err != nil {
			t.Fatalf("packet %d: %v", packet, err)
		}
		if chunk > ChunkSize || chunk < minChunk || 2*chunk+mysqlRowCost > statement || statement > packet-mysqlSlack || statement > 4<<20 {
			t.Fatalf("packet %d: statement %d, chunk %d", packet, statement, chunk)
		}
	}
	if _, _, err := mysqlSizes(2*minChunk + mysqlRowCost + mysqlSlack - 1); err == nil || !strings.Contains(err.Error(), "max_allowed_packet") {
		t.Fatalf("a packet too small: %v", err)
	}
}
