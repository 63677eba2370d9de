package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Files is the embedded journal backend: segment files in one directory,
// named by the LSN of their first record (00000000000000000001.seg). Not
// safe for concurrent use: the journal writer owns it.
type Files struct {
	dir         string
	segmentSize int64
	f           File // current segment, opened for writing at size
	size        int64
	lastLSN     uint64
	chunk       int // ChunkSize; tests lower it
	buf         []byte
	ends        []int
	wrap        func(File) File // WrapFile when opened

	// The positions Files returns to after a failure: the end of the last
	// successful Write and of the last successful Sync, in the current
	// segment, with the LSN of the last record before each.
	written, synced       int64
	writtenLSN, syncedLSN uint64
	// broken is set when a failure could not be undone: every later Write
	// and Sync returns it.
	broken error
}

// File is what Files does with a segment file open for writing; *os.File
// implements it.
type File interface {
	Write([]byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Seek(offset int64, whence int) (int64, error)
	Close() error
	Name() string
}

// WrapFile, when set, wraps every segment file that OpenFiles and the
// following Writes open for writing. For tests only: they observe the
// operations (which segment was fsynced before it was closed) or make them
// fail (a disk that fills). Set it before OpenFiles; Files keeps the value
// it had then.
var WrapFile func(File) File

// ErrOutcomeUnknown is wrapped by the error of a Write or Sync that failed
// and could not return the journal to where it was before (the truncation
// or its fsync failed too, or a MySQL COMMIT got no answer): the records of
// that call may or may not be in the journal after a restart. The backend
// refuses everything after it. The writer then stops the node (fail-stop).
var ErrOutcomeUnknown = errors.New("journal: outcome unknown")

// SegmentSize is when Files starts a new segment, unless OpenFiles is given
// a size. Tests lower it to exercise segment rolling and removal.
var SegmentSize int64 = 64 << 20

const segExt = ".seg"

// Recovery reports what Open found.
type Recovery struct {
	Segments int
	Records  int
	LastLSN  uint64
	// TornBytes is how many bytes were cut from the end of the last segment,
	// and TornReason why (empty when nothing was cut).
	TornBytes  int64
	TornReason string
}

// OpenFiles opens (creating if needed) the journal in dir, reads every
// record with LSN > after in order into replay, cuts a torn tail, and
// returns the backend ready to append after the last record. See ScanFiles
// for reading without changing anything.
func OpenFiles(dir string, segmentSize int64, after uint64, replay func(Record) error) (*Files, Recovery, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, Recovery{}, err
	}
	return openFiles(dir, segmentSize, after, replay, false)
}

// ScanFiles reads the journal in dir as OpenFiles does — every record with
// LSN > after into replay, the same checks — but changes nothing: it
// creates no directory (a missing one is an empty journal), and a torn tail
// is reported in the Recovery but not cut. It is safe on the directory of a
// running node: a record still being written at the end shows as a torn
// tail and is ignored. bourse verify uses it.
func ScanFiles(dir string, after uint64, replay func(Record) error) (Recovery, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return Recovery{}, nil
	}
	_, rec, err := openFiles(dir, 0, after, replay, true)
	return rec, err
}

func openFiles(dir string, segmentSize int64, after uint64, replay func(Record) error, readOnly bool) (*Files, Recovery, error) {
	var rec Recovery
	if segmentSize <= 0 {
		segmentSize = SegmentSize
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, rec, err
	}
	rec.Segments = len(segs)
	j := &Files{dir: dir, segmentSize: segmentSize, wrap: WrapFile, chunk: ChunkSize}
	var data []byte // one buffer for every segment: records do not point into it
	for i, seg := range segs {
		last := i == len(segs)-1
		if data, err = readInto(data[:0], filepath.Join(dir, seg.name)); err != nil {
			return nil, rec, err
		}
		var off int
		if off, err = j.replaySegment(seg.name, data, last, after, replay, &rec); err != nil {
			return nil, rec, err
		}
		if last && !readOnly {
			if err := j.openTail(filepath.Join(dir, seg.name), int64(off), rec.TornBytes > 0); err != nil {
				return nil, rec, err
			}
		}
	}
	rec.LastLSN = j.lastLSN
	if j.lastLSN < after {
		j.lastLSN = after
	}
	j.writtenLSN, j.syncedLSN = j.lastLSN, j.lastLSN
	return j, rec, nil
}

