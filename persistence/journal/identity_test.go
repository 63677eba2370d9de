package journal

import (
	"os"
	"testing"
)

// TestIdentityCheck: every case of Check, and the identity's file round
// trip.
func TestIdentityCheck(t *testing.T) {
	id := NewIdentity()
	b := id.Branch(10) // restored at 10: timeline 2
	for _, c := range []struct {
		name   string
		mark   string
		cursor uint64
		end    uint64
		fit    Fit
		keep   uint64
	}{
		{"unmarked empty", "", 0, 0, Fits, 0},
		{"unmarked within (upgrade)", "", 5, 7, Fits, 5},
		{"unmarked ahead", "", 8, 7, Foreign, 0},
		{"current within", b.Mark(), 12, 15, Fits, 12},
		{"current ahead (cut back)", b.Mark(), 16, 15, Ahead, 15},
		{"old timeline shared", id.Mark(), 10, 15, Fits, 10},
		{"old timeline discarded", id.Mark(), 14, 15, Ahead, 10},
		{"another journal", NewIdentity().Mark(), 3, 15, Foreign, 0},
		{"unknown timeline", id.ID + "/0123456789abcdef", 3, 15, Foreign, 0},
	} {
		v := b.Check(c.mark, c.cursor, c.end)
		if v.Fit != c.fit || v.Keep != c.keep || (v.Fit != Fits) != (v.Why != "") {
			t.Errorf("%s: %+v; want fit %d keep %d", c.name, v, c.fit, c.keep)
		}
	}
	dir := t.TempDir()
	if got, err := ReadIdentityFile(dir); got != nil || err != nil {
		t.Fatalf("no file: %v, %v", got, err)
	}
	if err := WriteIdentityFile(dir, b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadIdentityFile(dir)
	if err != nil || got.Mark() != b.Mark() || len(got.Timelines) != 2 || got.Timelines[1].After != 10 {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, b)
	}
	os.WriteFile(dir+"/"+IdentityFile, []byte("bourse journal identity v1\nid zz\n"), 0o644)
	if _, err := ReadIdentityFile(dir); err == nil {
		t.Error("a damaged identity file was read")
	}
}
