package journal

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Identity names one journal: a random ID fixed when the journal is
// created, and its timelines. A timeline is a line of history: the first
// starts at the journal's creation; a new one starts after LSN n when the
// journal is restored from a backup taken at n (or otherwise found cut
// back to n), so that records written after n on the old timeline and on
// the new one, which share their LSNs, are never taken for one another.
//
// The identity is backend metadata kept beside the records, never a record:
// the file IdentityFile in the segment-file directory, a row of the table
// MetaTable for the MySQL backend. Every journal follower stores the mark
// (Identity.Mark) of the journal it follows with its cursor, and checks it
// at start with Identity.Check.
type Identity struct {
	// ID is 32 hex digits, random.
	ID string
	// Timelines, oldest first; the last is the current one.
	Timelines []Timeline
}

// Timeline is one timeline of a journal: it shares the records up to After
// with the timeline before it (none for the first, whose After is 0).
type Timeline struct {
	ID    string // 16 hex digits, random
	After uint64
}

// IdentityFile is the identity's file in a segment-file journal directory.
const IdentityFile = "IDENTITY"

const identityHeader = "bourse journal identity v1"

// NewIdentity returns a new journal's identity: a random ID and a first
// timeline.
func NewIdentity() Identity {
	return Identity{ID: randomHex(16), Timelines: []Timeline{{ID: randomHex(8)}}}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on the supported systems
	}
	return hex.EncodeToString(b)
}

// Current is the current timeline.
func (id Identity) Current() Timeline { return id.Timelines[len(id.Timelines)-1] }

// Mark is what a follower stores beside its cursor: the journal ID and the
// current timeline's ID, "ID/TIMELINE".
func (id Identity) Mark() string { return id.ID + "/" + id.Current().ID }

// String names the identity for messages: its ID, and the current
// timeline's number (1 for the first) and ID.
func (id Identity) String() string {
	return fmt.Sprintf("journal %s timeline %d (%s)", id.ID, len(id.Timelines), id.Current().ID)
}

// Branch returns the identity with a new current timeline that shares the
// records up to after with the current one.
func (id Identity) Branch(after uint64) Identity {
	tl := append(append([]Timeline(nil), id.Timelines...), Timeline{ID: randomHex(8), After: after})
	return Identity{ID: id.ID, Timelines: tl}
}

// Fit says how a follower's stored mark and cursor relate to a journal.
type Fit int

// Fits of Verdict.
const (
	// Fits: the follower holds records of this journal up to its cursor:
	// it resumes there.
	Fits Fit = iota
	// Ahead: the follower follows this journal but holds records after
	// Verdict.Keep that the journal no longer has (restored from a backup,
	// or cut back): what it holds after Keep belongs to a discarded
	// timeline.
	Ahead
	// Foreign: the follower holds records of another journal, or of an
	// unknown timeline of this one, or is unmarked and ahead of it.
	Foreign
)

// Verdict is the outcome of Identity.Check.
type Verdict struct {
	Fit Fit
	// Keep is the last LSN of what the follower holds that the journal
	// shares (Fits: its cursor; Ahead: where the journal's timeline left
	// the follower's; Foreign: 0).
	Keep uint64
	// Why explains an Ahead or Foreign verdict in words, for messages.
	Why string
	// Current: the follower's mark is of the journal's current timeline.
	// Ahead and Current together mean the journal was cut back (restored
	// by other means than a backup's first start) without a new timeline.
	Current bool
}

