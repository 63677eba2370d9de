package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// dialect is what differs between the two backends' SQL.
type dialect struct {
	name string
	// Column types.
	autoID, u64, u32, u8, i64, name64, text255, dec, text string
	// tableOptions ends CREATE TABLE.
	tableOptions string
	// inlineIndexes: indexes are declared in CREATE TABLE (MySQL has no
	// CREATE INDEX IF NOT EXISTS); else created by CREATE INDEX IF NOT
	// EXISTS (SQLite, where index names are per schema).
	inlineIndexes bool
	// forUpdate locks the cursor row read in Apply's transaction.
	forUpdate string
	// insertIgnore starts an INSERT that skips an existing key.
	insertIgnore string
	// insert starts Apply's multi-row INSERTs. On SQLite it is INSERT OR
	// FAIL: a failing row then leaves the statement's earlier rows in
	// place instead of undoing them, which spares SQLite the statement
	// journal (a copy of every page the statement touches, written to a
	// temporary file) — and a failed Apply rolls its whole transaction
	// back anyway.
	insert string
	// id converts a uint64 id for binding: SQLite integers are signed
	// 64-bit, so ids are stored as their int64 bit pattern (order and
	// deal ids stay far below 2^63: seq << 10 | market).
	id func(uint64) any
	// hasColumn counts (0 or 1) the columns of a table (first argument)
	// with a name (second argument).
	hasColumn string
	// alterMany: one ALTER TABLE may add several columns (MySQL); else
	// one statement per column (SQLite).
	alterMany bool
}

var mysqlDialect = &dialect{
	name:          "mysql",
	autoID:        "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY",
	u64:           "BIGINT UNSIGNED NOT NULL",
	u32:           "INT UNSIGNED NOT NULL",
	u8:            "TINYINT UNSIGNED NOT NULL",
	i64:           "BIGINT NOT NULL",
	name64:        "VARCHAR(64) NOT NULL",
	text255:       "VARCHAR(255) NOT NULL",
	dec:           "VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL",
	text:          "TEXT NOT NULL",
	tableOptions:  " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	inlineIndexes: true,
	forUpdate:     " FOR UPDATE",
	insertIgnore:  "INSERT IGNORE INTO ",
	insert:        "INSERT INTO ",
	id:            func(v uint64) any { return v },
	hasColumn: "SELECT COUNT(*) FROM information_schema.COLUMNS " +
		"WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
	alterMany: true,
}

var sqliteDialect = &dialect{
	name:         "sqlite",
	autoID:       "INTEGER PRIMARY KEY",
	u64:          "INTEGER NOT NULL",
	u32:          "INTEGER NOT NULL",
	u8:           "INTEGER NOT NULL",
	i64:          "INTEGER NOT NULL",
	name64:       "TEXT NOT NULL",
	text255:      "TEXT NOT NULL",
	dec:          "TEXT NOT NULL",
	text:         "TEXT NOT NULL",
	insertIgnore: "INSERT OR IGNORE INTO ",
	insert:       "INSERT OR FAIL INTO ",
	id:           func(v uint64) any { return int64(v) },
	hasColumn:    "SELECT COUNT(*) FROM pragma_table_info(?) WHERE `name` = ?",
}

// tables are the Store's table names, prefix included.
type tables struct {
	schema, cursor, skips, orders, deals, balances string
}

func tableNames(prefix string) tables {
	return tables{
		schema:   prefix + "history_schema",
		cursor:   prefix + "history_cursor",
		skips:    prefix + "history_skips",
		orders:   prefix + "order_history",
		deals:    prefix + "deal_history",
		balances: prefix + "balance_history",
	}
}

// q quotes an identifier (both backends accept backquotes).
func q(name string) string { return "`" + name + "`" }

type index struct {
	name string
	cols string
}

