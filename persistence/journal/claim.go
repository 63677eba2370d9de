package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrClaimed is wrapped by OpenMySQL's error when another node holds the
// journal table.
var ErrClaimed = errors.New("journal table in use")

// ClaimCheck is how often a MySQL journal checks that it still holds its
// table's claim (the claim's connection also stays alive through it).
var ClaimCheck = 30 * time.Second

// ClaimRetake is how long a journal whose claim connection was lost waits
// for the lock when it takes it again. The server ends a session, and
// releases its locks, only some time after the client closed the
// connection (longer on a loaded server, or until it notices a dead peer);
// meanwhile GET_LOCK finds the lock held by the journal's own lost session.
var ClaimRetake = 10 * time.Second

// claim is a MySQL journal's exclusive claim on its table: a named lock
// (GET_LOCK) held on a connection of its own for the backend's life. The
// server releases it when that connection ends, so a killed node's claim
// goes with its connection. A goroutine checks it every ClaimCheck; if the
// connection was lost it takes the lock again on a new one, and if another
// session took it meanwhile, lost reports why and every Write fails.
type claim struct {
	db    *sqlx.DB
	name  string
	where string

	mu   sync.Mutex
	conn *sql.Conn
	err  error // set once the claim is lost for good

	stop chan struct{}
	done chan struct{}
}

// lockName is the GET_LOCK name of a journal table: readable when it fits
// the server's 64 characters, else a hash.
func lockName(database, table string) string {
	name := "bourse_journal:" + database + "." + table
	if len(name) <= 64 {
		return name
	}
	h := sha256.Sum256([]byte(database + "." + table))
	return "bourse_journal:" + hex.EncodeToString(h[:20])
}

func takeClaim(db *sqlx.DB, database, table, where string) (*claim, error) {
	c := &claim{db: db, name: lockName(database, table), where: where, stop: make(chan struct{}), done: make(chan struct{})}
	conn, err := c.lock(0)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	go c.watch()
	return c, nil
}

// lock takes the named lock on a new connection, waiting for it up to
// wait (whole seconds, rounded up).
func (c *claim) lock(wait time.Duration) (*sql.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second+wait)
	defer cancel()
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("journal: %s: claim: %w", c.where, err)
	}
	var got sql.NullInt64
	secs := int64((wait + time.Second - 1) / time.Second)
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", c.name, secs).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("journal: %s: claim (GET_LOCK): %w", c.where, err)
	}
	if got.Valid && got.Int64 == 1 {
		return conn, nil
	}
	holder := ""
	var id sql.NullInt64
	if conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", c.name).Scan(&id) == nil && id.Valid {
		holder = fmt.Sprintf(" by connection %d", id.Int64)
		var host sql.NullString
		if conn.QueryRowContext(ctx, "SELECT host FROM information_schema.processlist WHERE id = ?", id.Int64).Scan(&host) == nil && host.Valid {
			holder += " from " + host.String
		}
	}
	conn.Close()
	return nil, fmt.Errorf("%w: %s is claimed%s (lock %q): another node runs on it; stop it first, or use another table",
		ErrClaimed, c.where, holder, c.name)
}

func (c *claim) watch() {
	defer close(c.done)
	t := time.NewTicker(ClaimCheck)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if !c.check() {
				return
			}
		}
	}
}

// check verifies the claim, taking it again on a new connection (waiting
// up to ClaimRetake for the lost session's lock) if its connection was
// lost. It reports whether the claim is still held. Only the watch
// goroutine calls it; Writes are not held up meanwhile (mu is taken only
// to swap the connection).
func (c *claim) check() bool {
	c.mu.Lock()
	old := c.conn
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mine sql.NullBool
	if err := old.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", c.name).Scan(&mine); err == nil && mine.Valid && mine.Bool {
		return true
	}
	old.Raw(func(any) error { return driver.ErrBadConn }) // discard it rather than pool it
	old.Close()
	conn, err := c.lock(ClaimRetake)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.conn = nil
		c.err = fmt.Errorf("journal: %s: the table's claim was lost: %w", c.where, err)
		return false
	}
	c.conn = conn
	return true
}

// lost is the error that ends the claim, or nil while it holds.
func (c *claim) lost() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// release stops the watch and ends the claim's connection (the server
// releases the lock with it).
func (c *claim) release() {
	if c == nil {
		return
	}
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", c.name)
		cancel()
		c.conn.Close()
		c.conn = nil
	}
}
