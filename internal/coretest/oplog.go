package coretest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OpLogVar names an op log to replay: a test that plays generated
// commands plays the log's instead when the log is of its run (same test
// name and seed).
const OpLogVar = "BOURSE_OPLOG"

// OpLog is a command stream as text: a header line {"seed":S} naming the
// run, then one command per line as a JSON object (op by name, zero fields
// left out). A failing run writes one; replaying it plays the same
// commands without the generator.
type OpLog struct {
	Name string `json:"name"` // the test that played it
	Seed uint64 `json:"seed"`
	Cmds []*Cmd `json:"-"`
}

// MarshalText writes an op by name.
func (o Op) MarshalText() ([]byte, error) {
	if int(o) >= len(opNames) {
		return nil, fmt.Errorf("coretest: unknown op %d", o)
	}
	return []byte(opNames[o]), nil
}

// UnmarshalText reads an op by name.
func (o *Op) UnmarshalText(b []byte) error {
	for i, name := range opNames {
		if name == string(b) {
			*o = Op(i)
			return nil
		}
	}
	return fmt.Errorf("coretest: unknown op %q", b)
}

// Write writes the log to path.
func (l *OpLog) Write(path string) error {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	if err := enc.Encode(l); err != nil {
		return err
	}
	for _, c := range l.Cmds {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// SaveFailed writes the log of a failed run to a new file under the
// system's temporary directory, named after the test, and returns how to
// replay it (the variable to set) or why it could not be written.
func (l *OpLog) SaveFailed() string {
	clean := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\'' || r == '$' {
			return '_'
		}
		return r
	}, l.Name)
	f, err := os.CreateTemp("", "oplog-"+clean+"-*.jsonl")
	if err != nil {
		return "op log not written: " + err.Error()
	}
	f.Close()
	path, _ := filepath.Abs(f.Name())
	if err := l.Write(path); err != nil {
		return "op log not written: " + err.Error()
	}
	return fmt.Sprintf("op log of the %d commands: replay with %s=%s", len(l.Cmds), OpLogVar, path)
}

// ReadOpLog reads the log at path.
func ReadOpLog(path string) (*OpLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	l := &OpLog{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			err = json.Unmarshal(line, l)
		} else {
			c := &Cmd{}
			err = json.Unmarshal(line, c)
			l.Cmds = append(l.Cmds, c)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	return l, sc.Err()
}

// LoggedOpLog returns the log named by $BOURSE_OPLOG when it is the log of
// test name's run of seed; nil when the variable is unset or names another
// run's log.
func LoggedOpLog(name string, seed uint64) (*OpLog, error) {
	path := os.Getenv(OpLogVar)
	if path == "" {
		return nil, nil
	}
	l, err := ReadOpLog(path)
	if err != nil || l.Name != name || l.Seed != seed {
		return nil, err
	}
	return l, nil
}

// Replay is a Stream playing a log's commands.
type Replay struct {
	cmds []*Cmd
}

// NewReplay returns a stream of l's commands.
func NewReplay(l *OpLog) *Replay { return &Replay{cmds: l.Cmds} }

// Next implements Stream.
func (r *Replay) Next() *Cmd {
	if len(r.cmds) == 0 {
		return nil
	}
	c := r.cmds[0]
	r.cmds = r.cmds[1:]
	return c
}