// replaySegment checks the records in data, the bytes of segment name, and
// passes those with an LSN above after to replay (if not nil); it returns
// the offset where the last whole record ends. A record cut short at the
// end of the last segment is a torn tail, noted in rec; anywhere else it is
// ErrCorrupt.
func (j *Files) replaySegment(name string, data []byte, last bool, after uint64, replay func(Record) error, rec *Recovery) (int, error) {
	decode := func(lsn uint64) bool { return lsn > after && replay != nil }
	off := 0
	for off < len(data) {
		// Records the caller already holds (a snapshot covers them) are
		// checked — framing, checksum, chunks, LSN order — but not
		// decoded.
		r, n, bad, rerr := nextRecord(data[off:], decode)
		if n == 0 {
			// A record cut short at the end of the last segment is a torn
			// tail, cut whole: never a part of a command's chunks.
			if !last || errors.Is(rerr, errChunkOrder) || validAfter(data[min(off+bad+1, len(data)):], j.lastLSN) {
				return 0, fmt.Errorf("%w: segment %s offset %d: %v", ErrCorrupt, name, off+bad, rerr)
			}
			rec.TornBytes = int64(len(data) - off)
			rec.TornReason = fmt.Sprintf("segment %s offset %d: %v", name, off+bad, rerr)
			break
		}
		lsn := r.LSN
		if j.lastLSN != 0 && lsn != j.lastLSN+1 {
			return 0, fmt.Errorf("%w: segment %s offset %d: LSN %d after %d", ErrCorrupt, name, off, lsn, j.lastLSN)
		}
		j.lastLSN = lsn
		rec.Records++
		if lsn > after && replay != nil {
			if err := replay(r); err != nil {
				return 0, err
			}
		}
		off += n
	}
	return off, nil
}

// openTail opens the last segment, at path, for appending at off; when
// torn it first cuts the file there and syncs the cut.
func (j *Files) openTail(path string, off int64, torn bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if torn {
		if err := f.Truncate(off); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	j.f, j.size = j.wrapped(f), off
	j.written, j.synced = j.size, j.size
	return nil
}

func (j *Files) wrapped(f *os.File) File {
	if j.wrap != nil {
		return j.wrap(f)
	}
	return f
}

// readInto reads the file at path into buf (grown if needed).
func readInto(buf []byte, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf = slices.Grow(buf[:0], int(fi.Size())+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 4096)
		}
	}
}

// validAfter reports whether b holds, at any offset, a valid frame (a
// record or a chunk of one) with an LSN above last: then a bad frame before
// it is damage in the middle of the journal, not a torn tail, and cutting
// there would drop durable records.
func validAfter(b []byte, last uint64) bool {
	for i := 0; i+headerSize < len(b); i++ {
		if body, n, _ := frame(b[i:]); n > 0 {
			if c, err := parseBody(body); err == nil && c.lsn > last {
				return true
			}
		}
	}
	return false
}

type segment struct {
	name  string
	first uint64
}

func segments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, segment{name, first})
	}
	sort.Slice(segs, func(i, k int) bool { return segs[i].first < segs[k].first })
	return segs, nil
}

// LastLSN is the LSN of the last record written (or recovered).
func (j *Files) LastLSN() uint64 { return j.lastLSN }

// Write appends records (LSNs must continue the journal) to the OS; Sync
// makes them durable. A record is written as one frame, or as the frames
// of its chunks (none over ChunkSize) when it is larger; all of a batch's
// frames go to one segment in one write, so a record never spans segments.
// If the write fails, Write returns the segment to where it was before the
// call (it truncates and fsyncs it) and the error; if that fails too, the
// error wraps ErrOutcomeUnknown.
func (j *Files) Write(records []Record) error {
	if len(records) == 0 {
		return nil
	}
	if j.broken != nil {
		return j.broken
	}
	j.buf = j.buf[:0]
	last := j.lastLSN
	for _, r := range records {
		if r.LSN != last+1 {
			return fmt.Errorf("journal: write LSN %d after %d", r.LSN, last)
		}
		var err error
		if j.buf, j.ends, err = appendBodies(j.buf, r, j.chunk, true, j.ends[:0]); err != nil {
			return err
		}
		last = r.LSN
	}
	if j.f == nil || j.size >= j.segmentSize {
		if err := j.roll(records[0].LSN); err != nil {
			return err
		}
	}
	n, err := j.f.Write(j.buf)
	j.size += int64(n)
	if cap(j.buf) > 4*ChunkSize {
		j.buf = nil // a large record's buffer is not kept
	}
	if err != nil {
		return j.rewind(j.written, j.writtenLSN, fmt.Errorf("journal: write: %w", err))
	}
	j.lastLSN = last
	j.written, j.writtenLSN = j.size, last
	return nil
}

// Sync flushes written records to stable storage. If the fsync fails,
// Sync returns the segment to where the last successful Sync left it (it
// truncates and fsyncs it: after a failed fsync the state of the written
// pages is unknowable), so LastLSN goes back to that sync's; if that fails
// too, the error wraps ErrOutcomeUnknown.
func (j *Files) Sync() error {
	if j.broken != nil {
		return j.broken
	}
	if j.f == nil {
		return nil
	}
	if err := j.f.Sync(); err != nil {
		return j.rewind(j.synced, j.syncedLSN, fmt.Errorf("journal: fsync: %w", err))
	}
	j.synced, j.syncedLSN = j.size, j.lastLSN
	return nil
}

