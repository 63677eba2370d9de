package events_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/persistence/journal"
)

// TestPublisherJournalMark: every message carries the journal's mark; a
// cold start on topics holding messages of another journal, or of records
// the journal discarded (a restore), is refused with ErrForeign; on its own
// journal, also on a later timeline that shares the messages' records, it
// resumes.
func TestPublisherJournalMark(t *testing.T) {
	cfg := testCfg(t)
	cluster(t, cfg, 1, 2)
	ctx := context.Background()
	id := journal.NewIdentity()
	p := newPublisher(t, cfg, events.PublisherOptions{Journal: &id})
	if _, err := p.Cursor(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, []derive.Record{tradeRecord(1, 0, 3), tradeRecord(2, 1, 4), tradeRecord(3, 2, 5)}); err != nil {
		t.Fatal(err)
	}
	p.Close()

	cold := func(id journal.Identity, end uint64) (uint64, error) {
		t.Helper()
		q := newPublisher(t, cfg, events.PublisherOptions{Journal: &id, JournalEnd: end})
		defer q.Close()
		return q.Cursor(ctx)
	}
	if c, err := cold(id, 3); err != nil || c != 0 {
		t.Errorf("same journal: Cursor = %d, %v; want 0 (acked of the only batch)", c, err)
	}
	if _, err := cold(journal.NewIdentity(), 3); !errors.Is(err, events.ErrForeign) {
		t.Errorf("another journal: Cursor error %v; want ErrForeign", err)
	}
	if _, err := cold(id.Branch(1), 1); !errors.Is(err, events.ErrForeign) {
		t.Errorf("restored at LSN 1 (messages of records 2, 3 published): Cursor error %v; want ErrForeign", err)
	} else {
		t.Log(err)
	}
	if c, err := cold(id.Branch(3), 3); err != nil || c != 0 {
		t.Errorf("new timeline after LSN 3: Cursor = %d, %v; want 0", c, err)
	}
}
