package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	_ "modernc.org/sqlite" // driver "sqlite"
)

// Options configure a Store. Exactly one of DSN and Path is set.
type Options struct {
	// DSN of a MySQL/MariaDB database: a go-sql-driver/mysql DSN
	// ("user:password@tcp(host:3306)/database?param=value"), optionally
	// prefixed with "mysql://". The dial timeout defaults to 10s.
	DSN string
	// Path of an SQLite database file, created if missing (its directory
	// must exist). The node uses <data-dir>/history.db.
	Path string
	// Config names the markets and assets and gives their precisions;
	// required.
	Config *config.Config
	// Prefix starts every table name: up to 32 of A-Z a-z 0-9 _, default
	// "" (tests use a unique prefix per run).
	Prefix string
	// Name is the follower's name (runtime.Follower) and the key of its
	// cursor row; default "history".
	Name string
	// Workers bounds the queries running at once (and the read
	// connections); default 10, viabtc's worker_num.
	Workers int
	// MaxPending bounds the queries running or waiting; one more is
	// answered code 3 at once. Default 10 × Workers, as viabtc.
	MaxPending int
	// RowsPerInsert bounds the rows of one INSERT statement; default 500.
	RowsPerInsert int
	// AllowSkips lets Apply store a batch that starts after a gap — the
	// runtime skips records the journal no longer holds when a follower
	// fell behind by more than snapshot.max_follower_lag — and note the
	// gap in history_skips. Default false: such a batch fails like any
	// other that does not follow the cursor, and the follower stalls until
	// an operator decides (e.g. sets this, or rebuilds the store).
	AllowSkips bool
	// Journal, if set, is the identity of the journal the store follows,
	// and JournalEnd that journal's last LSN when the node opened it. Open
	// then checks the cursor's stored journal mark (Identity.Check): a
	// cursor of this journal resumes; one ahead of it on a timeline the
	// journal discarded (the journal was restored from a backup or cut
	// back) is rolled back — the rows of records after the shared LSN are
	// deleted, with the cursor, in one transaction, and the follower
	// writes them again from the journal; a cursor of another journal, or
	// unmarked and ahead, is refused with an error that says why. The mark
	// is then stored with the cursor.
	Journal    *journal.Identity
	JournalEnd uint64
	// Logger receives failed queries; nil: slog.Default().
	Logger *slog.Logger
}

// maxVariables is the most bound variables an SQLite statement takes
// (SQLITE_MAX_VARIABLE_NUMBER); MySQL takes 65535.
const maxVariables = 32766

// Defaults of Options.
const (
	DefaultName          = "history"
	DefaultWorkers       = 10
	DefaultRowsPerInsert = 500
)

// Errors.
var (
	// ErrNotNext: Apply was given records that do not follow the stored
	// cursor. Nothing was written.
	ErrNotNext = errors.New("history: records do not follow the stored cursor")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("history: store closed")
)