// Check tells a follower that holds the records up to cursor of the journal
// marked mark ("" for a follower that stored no mark: made before journal
// identities, or empty) how that relates to this journal, whose last record
// when it was opened is end. An unmarked follower fits if its cursor is not
// beyond end (an upgrade: it is taken as following this journal).
func (id Identity) Check(mark string, cursor, end uint64) Verdict {
	if mark == "" {
		if cursor <= end {
			return Verdict{Fit: Fits, Keep: cursor}
		}
		return Verdict{Fit: Foreign, Why: fmt.Sprintf("it holds records up to LSN %d of an unidentified journal; %s ends at LSN %d", cursor, id, end)}
	}
	jid, tid, _ := strings.Cut(mark, "/")
	if jid != id.ID {
		return Verdict{Fit: Foreign, Why: fmt.Sprintf("it holds records up to LSN %d of journal %s, not of %s", cursor, jid, id)}
	}
	for i, tl := range id.Timelines {
		if tl.ID != tid {
			continue
		}
		limit := end
		current := i+1 == len(id.Timelines)
		if !current {
			limit = min(limit, id.Timelines[i+1].After)
		}
		if cursor <= limit {
			return Verdict{Fit: Fits, Keep: cursor, Current: current}
		}
		why := fmt.Sprintf("it holds records up to LSN %d of timeline %d (%s), which %s shares only up to LSN %d", cursor, i+1, tid, id, limit)
		if current {
			why = fmt.Sprintf("it holds records up to LSN %d of %s, which ends at LSN %d (restored or cut back)", cursor, id, end)
		}
		return Verdict{Fit: Ahead, Keep: limit, Why: why, Current: current}
	}
	return Verdict{Fit: Foreign, Why: fmt.Sprintf("it holds records up to LSN %d of timeline %s of journal %s, a timeline %s does not have (another copy of it went its own way)", cursor, tid, jid, id)}
}

// Encode writes the identity as text: a header line, "id ID", then a line
// "timeline ID AFTER" per timeline.
func (id Identity) Encode() []byte {
	var b strings.Builder
	b.WriteString(identityHeader + "\nid " + id.ID + "\n")
	for _, tl := range id.Timelines {
		fmt.Fprintf(&b, "timeline %s %d\n", tl.ID, tl.After)
	}
	return []byte(b.String())
}

// ParseIdentity reads what Encode wrote. Lines it does not know are an
// error, except those after a line "--" (left to the caller).
func ParseIdentity(data []byte) (Identity, error) {
	var id Identity
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	if !sc.Scan() || sc.Text() != identityHeader {
		return id, errors.New("journal identity: bad header")
	}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "id" && id.ID == "" && isHex(f[1], 32):
			id.ID = f[1]
		case len(f) == 3 && f[0] == "timeline" && isHex(f[1], 16):
			after, err := strconv.ParseUint(f[2], 10, 64)
			if err != nil || (len(id.Timelines) > 0 && after < id.Timelines[len(id.Timelines)-1].After) {
				return id, fmt.Errorf("journal identity: bad line %q", sc.Text())
			}
			id.Timelines = append(id.Timelines, Timeline{ID: f[1], After: after})
		default:
			return id, fmt.Errorf("journal identity: bad line %q", sc.Text())
		}
	}
	if id.ID == "" || len(id.Timelines) == 0 {
		return id, errors.New("journal identity: no id or no timeline")
	}
	return id, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ReadIdentityFile reads the identity of the segment-file journal in dir
// (nil when it has none: a new journal, or one made before identities).
func ReadIdentityFile(dir string) (*Identity, error) {
	data, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := ParseIdentity(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, IdentityFile), err)
	}
	return &id, nil
}

// WriteIdentityFile stores id as the identity of the journal in dir
// (created if needed), atomically: a temporary file, fsync, rename, fsync
// of the directory.
func WriteIdentityFile(dir string, id Identity) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, IdentityFile), id.Encode())
}

// WriteFileAtomic replaces path by data: a temporary file beside it,
// fsync, rename, fsync of the directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return syncDir(dir)
}

// RemoveTemp removes the temporary files ("tmp-*") that a write
// interrupted by a crash left in dir — WriteFileAtomic's, a snapshot's or a
// market-data checkpoint's — and returns their names. Only the process
// that writes in dir may call it (the node, at start, holding the data
// directory's lock): it would remove a write in progress.
func RemoveTemp(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "tmp-*"))
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, name := range names {
		if err := os.Remove(name); err != nil {
			return removed, err
		}
		removed = append(removed, name)
	}
	return removed, nil
}

// Identity returns the journal's identity (nil when it has none yet).
func (j *Files) Identity() (*Identity, error) { return ReadIdentityFile(j.dir) }

// SetIdentity stores the journal's identity.
func (j *Files) SetIdentity(id Identity) error { return WriteIdentityFile(j.dir, id) }
