package journal

import (
	"fmt"
	"os"
	"path/filepath"
)

// TruncateAfter removes every record with LSN > lsn and makes the cut
// durable: segments that start after lsn are removed, the one holding lsn
// is cut at that record's end and fsynced, and the next Write continues at
// lsn+1. It is how a Raft follower drops the uncommitted tail its leader's
// log replaces (persistence/raftlog); records ≤ lsn are untouched. A lsn at
// or past the last record changes nothing; one below the first record kept
// removes every segment, as ResetAfter does.
func (j *Files) TruncateAfter(lsn uint64) error {
	if j.broken != nil {
		return j.broken
	}
	if lsn >= j.lastLSN {
		return nil
	}
	return j.cut(lsn, false)
}

// ResetAfter removes every segment and makes the journal continue at
// after+1, whatever it held: a Raft snapshot at after replaced the log (a
// follower too far behind to catch up from it).
func (j *Files) ResetAfter(after uint64) error {
	if j.broken != nil {
		return j.broken
	}
	return j.cut(after, true)
}

// cut closes the segment being written, removes the segments after lsn
// (all of them with all) and reopens the one holding lsn at its end.
func (j *Files) cut(lsn uint64, all bool) error {
	if j.f != nil {
		err := j.f.Close()
		j.f = nil
		if err != nil {
			return fmt.Errorf("journal: close segment: %w", err)
		}
	}
	segs, err := segments(j.dir)
	if err != nil {
		return err
	}
	removed := false
	for len(segs) > 0 && (all || segs[len(segs)-1].first > lsn) {
		if err := os.Remove(filepath.Join(j.dir, segs[len(segs)-1].name)); err != nil {
			return j.fail(err)
		}
		segs, removed = segs[:len(segs)-1], true
	}
	if removed {
		if err := syncDir(j.dir); err != nil {
			return j.fail(err)
		}
	}
	j.size, j.written, j.synced = 0, 0, 0
	if len(segs) > 0 {
		path := filepath.Join(j.dir, segs[len(segs)-1].name)
		off, err := endOf(path, lsn)
		if err != nil {
			return j.fail(err)
		}
		if err := j.openTail(path, off, true); err != nil {
			return j.fail(err)
		}
	}
	j.lastLSN, j.writtenLSN, j.syncedLSN = lsn, lsn, lsn
	return nil
}

// fail marks the journal broken after a cut that did not complete: what it
// holds past the cut is unknown until it is opened again.
func (j *Files) fail(err error) error {
	j.broken = fmt.Errorf("%w: truncating the journal: %v", ErrOutcomeUnknown, err)
	return j.broken
}

// endOf returns the offset in the segment at path where record lsn ends.
func endOf(path string, lsn uint64) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for off := 0; off < len(data); {
		r, n, bad, rerr := nextRecord(data[off:], nil)
		if n == 0 {
			return 0, fmt.Errorf("%w: segment %s offset %d: %v", ErrCorrupt, filepath.Base(path), off+bad, rerr)
		}
		off += n
		if r.LSN == lsn {
			return int64(off), nil
		}
	}
	return 0, fmt.Errorf("%w: segment %s does not hold record %d", ErrCorrupt, filepath.Base(path), lsn)
}

// TruncateAfter is Files.TruncateAfter for the table: one DELETE of the
// rows after lsn, committed before it returns (a record's chunks share its
// LSN, so a record goes whole).
func (m *MySQL) TruncateAfter(lsn uint64) error {
	if m.broken != nil {
		return m.broken
	}
	if lsn >= m.lastLSN {
		return nil
	}
	return m.deleteAfter(lsn, lsn)
}

// ResetAfter is Files.ResetAfter for the table: every row is deleted and
// the journal continues at after+1.
func (m *MySQL) ResetAfter(after uint64) error {
	if m.broken != nil {
		return m.broken
	}
	return m.deleteAfter(0, after)
}

// deleteAfter deletes the rows with LSN > cut; the journal's last LSN is
// then last. A DELETE whose outcome is not known (the connection lost
// during it) makes every later call fail, as a failed COMMIT does.
func (m *MySQL) deleteAfter(cut, last uint64) error {
	if err := m.claim.lost(); err != nil {
		return err
	}
	if _, err := m.db.Exec("DELETE FROM `"+m.table+"` WHERE lsn > ?", cut); err != nil {
		m.broken = fmt.Errorf("%w: %s: delete after LSN %d: %v", ErrOutcomeUnknown, m.where, cut, err)
		return m.broken
	}
	m.lastLSN = last
	return nil
}
