package history

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/go-sql-driver/mysql"
)

// Backend is one database a test runs against: SQLite in a temporary
// directory, or the test MySQL server with tables under a prefix unique to
// the test (dropped when it ends). Exported for the external tests.
type Backend struct {
	Name   string
	Path   string // SQLite
	DSN    string // MySQL
	Prefix string
}

// Table is the name of one of the store's tables ("balance_history", …).
func (b Backend) Table(name string) string { return b.Prefix + name }

// options returns Options for the backend with cfg.
func (b Backend) Options(cfg *config.Config) Options {
	return Options{
		DSN: b.DSN, Path: b.Path, Prefix: b.Prefix, Config: cfg,
		Logger: testenv.Quiet(),
	}
}

// open opens a Store on the backend and closes it when the test ends.
func (b Backend) Open(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// raw opens a plain connection to the backend's database (for checks and
// sabotage behind the Store's back).
func (b Backend) Raw(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if b.Path != "" {
		db, err = sql.Open("sqlite", b.Path+"?_busy_timeout=10000")
	} else {
		var cfg *mysql.Config
		if cfg, err = mysql.ParseDSN(strings.TrimPrefix(b.DSN, "mysql://")); err == nil {
			var conn driver.Connector
			if conn, err = mysql.NewConnector(cfg); err == nil {
				db = sql.OpenDB(conn)
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count returns the number of rows of a table of the backend's store.
func (b Backend) Count(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + q(table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// uniquePrefix is a table prefix no other test run uses.
func uniquePrefix() string {
	var rnd [4]byte
	rand.Read(rnd[:])
	return "h" + hex.EncodeToString(rnd[:]) + "_"
}

// MySQLBackend returns a MySQL backend (skipping the test without the
// service) whose tables are dropped when the test ends.
func MySQLBackend(t testing.TB) Backend {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	b := Backend{Name: "mysql", DSN: dsn, Prefix: uniquePrefix()}
	t.Cleanup(func() {
		db := b.Raw(t)
		tt := tableNames(b.Prefix)
		for _, table := range []string{tt.schema, tt.cursor, tt.skips, tt.orders, tt.deals, tt.balances} {
			if _, err := db.Exec("DROP TABLE IF EXISTS " + q(table)); err != nil {
				t.Errorf("drop %s: %v", table, err)
			}
		}
	})
	return b
}

// SQLiteBackend returns an SQLite backend in a temporary directory.
func SQLiteBackend(t testing.TB) Backend {
	return Backend{Name: "sqlite", Path: filepath.Join(t.TempDir(), "history.db")}
}

// EachBackend runs fn on SQLite and on MySQL (skipped without
// BOURSE_TEST_MYSQL_DSN), each in a fresh database.
func EachBackend(t *testing.T, fn func(t *testing.T, b Backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteBackend(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, MySQLBackend(t)) })
}
