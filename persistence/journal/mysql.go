package journal

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// DefaultMySQLTable is the journal table when the DSN names none.
const DefaultMySQLTable = "bourse_journal"

// MySQL is the journal backend that keeps records in one InnoDB table of a
// MySQL or MariaDB server, a row per record:
//
//	lsn     BIGINT UNSIGNED PRIMARY KEY
//	version TINYINT UNSIGNED   codec.Version
//	body    LONGBLOB           the record's events, framed as in segment files
//	crc     INT UNSIGNED       CRC-32C of version, LSN (8 bytes LE) and body
//
// The checksum covers the same bytes as a segment-file record's, so a row
// whose LSN, version or body was altered fails it.
//
// Write is the commit: one transaction per call, holding one multi-row
// INSERT (several when the batch would exceed the server's
// max_allowed_packet, all in that transaction), committed before Write
// returns. Sync does nothing. This fits the writer's modes: in Sync mode a
// reply is released after a committed transaction, as after an fsync; in
// Batch mode replies are released after Write, and a transaction left open
// until the next Sync would be rolled back by a kill -9 of the node, losing
// acknowledged work — so Batch behaves like Sync here (the writer's group
// commit is what batches); in Async mode only the writer's queue can be
// lost. A commit is as durable as the server makes it: it survives power
// loss with innodb_flush_log_at_trx_commit=1 (the default) and, with binary
// logging on, sync_binlog=1.
//
// Nothing else may write the table while a node runs: OpenMySQL claims it
// (a GET_LOCK named after the database and table, held on a connection of
// its own until Close), and a second OpenMySQL on it fails with ErrClaimed.
// Should a COMMIT that a node sent just before a
// kill -9 land only after its successor has read the table, the successor
// fails on the duplicate LSN and answers code 3 until restarted: nothing
// is lost or applied twice. Statements are parameterised; the table name, which SQL
// cannot bind, is checked against [A-Za-z_][A-Za-z0-9_]* and quoted.
//
// Not safe for concurrent use, except Read: the journal writer owns it.
type MySQL struct {
	db      *sqlx.DB
	claim   *claim // the table's exclusive claim (nil when only scanning)
	table   string
	where   string // for messages: user@address/database, table; no password
	lastLSN uint64
	// maxStatement bounds the estimated size of one INSERT (from the
	// server's max_allowed_packet); maxRows its rows.
	maxStatement int
	maxRows      int
	insert       string // INSERT text for maxRows rows; shorter ones are prefixes
	buf          []byte
	args         []any
	broken       error // an outcome-unknown failure: every later Write returns it
}

const (
	mysqlPage    = 1000 // rows per recovery query
	mysqlMaxRows = 4096 // rows per INSERT (4 placeholders each, below 65535)
	mysqlRowCost = 64   // an INSERT's bytes per row beyond its body (estimate)
	mysqlSlack   = 4096 // bytes of max_allowed_packet kept free
)

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// ParseMySQLDSN reads a journal DSN: a go-sql-driver/mysql DSN
// ("user:password@tcp(host:3306)/database?param=value"), optionally
// prefixed with "mysql://", whose parameter table= names the journal table
// (default bourse_journal). The driver's other parameters apply (timeout,
// readTimeout, writeTimeout, tls, …); the dial timeout defaults to 10s. It
// returns the driver's configuration without table=, and the table.
func ParseMySQLDSN(dsn string) (*mysql.Config, string, error) {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		return nil, "", fmt.Errorf("journal: mysql DSN: %w", err)
	}
	if cfg.DBName == "" {
		return nil, "", errors.New("journal: mysql DSN names no database (…/DATABASE)")
	}
	table := DefaultMySQLTable
	if t, ok := cfg.Params["table"]; ok {
		table = t
		delete(cfg.Params, "table")
	}
	if !tableName.MatchString(table) {
		return nil, "", fmt.Errorf("journal: mysql table name %q: want 1 to 64 of A-Z a-z 0-9 _, not starting with a digit", table)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return cfg, table, nil
}

// MySQLName names the journal at dsn for messages: user, address, database
// and table, never the password.
func MySQLName(dsn string) string {
	cfg, table, err := ParseMySQLDSN(dsn)
	if err != nil {
		return "mysql (bad DSN)"
	}
	return mysqlName(cfg, table)
}

func mysqlName(cfg *mysql.Config, table string) string {
	return fmt.Sprintf("mysql %s@%s/%s table %s", cfg.User, cfg.Addr, cfg.DBName, table)
}

