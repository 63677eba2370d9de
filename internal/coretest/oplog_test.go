package coretest

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestOpLogReplays: a generated stream written as an op log reads back as
// the same commands, and replaying them reaches the same reference state
// as the seeded run did.
func TestOpLogReplays(t *testing.T) {
	cfg := DefaultConfig()
	const seed, steps = 3, 2000
	var played []*Cmd
	st, err := DiffStream(cfg, 2, 4, steps, func(ref *Ref) Stream {
		return recordStream{NewGen(cfg, NewRandSource(seed), ref, 4), &played}
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.jsonl")
	if err := (&OpLog{Name: t.Name(), Seed: seed, Cmds: played}).Write(path); err != nil {
		t.Fatal(err)
	}
	l, err := ReadOpLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != t.Name() || l.Seed != seed || !reflect.DeepEqual(l.Cmds, played) {
		t.Fatalf("read back %q seed %d, %d commands; wrote %q seed %d, %d commands", l.Name, l.Seed, len(l.Cmds), t.Name(), seed, len(played))
	}
	again, err := DiffStream(cfg, 2, 4, steps, func(*Ref) Stream { return NewReplay(l) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, st) {
		t.Fatalf("replay reached %s; the seeded run %s", again, st)
	}
	if st.Triggers == 0 || st.Amends == 0 || len(st.Codes) < 3 {
		t.Fatalf("the stream exercised too little to tell runs apart: %s", st)
	}
}

type recordStream struct {
	Stream
	played *[]*Cmd
}

func (r recordStream) Next() *Cmd {
	c := r.Stream.Next()
	if c != nil {
		*r.played = append(*r.played, c)
	}
	return c
}
