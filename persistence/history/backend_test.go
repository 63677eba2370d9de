package history

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/go-sql-driver/mysql"
)

// backend is one database a test runs against: SQLite in a temporary
// directory, or the test MySQL server with tables under a prefix unique to
// the test (dropped when it ends).
type backend struct {
	name   string
	path   string // SQLite
	dsn    string // MySQL
	prefix string
}

// options returns Options for the backend with cfg.
func (b backend) options(cfg *config.Config) Options {
	return Options{
		DSN: b.dsn, Path: b.path, Prefix: b.prefix, Config: cfg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// open opens a Store on the backend and closes it when the test ends.
func (b backend) open(t testing.TB, opts Options) *Store {
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
func (b backend) raw(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if b.path != "" {
		db, err = sql.Open("sqlite", b.path+"?_busy_timeout=10000")
	} else {
		var cfg *mysql.Config
		if cfg, err = mysql.ParseDSN(strings.TrimPrefix(b.dsn, "mysql://")); err == nil {
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
func (b backend) count(t testing.TB, db *sql.DB, table string) int {
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

// mysqlBackend returns a MySQL backend (skipping the test without the
// service) whose tables are dropped when the test ends.
func mysqlBackend(t testing.TB) backend {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	b := backend{name: "mysql", dsn: dsn, prefix: uniquePrefix()}
	t.Cleanup(func() {
		db := b.raw(t)
		tt := tableNames(b.prefix)
		for _, table := range []string{tt.schema, tt.cursor, tt.skips, tt.orders, tt.deals, tt.balances} {
			if _, err := db.Exec("DROP TABLE IF EXISTS " + q(table)); err != nil {
				t.Errorf("drop %s: %v", table, err)
			}
		}
	})
	return b
}

// sqliteBackend returns an SQLite backend in a temporary directory.
func sqliteBackend(t testing.TB) backend {
	return backend{name: "sqlite", path: filepath.Join(t.TempDir(), "history.db")}
}

// eachBackend runs fn on SQLite and on MySQL (skipped without
// BOURSE_TEST_MYSQL_DSN), each in a fresh database.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteBackend(t)) })
	t.Run("mysql", func(t *testing.T) { fn(t, mysqlBackend(t)) })
}
