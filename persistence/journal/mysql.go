package journal

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// DefaultMySQLTable is the journal table when the DSN names none.
const DefaultMySQLTable = "bourse_journal"

// MySQL is the journal backend that keeps records in one InnoDB table of a
// MySQL or MariaDB server, a row per record, or per chunk of a record
// larger than a row may be:
//
//	lsn     BIGINT UNSIGNED    PRIMARY KEY (lsn, chunk)
//	chunk   INT UNSIGNED       0, or the chunk's index among its record's
//	version TINYINT UNSIGNED   the body's version byte (codec.Version, with
//	                           the chunk flag in a chunk)
//	body    LONGBLOB           the body after version and LSN, as in
//	                           segment files: the events (a chunk's index
//	                           and count first)
//	crc     INT UNSIGNED       CRC-32C of version, LSN (8 bytes LE) and body
//
// The checksum covers the same bytes as a segment-file record's, so a row
// whose LSN, version or body was altered fails it; the chunk column must
// agree with the index in the body. A table created before records were
// chunked (no chunk column) is altered at open: ADD COLUMN chunk, primary
// key (lsn, chunk), a one-time rebuild of the table.
//
// Every row's body is at most ChunkSize bytes (less if the server's
// max_allowed_packet asks for it) and every INSERT at most 4 MiB (less if
// max_allowed_packet is smaller), so no command makes a statement the
// server refuses; OpenMySQL refuses a server whose max_allowed_packet
// cannot take a row holding one event of MaxEvent bytes (516 KiB).
//
// Write is the commit: one transaction per call, holding one multi-row
// INSERT (several when the batch is larger than one INSERT may be, all in
// that transaction), committed before Write returns: a record's chunks
// land together or not at all, and a reader never sees a part of them.
// Sync does nothing. This fits the writer's modes: in Sync mode a reply is
// released after a committed transaction, as after an fsync; in
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
	// server's max_allowed_packet); maxRows its rows; chunk a row's body.
	maxStatement int
	maxRows      int
	chunk        int
	unchunked    bool   // the table has no chunk column (ScanMySQL of an older table)
	insert       string // INSERT text for maxRows rows; shorter ones are prefixes
	buf          []byte
	ends         []int
	args         []any
	broken       error // an outcome-unknown failure: every later Write returns it
}

const (
	mysqlPage         = 1000    // rows per recovery query
	mysqlMaxRows      = 4096    // rows per INSERT (5 placeholders each, below 65535)
	mysqlCols         = 5       // placeholders per row
	mysqlRowCost      = 64      // an INSERT's bytes per row beyond its body (estimate)
	mysqlSlack        = 4096    // bytes of max_allowed_packet kept free
	mysqlMaxStatement = 4 << 20 // an INSERT's estimated bytes at most, whatever the server allows
)

// mysqlSizes returns, for a server's max_allowed_packet, the estimated size
// bound of one INSERT and of one row's body. An INSERT's size is estimated
// as twice its bodies (a DSN with interpolateParams=true sends them escaped)
// plus mysqlRowCost per row.
func mysqlSizes(packet int) (statement, chunk int, err error) {
	statement = min(packet-mysqlSlack, mysqlMaxStatement)
	chunk = min(ChunkSize, (statement-mysqlRowCost)/2)
	if chunk < minChunk {
		return 0, 0, fmt.Errorf("max_allowed_packet is %d bytes: the journal needs at least %d (a row of one event of up to %d bytes)",
			packet, 2*minChunk+mysqlRowCost+mysqlSlack, MaxEvent)
	}
	return statement, chunk, nil
}

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
	if err := m.migrate(); err != nil {
		m.Close()
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
	chunked, err := m.chunkColumn()
	if err != nil {
		return Recovery{}, err
	}
	m.unchunked = !chunked // a table of an older version, not altered: read as is
	return m.recover(after, replay)
}

