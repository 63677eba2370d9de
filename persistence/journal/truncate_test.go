package journal

import (
	"errors"
	"os"
	"testing"
)

// lsns opens the journal in dir and returns the LSNs it holds after after.
func lsns(t *testing.T, dir string, after uint64) []uint64 {
	t.Helper()
	var got []uint64
	j, _, err := OpenFiles(dir, 64, after, func(r Record) error { got = append(got, r.LSN); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestTruncateAfter(t *testing.T) {
	for _, cut := range []uint64{0, 1, 4, 5, 8, 9, 12} {
		dir := t.TempDir()
		writeN(t, dir, 64, 9) // a few records per segment
		j, _, err := OpenFiles(dir, 64, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.TruncateAfter(cut); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		last := min(cut, 9)
		if j.LastLSN() != last {
			t.Fatalf("cut %d: LastLSN %d", cut, j.LastLSN())
		}
		// The journal continues after the cut with other records.
		for lsn := last + 1; lsn <= last+3; lsn++ {
			if err := j.Write([]Record{rec(lsn + 100)}); err == nil {
				t.Fatalf("cut %d: wrote LSN %d after %d", cut, lsn+100, lsn-1)
			}
			if err := j.Write([]Record{rec(lsn)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		got := lsns(t, dir, 0)
		if len(got) != int(last)+3 {
			t.Fatalf("cut %d: reopened %v", cut, got)
		}
		for i, lsn := range got {
			if lsn != uint64(i+1) {
				t.Fatalf("cut %d: reopened %v", cut, got)
			}
		}
	}
}

func TestResetAfter(t *testing.T) {
	dir := t.TempDir()
	writeN(t, dir, 64, 9)
	j, _, err := OpenFiles(dir, 64, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.ResetAfter(20); err != nil {
		t.Fatal(err)
	}
	if err := j.Write([]Record{rec(21), rec(22)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if got := lsns(t, dir, 20); len(got) != 2 || got[0] != 21 || got[1] != 22 {
		t.Fatalf("after reset: %v", got)
	}
	segs, err := segments(dir)
	if err != nil || len(segs) != 1 || segs[0].first != 21 {
		t.Fatalf("segments %v %v", segs, err)
	}
}

func TestTruncateAfterRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	writeN(t, dir, 1<<20, 5) // one segment
	j, _, err := OpenFiles(dir, 1<<20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := segments(dir)
	corruptAt(t, dir+"/"+segs[0].name, 10) // inside record 1
	if err := j.TruncateAfter(3); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("cut through damage: %v", err)
	}
	if err := j.Write([]Record{rec(4)}); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("write after a failed cut: %v", err)
	}
}

// corruptAt flips a byte of the file at path.
func corruptAt(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
