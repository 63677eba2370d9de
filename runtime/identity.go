package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	pj "github.com/bourse-exchange/bourse/persistence/journal"
)

// BindingFile is the file of a data directory that names the journal it
// belongs to: its backend, where it is, and its identity. A data directory
// started with another journal, or with none of its own (a MySQL journal's
// node started without -journal), is refused.
const BindingFile = "JOURNAL"

const bindingHeader = "bourse data directory v1"

// Binding is what BindingFile holds.
type Binding struct {
	// Backend is "files" (segment files under the data directory) or
	// "mysql".
	Backend string
	// Journal names it for messages (JournalName; never a password).
	Journal string
	// Identity is the journal's identity when the binding was written.
	Identity pj.Identity
	// Restored marks a backup that was not started yet: its state ends at
	// LSN RestoredAt, and its first start gives the journal a new timeline
	// (Identity.Branch) where the journal then ends.
	Restored   bool
	RestoredAt uint64
}

func (b *Binding) encode() []byte {
	var s strings.Builder
	s.WriteString(bindingHeader + "\n")
	fmt.Fprintf(&s, "backend %s\n", b.Backend)
	fmt.Fprintf(&s, "journal %s\n", b.Journal)
	if b.Restored {
		fmt.Fprintf(&s, "restored %d\n", b.RestoredAt)
	}
	s.Write(b.Identity.Encode())
	return []byte(s.String())
}

// ReadBinding reads dataDir's BindingFile (nil when there is none).
func ReadBinding(dataDir string) (*Binding, error) {
	path := filepath.Join(dataDir, BindingFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bad := func(why string) (*Binding, error) { return nil, fmt.Errorf("%s: %s", path, why) }
	text := string(data)
	head, rest, ok := strings.Cut(text, "\n")
	if !ok || head != bindingHeader {
		return bad("bad header")
	}
	b := &Binding{}
	sc := bufio.NewScanner(strings.NewReader(rest))
	used := len(head) + 1
	for sc.Scan() {
		line := sc.Text()
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "backend":
			b.Backend = val
		case "journal":
			b.Journal = val
		case "restored":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return bad("bad line " + strconv.Quote(line))
			}
			b.Restored, b.RestoredAt = true, n
		default:
			id, err := pj.ParseIdentity([]byte(text[used:]))
			if err != nil {
				return bad(err.Error())
			}
			b.Identity = id
			if b.Backend != "files" && b.Backend != "mysql" {
				return bad("bad backend " + strconv.Quote(b.Backend))
			}
			return b, nil
		}
		used += len(line) + 1
	}
	return bad("no journal identity")
}

// WriteBinding stores b as dataDir's BindingFile, atomically.
func WriteBinding(dataDir string, b *Binding) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	return pj.WriteFileAtomic(filepath.Join(dataDir, BindingFile), b.encode())
}

// identified is a journal backend that keeps its identity.
type identified interface {
	Identity() (*pj.Identity, error)
	SetIdentity(pj.Identity) error
}

// describe names a journal for messages: the MySQL name says "mysql", a
// directory gets "segment files in".
func describe(kind, name string) string {
	if kind == "files" {
		return "segment files in " + name
	}
	return name
}

func backendKind(journalDSN string) string {
	if journalDSN != "" {
		return "mysql"
	}
	return "files"
}

// bindJournal checks, at start, that the journal b (opened for dataDir and
// journalDSN, holding records records and ending at end) is the one the
// data directory belongs to, and returns its identity. A journal without
// one gets a new identity; a restored backup's first start gives the
// journal a new timeline after end. Then the data directory's binding is
// written. It refuses a journal other than the one the binding names.
func bindJournal(dataDir, journalDSN string, b Backend, records int, end uint64) (pj.Identity, error) {
	ib, ok := b.(identified)
	if !ok {
		return pj.Identity{}, fmt.Errorf("journal %T keeps no identity", b)
	}
	jid, err := ib.Identity()
	if err != nil {
		return pj.Identity{}, err
	}
	var bind *Binding
	if dataDir != "" {
		if bind, err = ReadBinding(dataDir); err != nil {
			return pj.Identity{}, err
		}
	}
	kind, name := backendKind(journalDSN), JournalName(dataDir, journalDSN)
	var id pj.Identity
	switch {
	case bind != nil:
		adopt := jid == nil && bind.Restored && records == 0 && bind.Backend == kind
		if bind.Backend != kind || (jid == nil && !adopt) || (jid != nil && jid.ID != bind.Identity.ID) {
			found := "which has no journal identity (new or empty)"
			if jid != nil {
				found = "which is " + jid.String()
			}
			how := "start it with -journal and that journal's DSN"
			if bind.Backend == "files" {
				how = "start it without -journal (and without journal.dsn in the configuration)"
			}
			return pj.Identity{}, fmt.Errorf("data directory %s belongs to the journal %s (%s); it was started with the journal %s, %s: %s, or use another data directory",
				dataDir, describe(bind.Backend, bind.Journal), bind.Identity, describe(kind, name), found, how)
		}
		id = bind.Identity
		if jid != nil {
			id = *jid
		}
		if bind.Restored {
			if end != bind.RestoredAt {
				return pj.Identity{}, fmt.Errorf("data directory %s is a backup that ends at LSN %d, but the journal %s goes on to LSN %d: "+
					"restoring needs a journal that ends where the backup does (for a MySQL journal, a new empty table)",
					dataDir, bind.RestoredAt, describe(kind, name), end)
			}
			id = id.Branch(end)
		}
	case jid != nil:
		id = *jid
	default:
		id = pj.NewIdentity()
	}
	if jid == nil || len(jid.Timelines) != len(id.Timelines) {
		if err := ib.SetIdentity(id); err != nil {
			return pj.Identity{}, err
		}
	}
	if dataDir != "" && (bind == nil || bind.Restored || len(bind.Identity.Timelines) != len(id.Timelines) || bind.Journal != name) {
		if err := WriteBinding(dataDir, &Binding{Backend: kind, Journal: name, Identity: id}); err != nil {
			return pj.Identity{}, err
		}
	}
	return id, nil
}

// newTimeline gives the journal a new timeline after the LSN where the node
// opened it, and records it in the data directory's binding: a store found
// ahead of the journal's current timeline showed that the journal was
// restored or cut back without one, and stores checked later must not take
// the records written from now on for those they hold.
func (n *Node) newTimeline() error {
	if n.ident == nil {
		return fmt.Errorf("journal keeps no identity")
	}
	id := n.Identity.Branch(n.Opened)
	if err := n.ident.SetIdentity(id); err != nil {
		return err
	}
	if n.dataDir != "" {
		b := &Binding{Backend: backendKind(n.dsn), Journal: JournalName(n.dataDir, n.dsn), Identity: id}
		if err := WriteBinding(n.dataDir, b); err != nil {
			return err
		}
	}
	n.log.Warn("journal found cut back (a store was ahead of it): new timeline", "after", n.Opened, "identity", id.String())
	n.Identity = id
	return nil
}