// OpenMySQL connects to the journal at dsn (see ParseMySQLDSN), creates its
// table if needed, reads every row in LSN order — checking each checksum
// and that LSNs follow one another — and replays the records with
// LSN > after. Rows cannot be torn (a commit is atomic), so any damage is
// ErrCorrupt and nothing is cut. The backend is returned ready to append
// after the last record. Recovery.Segments is 0.
func OpenMySQL(dsn string, after uint64, replay func(Record) error) (*MySQL, Recovery, error) {
	var rec Recovery
	cfg, table, err := ParseMySQLDSN(dsn)
	if err != nil {
		return nil, rec, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, rec, fmt.Errorf("journal: mysql: %w", err)
	}
	m := &MySQL{db: sqlx.NewDb(sql.OpenDB(conn), "mysql"), table: table, where: mysqlName(cfg, table)}
	m.db.SetMaxIdleConns(2)
	if err := m.open(cfg); err != nil {
		m.db.Close()
		return nil, rec, err
	}
	if m.claim, err = takeClaim(m.db, cfg.DBName, table, m.where); err != nil {
		m.db.Close()
		return nil, rec, err
	}
	rec, err = m.recover(after, replay)
	if err != nil {
		m.Close()
		return nil, rec, err
	}
	return m, rec, nil
}

// ScanMySQL reads the journal at dsn as OpenMySQL does — every row, the
// same checks, the records with LSN > after into replay — but changes
// nothing: it creates no table (a missing one is an empty journal) and
// takes no claim, so it may read the table of a running node (it sees the
// committed rows). bourse verify uses it.
func ScanMySQL(dsn string, after uint64, replay func(Record) error) (Recovery, error) {
	cfg, table, err := ParseMySQLDSN(dsn)
	if err != nil {
		return Recovery{}, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return Recovery{}, fmt.Errorf("journal: mysql: %w", err)
	}
	m := &MySQL{db: sqlx.NewDb(sql.OpenDB(conn), "mysql"), table: table, where: mysqlName(cfg, table)}
	defer m.db.Close()
	var n int
	if err := m.db.Get(&n, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", cfg.DBName, table); err != nil {
		return Recovery{}, fmt.Errorf("journal: %s: %w", m.where, err)
	}
	if n == 0 {
		return Recovery{}, nil
	}
	return m.recover(after, replay)
}

// recover reads every row (see OpenMySQL) and sets lastLSN.
func (m *MySQL) recover(after uint64, replay func(Record) error) (Recovery, error) {
	var rec Recovery
	err := m.scan(0, 0, func(lsn uint64, body []byte) error {
		if rec.Records == 0 && lsn > after+1 {
			return fmt.Errorf("%w: %s starts at LSN %d; records %d to %d are missing", ErrCorrupt, m.where, lsn, after+1, lsn-1)
		}
		rec.Records++
		m.lastLSN = lsn
		if lsn <= after || replay == nil {
			return nil
		}
		r, err := decodeBody(body)
		if err != nil {
			return fmt.Errorf("%w: %s LSN %d: %v", ErrCorrupt, m.where, lsn, err)
		}
		return replay(r)
	})
	if err != nil {
		return rec, err
	}
	rec.LastLSN = m.lastLSN
	if m.lastLSN < after {
		m.lastLSN = after
	}
	return rec, nil
}

// open creates the table and sizes INSERTs to the server's
// max_allowed_packet.
func (m *MySQL) open(cfg *mysql.Config) error {
	if _, err := m.db.Exec("CREATE TABLE IF NOT EXISTS `" + m.table + "` (" +
		"lsn BIGINT UNSIGNED NOT NULL PRIMARY KEY, " +
		"version TINYINT UNSIGNED NOT NULL, " +
		"body LONGBLOB NOT NULL, " +
		"crc INT UNSIGNED NOT NULL" +
		") ENGINE=InnoDB"); err != nil {
		return fmt.Errorf("journal: %s: create table: %w", m.where, err)
	}
	if err := m.createMeta(); err != nil {
		return err
	}
	var packet int
	if err := m.db.Get(&packet, "SELECT @@max_allowed_packet"); err != nil {
		return fmt.Errorf("journal: %s: max_allowed_packet: %w", m.where, err)
	}
	if cfg.MaxAllowedPacket > 0 && cfg.MaxAllowedPacket < packet {
		packet = cfg.MaxAllowedPacket
	}
	m.maxStatement = packet - mysqlSlack
	m.setMaxRows(mysqlMaxRows)
	return nil
}