// createTable returns the statements creating table with its indexes, each
// a no-op when it exists.
func (d *dialect) createTable(table string, cols []string, indexes []index) []string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + q(table) + " (")
	b.WriteString(strings.Join(cols, ", "))
	if d.inlineIndexes {
		for _, ix := range indexes {
			b.WriteString(", INDEX " + q(table+"_"+ix.name) + " (" + ix.cols + ")")
		}
	}
	b.WriteString(")" + d.tableOptions)
	stmts := []string{b.String()}
	if !d.inlineIndexes {
		for _, ix := range indexes {
			stmts = append(stmts, "CREATE INDEX IF NOT EXISTS "+q(table+"_"+ix.name)+" ON "+q(table)+" ("+ix.cols+")")
		}
	}
	return stmts
}

// migration is one schema step: statements, then columns added to
// existing tables. Its statements must be idempotent: on MySQL, DDL is not
// transactional and a step interrupted by a crash runs again. Columns are
// added only where missing (neither backend has a portable ADD COLUMN IF
// NOT EXISTS), so a column step is idempotent too.
type migration struct {
	version int
	stmts   func(d *dialect, t tables) []string
	columns func(d *dialect, t tables) []column
}

// column is a column a migration adds to table. Its definition must have a
// default (rows already there take it; SQLite requires one for NOT NULL).
type column struct {
	table, name, def string
}

// migrations, in version order. Never edit a released step: add one.
var migrations = []migration{
	{version: 1, stmts: func(d *dialect, t tables) []string {
		var s []string
		s = append(s, d.createTable(t.cursor, []string{
			"`name` " + d.name64 + " PRIMARY KEY",
			"`lsn` " + d.u64,
		}, nil)...)
		s = append(s, d.createTable(t.skips, []string{
			"`id` " + d.autoID,
			"`after_lsn` " + d.u64,
			"`next_lsn` " + d.u64,
			"`time` " + d.i64,
		}, nil)...)
		s = append(s, d.createTable(t.orders, []string{
			"`id` " + d.u64 + " PRIMARY KEY",
			"`create_time` " + d.i64,
			"`finish_time` " + d.i64,
			"`user_id` " + d.u32,
			"`market` " + d.name64,
			"`source` " + d.text255,
			"`t` " + d.u8,
			"`side` " + d.u8,
			"`price` " + d.dec,
			"`amount` " + d.dec,
			"`taker_fee` " + d.dec,
			"`maker_fee` " + d.dec,
			"`deal_stock` " + d.dec,
			"`deal_money` " + d.dec,
			"`deal_fee` " + d.dec,
			"`lsn` " + d.u64,
		}, []index{{"user_market", "`user_id`, `market`, `id`"}})...)
		s = append(s, d.createTable(t.deals, []string{
			"`id` " + d.autoID,
			"`time` " + d.i64,
			"`user_id` " + d.u32,
			"`deal_id` " + d.u64,
			"`order_id` " + d.u64,
			"`deal_order_id` " + d.u64,
			"`market` " + d.name64,
			"`side` " + d.u8,
			"`role` " + d.u8,
			"`price` " + d.dec,
			"`amount` " + d.dec,
			"`deal` " + d.dec,
			"`fee` " + d.dec,
			"`deal_fee` " + d.dec,
			"`lsn` " + d.u64,
		}, []index{
			{"order", "`order_id`, `id`"},
			{"user_market", "`user_id`, `market`, `id`"},
		})...)
		s = append(s, d.createTable(t.balances, []string{
			"`id` " + d.autoID,
			"`time` " + d.i64,
			"`user_id` " + d.u32,
			"`asset` " + d.name64,
			"`business` " + d.text255,
			"`change` " + d.dec,
			"`balance` " + d.dec,
			"`detail` " + d.text,
			"`lsn` " + d.u64,
		}, []index{
			{"user", "`user_id`, `id`"},
			{"user_asset", "`user_id`, `asset`, `id`"},
			{"user_asset_business", "`user_id`, `asset`, `business`, `id`"},
			{"user_business", "`user_id`, `business`, `id`"},
		})...)
		return s
	}},
	// 2: the order options (README "Order options") of finished orders;
	// orders finished before have the defaults, which are viabtc's
	// behaviour. stop_price is "0" for an order that is not a stop order.
	{version: 2, columns: func(d *dialect, t tables) []column {
		return []column{
			{t.orders, "client_id", d.name64 + " DEFAULT ''"},
			{t.orders, "stop_price", d.dec + " DEFAULT '0'"},
			{t.orders, "triggered", d.u8 + " DEFAULT 0"},
			{t.orders, "time_in_force", d.u8 + " DEFAULT 0"},
			{t.orders, "post_only", d.u8 + " DEFAULT 0"},
			{t.orders, "stp", d.u8 + " DEFAULT 0"},
		}
	}},
	// 3: the mark of the journal the cursor belongs to (journal.Identity
	// .Mark; '' for a cursor stored before).
	{version: 3, columns: func(d *dialect, t tables) []column {
		return []column{{t.cursor, "journal", d.name64 + " DEFAULT ''"}}
	}},
}