// recover reads every row (see OpenMySQL) and sets lastLSN.
func (m *MySQL) recover(after uint64, replay func(Record) error) (Recovery, error) {
	var rec Recovery
	decode := func(lsn uint64) bool { return lsn > after && replay != nil }
	err := m.scan(0, 0, decode, func(r Record) error {
		if rec.Records == 0 && r.LSN > after+1 {
			return fmt.Errorf("%w: %s starts at LSN %d; records %d to %d are missing", ErrCorrupt, m.where, r.LSN, after+1, r.LSN-1)
		}
		rec.Records++
		m.lastLSN = r.LSN
		if !decode(r.LSN) {
			return nil
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

// open creates the table and sizes INSERTs and rows to the server's
// max_allowed_packet.
func (m *MySQL) open(cfg *mysql.Config) error {
	if _, err := m.db.Exec("CREATE TABLE IF NOT EXISTS `" + m.table + "` (" +
		"lsn BIGINT UNSIGNED NOT NULL, " +
		"chunk INT UNSIGNED NOT NULL DEFAULT 0, " +
		"version TINYINT UNSIGNED NOT NULL, " +
		"body LONGBLOB NOT NULL, " +
		"crc INT UNSIGNED NOT NULL, " +
		"PRIMARY KEY (lsn, chunk)" +
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
	var err error
	if m.maxStatement, m.chunk, err = mysqlSizes(packet); err != nil {
		return fmt.Errorf("journal: %s: %w", m.where, err)
	}
	m.setMaxRows(mysqlMaxRows)
	return nil
}

// migrate adds the chunk column to a table made before records were
// chunked; OpenMySQL calls it once it holds the table's claim.
func (m *MySQL) migrate() error {
	chunked, err := m.chunkColumn()
	if err != nil || chunked {
		return err
	}
	if _, err := m.db.Exec("ALTER TABLE `" + m.table + "` ADD COLUMN chunk INT UNSIGNED NOT NULL DEFAULT 0 AFTER lsn, " +
		"DROP PRIMARY KEY, ADD PRIMARY KEY (lsn, chunk)"); err != nil {
		return fmt.Errorf("journal: %s: add the chunk column: %w", m.where, err)
	}
	return nil
}

// chunkColumn reports whether the table has the chunk column (tables made
// before records were chunked do not).
func (m *MySQL) chunkColumn() (bool, error) {
	var n int
	if err := m.db.Get(&n, "SELECT COUNT(*) FROM information_schema.columns "+
		"WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'chunk'", m.table); err != nil {
		return false, fmt.Errorf("journal: %s: columns: %w", m.where, err)
	}
	return n > 0, nil
}

func (m *MySQL) setMaxRows(n int) {
	m.maxRows = n
	var b strings.Builder
	b.WriteString("INSERT INTO `" + m.table + "` (lsn, chunk, version, body, crc) VALUES (?,?,?,?,?)")
	for i := 1; i < n; i++ {
		b.WriteString(",(?,?,?,?,?)")
	}
	m.insert = b.String()
}

// insertText is the INSERT statement for n rows.
func (m *MySQL) insertText(n int) string {
	return m.insert[:len(m.insert)-(m.maxRows-n)*len(",(?,?,?,?,?)")]
}

// row is one journal row as stored.
type row struct {
	LSN     uint64 `db:"lsn"`
	Chunk   uint32 `db:"chunk"`
	Version uint8  `db:"version"`
	Body    []byte `db:"body"`
	CRC     uint32 `db:"crc"`
}

// scan reads the rows with after < LSN (≤ upto unless upto is 0) in
// (LSN, chunk) order, a page at a time by keyset, checks each checksum, that
// each record's chunks are all there in order and that each LSN follows the
// one before, and passes each whole record to fn, its events decoded when
// decode says so by LSN (else nil).
func (m *MySQL) scan(after, upto uint64, decode func(lsn uint64) bool, fn func(Record) error) error {
	chunk, order := "chunk", "lsn, chunk"
	if m.unchunked {
		chunk, order = "0", "lsn"
	}
	cond := "lsn >= ? AND (lsn > ? OR " + chunk + " > ?)"
	if upto > 0 {
		cond += " AND lsn <= ?"
	}
	q := "SELECT lsn, " + chunk + " AS chunk, version, body, crc FROM `" + m.table + "` WHERE " + cond + " ORDER BY " + order + " LIMIT ?"
	s := scanState{first: true, decode: decode, fn: fn}
	// The keyset: the last row read. chunk > MaxUint32 holds for no row,
	// so the first page starts after LSN after.
	lastLSN, lastChunk := after, uint64(math.MaxUint32)
	for {
		args := []any{lastLSN, lastLSN, lastChunk}
		if upto > 0 {
			args = append(args, upto)
		}
		rows, err := m.db.Queryx(q, append(args, mysqlPage)...)
		if err != nil {
			return fmt.Errorf("journal: %s: read after LSN %d: %w", m.where, lastLSN, err)
		}
		n := 0
		for rows.Next() {
			if err := rows.StructScan(&s.r); err != nil {
				rows.Close()
				return fmt.Errorf("journal: %s: read after LSN %d: %w", m.where, lastLSN, err)
			}
			n++
			lastLSN, lastChunk = s.r.LSN, uint64(s.r.Chunk)
			if err := m.scanRow(&s); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("journal: %s: read after LSN %d: %w", m.where, lastLSN, err)
		}
		if n < mysqlPage {
			if p := s.a.pending(); p != "" {
				return fmt.Errorf("%w: %s: %s", ErrCorrupt, m.where, p)
			}
			return nil
		}
	}
}

// scanState is what scan carries from one row to the next.
type scanState struct {
	a      assembler
	r      row    // the row just read
	body   []byte // r's record body, rebuilt
	prev   uint64 // the last whole record's LSN
	first  bool   // no whole record yet
	decode func(lsn uint64) bool
	fn     func(Record) error
}

// scanRow checks the row s.r — checksum, chunk column, LSN order — and adds
// it to the record being assembled, passing a record it completes to s.fn.
func (m *MySQL) scanRow(s *scanState) error {
	r := &s.r
	s.body = append(s.body[:0], r.Version)
	s.body = binary.LittleEndian.AppendUint64(s.body, r.LSN)
	s.body = append(s.body, r.Body...)
	at := fmt.Sprintf("LSN %d", r.LSN)
	if r.Chunk != 0 || r.Version&chunkFlag != 0 {
		at += fmt.Sprintf(" chunk %d", r.Chunk)
	}
	if bodyCRC(s.body) != r.CRC {
		return fmt.Errorf("%w: %s %s: checksum mismatch", ErrCorrupt, m.where, at)
	}
	c, err := parseBody(s.body)
	if err == nil && c.index != uint64(r.Chunk) {
		err = fmt.Errorf("%w: the row's chunk column says %d, its body %d", errChunkOrder, r.Chunk, c.index)
	}
	if err == nil && s.a.pending() == "" && !s.first && c.lsn != s.prev+1 {
		err = fmt.Errorf("LSN %d after %d", c.lsn, s.prev)
	}
	var done bool
	if err == nil {
		done, err = s.a.add(c, s.decode)
	}
	if err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrCorrupt, m.where, at, err)
	}
	if !done {
		return nil
	}
	s.first, s.prev = false, s.a.r.LSN
	return s.fn(s.a.r)
}

// Read passes the committed records with after < LSN ≤ upto to fn in
// order, checked as in recovery. It is safe to call while the writer
// appends (it uses its own connection and sees only committed rows).
func (m *MySQL) Read(after, upto uint64, fn func(Record) error) error {
	if upto <= after {
		return nil
	}
	first := true
	last := after
	err := m.scan(after, upto, func(uint64) bool { return true }, func(r Record) error {
		if first && r.LSN != after+1 {
			return fmt.Errorf("%w: %s: records %d to %d are missing", ErrCorrupt, m.where, after+1, r.LSN-1)
		}
		first = false
		last = r.LSN
		return fn(r)
	})
	if err == nil && last != upto {
		// The table does not hold them: a journal restored into a new
		// table starts after its snapshot.
		err = fmt.Errorf("%w: %s: records %d to %d are missing", ErrCorrupt, m.where, last+1, upto)
	}
	return err
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
	if cap(m.buf) > 4*ChunkSize {
		m.buf = nil // a large record's buffer is not kept
	}
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
		n := len(m.args) / mysqlCols
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
		var err error
		at := len(m.buf)
		if m.buf, m.ends, err = appendBodies(m.buf, r, m.chunk, false, m.ends[:0]); err != nil {
			return 0, err
		}
		for k, end := range m.ends {
			body := m.buf[at:end]
			at = end
			cost := 2*len(body) + mysqlRowCost
			if cost > m.maxStatement { // appendBodies keeps bodies within m.chunk: cannot happen
				return 0, fmt.Errorf("journal: record %d chunk %d is %d bytes, too large for the server's max_allowed_packet (%d)", r.LSN, k, len(body), m.maxStatement+mysqlSlack)
			}
			if size+cost > m.maxStatement || len(m.args)/mysqlCols == m.maxRows {
				if err := flush(); err != nil {
					return 0, err
				}
			}
			m.args = append(m.args, r.LSN, k, body[0], body[bodyPrefix:], bodyCRC(body))
			size += cost
		}
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

// Read passes the committed records with after < LSN ≤ upto to fn in
// order (MySQL.Read).
func (r *MySQLReader) Read(after, upto uint64, fn func(Record) error) error {
	return r.m.Read(after, upto, fn)
}

// String names the journal.
func (r *MySQLReader) String() string { return r.m.where }

// Close closes the connections.
func (r *MySQLReader) Close() error { return r.m.db.Close() }