func (m *MySQL) setMaxRows(n int) {
	m.maxRows = n
	var b strings.Builder
	b.WriteString("INSERT INTO `" + m.table + "` (lsn, version, body, crc) VALUES (?,?,?,?)")
	for i := 1; i < n; i++ {
		b.WriteString(",(?,?,?,?)")
	}
	m.insert = b.String()
}

// insertText is the INSERT statement for n rows.
func (m *MySQL) insertText(n int) string {
	return m.insert[:len(m.insert)-(m.maxRows-n)*len(",(?,?,?,?)")]
}

// row is one journal row as stored.
type row struct {
	LSN     uint64 `db:"lsn"`
	Version uint8  `db:"version"`
	Body    []byte `db:"body"`
	CRC     uint32 `db:"crc"`
}

// scan reads the rows with after < LSN (≤ upto unless upto is 0) in LSN
// order, a page at a time by keyset (WHERE lsn > last), checks each
// checksum and that each LSN follows the one before, and passes the
// rebuilt record body to fn.
func (m *MySQL) scan(after, upto uint64, fn func(lsn uint64, body []byte) error) error {
	q := "SELECT lsn, version, body, crc FROM `" + m.table + "` WHERE lsn > ? ORDER BY lsn LIMIT ?"
	if upto > 0 {
		q = "SELECT lsn, version, body, crc FROM `" + m.table + "` WHERE lsn > ? AND lsn <= ? ORDER BY lsn LIMIT ?"
	}
	var page []row
	last := after
	first := true
	for {
		page = page[:0]
		var err error
		if upto > 0 {
			err = m.db.Select(&page, q, last, upto, mysqlPage)
		} else {
			err = m.db.Select(&page, q, last, mysqlPage)
		}
		if err != nil {
			return fmt.Errorf("journal: %s: read after LSN %d: %w", m.where, last, err)
		}
		for i := range page {
			r := &page[i]
			if !first && r.LSN != last+1 {
				return fmt.Errorf("%w: %s: LSN %d after %d", ErrCorrupt, m.where, r.LSN, last)
			}
			first = false
			body := make([]byte, bodyPrefix, bodyPrefix+len(r.Body))
			body[0] = r.Version
			binary.LittleEndian.PutUint64(body[1:], r.LSN)
			body = append(body, r.Body...)
			if bodyCRC(body) != r.CRC {
				return fmt.Errorf("%w: %s LSN %d: checksum mismatch", ErrCorrupt, m.where, r.LSN)
			}
			if err := fn(r.LSN, body); err != nil {
				return err
			}
			last = r.LSN
			r.Body = nil
		}
		if len(page) < mysqlPage {
			return nil
		}
	}
}

// Read passes the committed records with after < LSN ≤ upto to fn in
// order, checked as in recovery. It is safe to call while the writer
// appends (it uses its own connection and sees only committed rows).
func (m *MySQL) Read(after, upto uint64, fn func(Record) error) error {
	if upto <= after {
		return nil
	}
	first := true
	return m.scan(after, upto, func(lsn uint64, body []byte) error {
		if first && lsn != after+1 {
			return fmt.Errorf("%w: %s: records %d to %d are missing", ErrCorrupt, m.where, after+1, lsn-1)
		}
		first = false
		r, err := decodeBody(body)
		if err != nil {
			return fmt.Errorf("%w: %s LSN %d: %v", ErrCorrupt, m.where, lsn, err)
		}
		return fn(r)
	})
}

// LastLSN is the LSN of the last record written (or recovered).
func (m *MySQL) LastLSN() uint64 { return m.lastLSN }

// String names the journal (user, address, database and table; never the
// password).
func (m *MySQL) String() string { return m.where }

// Write inserts records (LSNs must continue the journal) in one
// transaction and commits it: when Write returns nil they are durable.
// On error the transaction is rolled back and nothing of the batch is kept,
// except when the COMMIT itself or the ROLLBACK failed: then the server may
// hold all of the batch or none, and the error wraps ErrOutcomeUnknown
// (every later Write returns it; recovery reads what the server holds).
// Write fails without writing once the table's claim is lost.
func (m *MySQL) Write(records []Record) error {
	if len(records) == 0 {
		return nil
	}
	if m.broken != nil {
		return m.broken
	}
	if err := m.claim.lost(); err != nil {
		return err
	}
	tx, err := m.db.Beginx()
	if err != nil {
		return fmt.Errorf("journal: %s: begin: %w", m.where, err)
	}
	last, err := m.insertAll(tx, records)
	if err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			m.broken = fmt.Errorf("%w: %v; rollback: %v", ErrOutcomeUnknown, err, rerr)
			return m.broken
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		m.broken = fmt.Errorf("%w: %s: commit: %v", ErrOutcomeUnknown, m.where, err)
		return m.broken
	}
	m.lastLSN = last
	return nil
}