// SchemaVersion is the schema version this package creates.
var SchemaVersion = migrations[len(migrations)-1].version

// migrate brings the schema to SchemaVersion and makes sure the cursor row
// of follower name exists.
func migrate(ctx context.Context, db *sqlx.DB, d *dialect, t tables, name string) error {
	create := "CREATE TABLE IF NOT EXISTS " + q(t.schema) + " (`id` " + d.u8 + " PRIMARY KEY, `version` " + d.i64 + ")" + d.tableOptions
	if _, err := db.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create %s: %w", t.schema, err)
	}
	var version int
	err := db.GetContext(ctx, &version, "SELECT `version` FROM "+q(t.schema)+" WHERE `id` = 1")
	switch {
	case errors.Is(err, sql.ErrNoRows):
		version = 0
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this program's (%d)", version, SchemaVersion)
	}
	for _, m := range migrations {
		if m.version <= version {
			continue
		}
		if err := runMigration(ctx, db, d, t, m); err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
	}
	if _, err := db.ExecContext(ctx, d.insertIgnore+q(t.cursor)+" (`name`, `lsn`) VALUES (?, 0)", name); err != nil {
		return fmt.Errorf("create cursor %q: %w", name, err)
	}
	return nil
}

// runMigration runs one step and records its version, in one transaction
// (which makes the step atomic on SQLite; MySQL commits each DDL
// statement at once, hence idempotent steps).
func runMigration(ctx context.Context, db *sqlx.DB, d *dialect, t tables, m migration) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stmts []string
	if m.stmts != nil {
		stmts = m.stmts(d, t)
	}
	if m.columns != nil {
		add, err := addColumns(ctx, tx, d, m.columns(d, t))
		if err != nil {
			return err
		}
		stmts = append(stmts, add...)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+q(t.schema)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO "+q(t.schema)+" (`id`, `version`) VALUES (1, ?)", m.version); err != nil {
		return err
	}
	return tx.Commit()
}

// addColumns returns the ALTER TABLE statements adding those of cols that
// the tables lack.
func addColumns(ctx context.Context, tx *sqlx.Tx, d *dialect, cols []column) ([]string, error) {
	var stmts []string
	var last string // the table of the statement being built (alterMany)
	for _, c := range cols {
		var n int
		if err := tx.GetContext(ctx, &n, d.hasColumn, c.table, c.name); err != nil {
			return nil, fmt.Errorf("look for column %s.%s: %w", c.table, c.name, err)
		}
		if n > 0 {
			continue
		}
		add := "ADD COLUMN " + q(c.name) + " " + c.def
		if d.alterMany && last == c.table {
			stmts[len(stmts)-1] += ", " + add
			continue
		}
		stmts = append(stmts, "ALTER TABLE "+q(c.table)+" "+add)
		last = c.table
	}
	return stmts, nil
}