// rewind returns the current segment to offset off, the end of record lsn,
// after cause: it truncates the segment there and fsyncs it. It returns
// cause, or, when the segment cannot be returned, an error wrapping
// ErrOutcomeUnknown that every later call returns too.
func (j *Files) rewind(off int64, lsn uint64, cause error) error {
	err := j.f.Truncate(off)
	if err == nil {
		err = j.f.Sync()
	}
	if err == nil {
		_, err = j.f.Seek(off, io.SeekStart)
	}
	if err != nil {
		j.broken = fmt.Errorf("%w: %v; returning segment %s to offset %d (LSN %d) failed: %v", ErrOutcomeUnknown, cause, j.f.Name(), off, lsn, err)
		return j.broken
	}
	j.size, j.written, j.synced = off, off, min(j.synced, off)
	j.lastLSN, j.writtenLSN, j.syncedLSN = lsn, lsn, min(j.syncedLSN, lsn)
	return fmt.Errorf("%w (journal returned to LSN %d)", cause, lsn)
}

// roll fsyncs and closes the current segment and starts a new one whose
// first record is first. The old segment must be fsynced before it is
// closed: in batch mode its last records may not be yet, and a torn old
// segment followed by an intact new one is corruption, not a torn tail.
func (j *Files) roll(first uint64) error {
	if j.f != nil {
		if err := j.Sync(); err != nil {
			return err
		}
		err := j.f.Close()
		j.f = nil
		if err != nil {
			return fmt.Errorf("journal: close segment: %w", err)
		}
	}
	name := filepath.Join(j.dir, fmt.Sprintf("%020d%s", first, segExt))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("journal: new segment: %w", err)
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	j.f, j.size = j.wrapped(f), 0
	j.written, j.synced = 0, 0
	j.writtenLSN, j.syncedLSN = j.lastLSN, j.lastLSN
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("journal: fsync dir: %w", err)
	}
	return nil
}

// Close syncs and closes the current segment (it only closes it after a
// failure that could not be undone).
func (j *Files) Close() error {
	if j.f == nil {
		return nil
	}
	err := j.broken
	if err == nil {
		err = j.Sync()
	}
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}

// ReadFiles reads the records of the journal in dir with after < LSN ≤ upto,
// in order, while a writer may be appending: it stops at upto, before any
// record still being written. A damaged record before upto is an error, and
// so is a gap: the records must run from after+1 to upto exactly.
func ReadFiles(dir string, after, upto uint64, fn func(Record) error) error {
	if upto <= after {
		return nil
	}
	next := after + 1
	err := readFiles(dir, after, upto, func(r Record) error {
		if r.LSN != next {
			return fmt.Errorf("%w: record %d where %d was expected", ErrCorrupt, r.LSN, next)
		}
		next++
		return fn(r)
	})
	if err == nil && next != upto+1 {
		err = fmt.Errorf("%w: records %d..%d are missing", ErrCorrupt, next, upto)
	}
	return err
}

func readFiles(dir string, after, upto uint64, fn func(Record) error) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	for i, seg := range segs {
		if i+1 < len(segs) && segs[i+1].first <= after+1 {
			continue // every record of this segment is ≤ after
		}
		if seg.first > upto {
			break
		}
		data, err := os.ReadFile(filepath.Join(dir, seg.name))
		if err != nil {
			return err
		}
		decode := func(lsn uint64) bool { return lsn > after && lsn <= upto }
		for off := 0; off < len(data); {
			r, n, bad, rerr := nextRecord(data[off:], decode)
			if n == 0 {
				return fmt.Errorf("%w: segment %s offset %d: %v", ErrCorrupt, seg.name, off+bad, rerr)
			}
			off += n
			if r.LSN <= after {
				continue
			} else if r.LSN > upto {
				return nil
			}
			if err := fn(r); err != nil {
				return err
			}
			if r.LSN == upto {
				return nil
			}
		}
	}
	return nil
}

// Read is ReadFiles on this journal's directory; it is safe to call while
// the writer appends.
func (j *Files) Read(after, upto uint64, fn func(Record) error) error {
	return ReadFiles(j.dir, after, upto, fn)
}

// String names the journal: its directory.
func (j *Files) String() string { return j.dir }

// RemoveCovered deletes the segments in dir all of whose records have
// LSN ≤ lsn (a snapshot covers them). The newest segment is always kept.
// It returns how many segments it removed.
func RemoveCovered(dir string, lsn uint64) (int, error) {
	segs, err := segments(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := 0; i+1 < len(segs); i++ {
		if segs[i+1].first > lsn+1 {
			break
		}
		if err := os.Remove(filepath.Join(dir, segs[i].name)); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		return n, syncDir(dir)
	}
	return 0, nil
}