// Store is the history store. It implements runtime.Follower (one writer:
// Apply calls are serialised) and actors.Querier (Query is safe for
// concurrent use, also with Apply), and io.Closer.
type Store struct {
	cfg   *config.Config
	name  string
	d     *dialect
	t     tables
	where string // for messages: backend and location, no password
	log   *slog.Logger

	w *sqlx.DB // Apply's connection
	r *sqlx.DB // queries' connections

	allowSkips bool
	rows       int
	inserts    inserts // INSERT texts for rows rows, shorter ones are prefixes
	names      names

	sem        chan struct{} // a slot per running query
	pending    atomic.Int64  // queries running or waiting
	maxPending int64
	closed     atomic.Bool

	// cutBack: Open found the store ahead of the journal's current
	// timeline (Truncated).
	cutBack bool

	applyMu sync.Mutex
	args    []any // Apply's argument buffer; guarded by applyMu

	// fault, when set (tests), is called at named points of Apply; an
	// error it returns is Apply's.
	fault func(point string) error
}

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_]{0,32}$`)

// Open connects to the history database, creates or migrates its schema to
// SchemaVersion, and returns the Store. ctx bounds the connection and the
// migration.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Config == nil {
		return nil, errors.New("history: Options.Config is required")
	}
	if (opts.DSN == "") == (opts.Path == "") {
		return nil, errors.New("history: set exactly one of Options.DSN (MySQL) and Options.Path (SQLite)")
	}
	if !prefixPattern.MatchString(opts.Prefix) {
		return nil, fmt.Errorf("history: table prefix %q: want up to 32 of A-Z a-z 0-9 _", opts.Prefix)
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if len(opts.Name) > 64 {
		return nil, fmt.Errorf("history: follower name %q is longer than 64 bytes", opts.Name)
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10 * opts.Workers
	}
	if opts.MaxPending < opts.Workers {
		opts.MaxPending = opts.Workers
	}
	if opts.RowsPerInsert <= 0 {
		opts.RowsPerInsert = DefaultRowsPerInsert
	}
	if limit := maxVariables / len(orderColumns); opts.RowsPerInsert > limit {
		opts.RowsPerInsert = limit // the widest table's rows stay within SQLite's variables
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		cfg: opts.Config, name: opts.Name, t: tableNames(opts.Prefix), log: opts.Logger,
		allowSkips: opts.AllowSkips, rows: opts.RowsPerInsert, names: newNames(opts.Config),
		sem: make(chan struct{}, opts.Workers), maxPending: int64(opts.MaxPending),
	}
	var err error
	if opts.DSN != "" {
		err = s.openMySQL(opts.DSN, opts.Workers)
	} else {
		err = s.openSQLite(opts.Path, opts.Workers)
	}
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.w, s.d, s.t, s.name); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("history: %s: %w", s.where, err)
	}
	s.inserts = newInserts(s.d, s.t, s.rows)
	if err := s.inserts.prepare(ctx, s.w); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("history: %s: %w", s.where, err)
	}
	if opts.Journal != nil {
		if err := s.bind(ctx, *opts.Journal, opts.JournalEnd); err != nil {
			s.closeDBs()
			return nil, err
		}
	}
	return s, nil
}

// bind checks the stored cursor against the journal (Options.Journal),
// rolls back what follows the journal's timeline or refuses, and stores
// the journal's mark with the cursor.
func (s *Store) bind(ctx context.Context, id journal.Identity, end uint64) error {
	var row struct {
		LSN     u64    `db:"lsn"`
		Journal string `db:"journal"`
	}
	if err := s.w.QueryRowxContext(ctx, "SELECT `lsn`, `journal` FROM "+q(s.t.cursor)+" WHERE `name` = ?", s.name).StructScan(&row); err != nil {
		return fmt.Errorf("history: %s: read cursor: %w", s.where, err)
	}
	cursor := uint64(row.LSN)
	v := id.Check(row.Journal, cursor, end)
	switch {
	case v.Fit == journal.Foreign && cursor > 0:
		return fmt.Errorf("history: %s does not belong to this journal: %s. Refusing to follow it: point history at an empty database "+
			"(or another table prefix), or drop its tables to rebuild it from the journal (complete only while the journal holds every record from LSN 1)",
			s.where, v.Why)
	case v.Fit == journal.Ahead:
		s.cutBack = v.Current
		s.log.Warn("history: the store is ahead of the journal: deleting the rows of the discarded records; they are written again from the journal",
			"store", s.where, "why", v.Why, "keep", v.Keep, "cursor", cursor)
		return s.rollback(ctx, v.Keep, id.Mark())
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE "+q(s.t.cursor)+" SET `journal` = ? WHERE `name` = ?", id.Mark(), s.name); err != nil {
		return fmt.Errorf("history: %s: store journal mark: %w", s.where, err)
	}
	return nil
}

// Truncated reports whether Open found the store ahead of the journal on
// the journal's current timeline: the journal was restored or cut back
// without a new timeline. The caller should give the journal one
// (Identity.Branch) and Rebind the store.
func (s *Store) Truncated() bool { return s.cutBack }

// Rebind stores the mark of id, a new identity of the journal the store
// follows (a new timeline), after checking the cursor against it as Open
// does.
func (s *Store) Rebind(ctx context.Context, id journal.Identity, end uint64) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.bind(ctx, id, end)
}

// rollback deletes every row of a record after keep and sets the cursor to
// keep with the journal mark, in one transaction.
func (s *Store) rollback(ctx context.Context, keep uint64, mark string) error {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: %s: rollback: %w", s.where, err)
	}
	defer tx.Rollback()
	stmts := []struct {
		q    string
		args []any
	}{
		{"DELETE FROM " + q(s.t.orders) + " WHERE `lsn` > ?", []any{s.d.id(keep)}},
		{"DELETE FROM " + q(s.t.deals) + " WHERE `lsn` > ?", []any{s.d.id(keep)}},
		{"DELETE FROM " + q(s.t.balances) + " WHERE `lsn` > ?", []any{s.d.id(keep)}},
		{"DELETE FROM " + q(s.t.skips) + " WHERE `next_lsn` > ?", []any{s.d.id(keep)}},
		{"UPDATE " + q(s.t.cursor) + " SET `lsn` = ?, `journal` = ? WHERE `name` = ?", []any{s.d.id(keep), mark, s.name}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("history: %s: rollback to LSN %d: %w", s.where, keep, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history: %s: rollback to LSN %d: %w", s.where, keep, err)
	}
	return nil
}

// DefaultIOTimeout is the read and write timeout of a MySQL history DSN
// that sets none (readTimeout=, writeTimeout= in the DSN override it).
const DefaultIOTimeout = 30 * time.Second

// mysqlConfig parses a history DSN and sets the timeouts it leaves out.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		return nil, fmt.Errorf("history: mysql DSN: %w", err)
	}
	if cfg.DBName == "" {
		return nil, errors.New("history: mysql DSN names no database (…/DATABASE)")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	// A server that stops answering must fail the follower (error, alert,
	// retry from the cursor) instead of stalling it silently: the outage
	// test's silent mode found history waiting forever without these.
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultIOTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultIOTimeout
	}
	return cfg, nil
}

func (s *Store) openMySQL(dsn string, workers int) error {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return err
	}
	s.d = mysqlDialect
	s.where = fmt.Sprintf("mysql %s@%s/%s", cfg.User, cfg.Addr, cfg.DBName)
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("history: %s: %w", s.where, err)
	}
	s.w = sqlx.NewDb(sql.OpenDB(conn), "mysql")
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(time.Minute)
	s.r = sqlx.NewDb(sql.OpenDB(conn), "mysql")
	s.r.SetMaxOpenConns(workers)
	s.r.SetMaxIdleConns(workers)
	s.r.SetConnMaxIdleTime(time.Minute)
	return nil
}

// The SQLite writer's settings beyond WAL and synchronous=NORMAL, each
// measured with BenchmarkHistoryApply (benchmarks/RESULTS.md, "History
// follower").
const (
	// writerCacheKiB is its page cache (PRAGMA cache_size, in KiB;
	// SQLite's default is 2000). A batch of a thousand trades dirties
	// thousands of index pages spread over the users; with the default
	// cache SQLite spilled them to the WAL in the middle of the
	// transaction and read them back.
	writerCacheKiB = 64 << 10
	// walCheckpointPages is PRAGMA wal_autocheckpoint (default 1000
	// pages): a batch writes more pages than that, so every commit copied
	// all of them back into the database at once; checkpointing every
	// 64 MiB of WAL copies a page rewritten by several batches once.
	walCheckpointPages = 16384
)

func (s *Store) openSQLite(path string, workers int) error {
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("history: sqlite path %q must not contain ? or #", path)
	}
	s.d = sqliteDialect
	s.where = "sqlite " + path
	// The writer takes the write lock when its transaction begins
	// (immediate), so it never fails to upgrade a read lock. Readers
	// never write.
	w, err := sqlx.Open("sqlite", path+"?_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_pragma=cache_size(-"+strconv.Itoa(writerCacheKiB)+
		")&_pragma=wal_autocheckpoint("+strconv.Itoa(walCheckpointPages)+")")
	if err != nil {
		return fmt.Errorf("history: %s: %w", s.where, err)
	}
	w.SetMaxOpenConns(1)
	if err := w.Ping(); err != nil { // creates the file and switches it to WAL before readers open it
		w.Close()
		return fmt.Errorf("history: %s: %w", s.where, err)
	}
	r, err := sqlx.Open("sqlite", path+"?_busy_timeout=10000&_query_only=1")
	if err != nil {
		w.Close()
		return fmt.Errorf("history: %s: %w", s.where, err)
	}
	r.SetMaxOpenConns(workers)
	r.SetMaxIdleConns(workers)
	s.w, s.r = w, r
	return nil
}

// String names the store's database (never a password).
func (s *Store) String() string { return s.where }

// Name implements runtime.Follower.
func (s *Store) Name() string { return s.name }

// Cursor implements runtime.Follower: the LSN of the last journal record
// stored (0: none).
func (s *Store) Cursor(ctx context.Context) (uint64, error) {
	if s.closed.Load() {
		return 0, ErrClosed
	}
	var c u64
	if err := s.w.QueryRowxContext(ctx, "SELECT `lsn` FROM "+q(s.t.cursor)+" WHERE `name` = ?", s.name).Scan(&c); err != nil {
		return 0, fmt.Errorf("history: %s: read cursor: %w", s.where, err)
	}
	return uint64(c), nil
}

// Close closes the database connections; later calls fail with ErrClosed.
// It waits for a running Apply.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	return errors.Join(s.inserts.close(), s.r.Close(), s.w.Close())
}

var _ io.Closer = (*Store)(nil)

// u64 scans an unsigned 64-bit column from either backend: SQLite returns
// the int64 bit pattern stored (dialect.id), MySQL an unsigned integer or
// its text.
type u64 uint64

func (v *u64) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		*v = u64(x)
	case uint64:
		*v = u64(x)
	case []byte:
		n, err := strconv.ParseUint(string(x), 10, 64)
		if err != nil {
			return fmt.Errorf("history: integer column %q: %w", x, err)
		}
		*v = u64(n)
	case string:
		n, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return fmt.Errorf("history: integer column %q: %w", x, err)
		}
		*v = u64(n)
	default:
		return fmt.Errorf("history: integer column of type %T", src)
	}
	return nil
}

// CopySQLite writes a consistent copy of the SQLite history database at
// src — which a running node may be writing — to dst (which must not
// exist), with VACUUM INTO: for backups. The copy's cursor may be ahead of
// the rest of the backup; the restored node rolls it back (Options.Journal).
func CopySQLite(ctx context.Context, src, dst string) error {
	if strings.ContainsAny(src, "?#") {
		return fmt.Errorf("history: sqlite path %q must not contain ? or #", src)
	}
	db, err := sqlx.Open("sqlite", src+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("history: sqlite %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("history: copy sqlite %s to %s: %w", src, dst, err)
	}
	return nil
}