// insertAll encodes the records and inserts them in as few INSERTs as
// max_allowed_packet allows. It returns the last LSN inserted. The rows'
// arguments are slices of m.buf, which only grows during the call.
func (m *MySQL) insertAll(tx *sqlx.Tx, records []Record) (uint64, error) {
	last := m.lastLSN
	m.buf = m.buf[:0]
	m.args = m.args[:0]
	size := 0
	flush := func() error {
		if len(m.args) == 0 {
			return nil
		}
		n := len(m.args) / 4
		if _, err := tx.Exec(m.insertText(n), m.args...); err != nil {
			return fmt.Errorf("journal: %s: insert %d rows up to LSN %d: %w", m.where, n, last, err)
		}
		clear(m.args)
		m.args = m.args[:0]
		size = 0
		return nil
	}
	for _, r := range records {
		if r.LSN != last+1 {
			return 0, fmt.Errorf("journal: write LSN %d after %d", r.LSN, last)
		}
		at := len(m.buf)
		m.buf = appendBody(m.buf, r)
		body := m.buf[at:]
		if len(body) > MaxRecord {
			return 0, fmt.Errorf("journal: record %d is %d bytes, over %d", r.LSN, len(body), MaxRecord)
		}
		cost := 2*len(body) + mysqlRowCost
		if cost > m.maxStatement {
			return 0, fmt.Errorf("journal: record %d is %d bytes, too large for the server's max_allowed_packet (%d)", r.LSN, len(body), m.maxStatement+mysqlSlack)
		}
		if size+cost > m.maxStatement || len(m.args)/4 == m.maxRows {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		m.args = append(m.args, r.LSN, body[0], body[bodyPrefix:], bodyCRC(body))
		size += cost
		last = r.LSN
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return last, nil
}

// Sync does nothing: Write has committed.
func (m *MySQL) Sync() error { return nil }

// Close releases the table's claim and closes the connections.
func (m *MySQL) Close() error {
	m.claim.release()
	return m.db.Close()
}

// MetaTable is the table, in the journal's database, that keeps the
// identity of each MySQL journal of that database: a row per journal table
// (journal = its name, identity = Identity.Encode).
const MetaTable = "bourse_journal_meta"

func (m *MySQL) createMeta() error {
	_, err := m.db.Exec("CREATE TABLE IF NOT EXISTS `" + MetaTable + "` (" +
		"`journal` VARCHAR(64) NOT NULL PRIMARY KEY, " +
		"`identity` TEXT NOT NULL" +
		") ENGINE=InnoDB")
	if err != nil {
		return fmt.Errorf("journal: %s: create table %s: %w", m.where, MetaTable, err)
	}
	return nil
}

// Identity returns the journal's identity (nil when it has none yet).
func (m *MySQL) Identity() (*Identity, error) {
	var text string
	err := m.db.Get(&text, "SELECT `identity` FROM `"+MetaTable+"` WHERE `journal` = ?", m.table)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %s: read identity: %w", m.where, err)
	}
	id, err := ParseIdentity([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", m.where, err)
	}
	return &id, nil
}

// SetIdentity stores the journal's identity.
func (m *MySQL) SetIdentity(id Identity) error {
	if _, err := m.db.Exec("REPLACE INTO `"+MetaTable+"` (`journal`, `identity`) VALUES (?, ?)", m.table, string(id.Encode())); err != nil {
		return fmt.Errorf("journal: %s: store identity: %w", m.where, err)
	}
	return nil
}

// MySQLReader reads a MySQL journal's identity without writing anything
// (no table is created, no claim taken): for backups of a running node.
type MySQLReader struct{ m *MySQL }

// OpenMySQLReader connects to the journal at dsn for reading.
func OpenMySQLReader(dsn string) (*MySQLReader, error) {
	cfg, table, err := ParseMySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("journal: mysql: %w", err)
	}
	m := &MySQL{db: sqlx.NewDb(sql.OpenDB(conn), "mysql"), table: table, where: mysqlName(cfg, table)}
	m.db.SetMaxIdleConns(2)
	return &MySQLReader{m}, nil
}

// Identity is the journal's identity (nil: none).
func (r *MySQLReader) Identity() (*Identity, error) { return r.m.Identity() }

// String names the journal.
func (r *MySQLReader) String() string { return r.m.where }

// Close closes the connections.
func (r *MySQLReader) Close() error { return r.m.db.Close() }
