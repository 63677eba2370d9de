package journal

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	"github.com/go-sql-driver/mysql"
	"github.com/holiman/uint256"
)

// testRecord is a record of 1 to 3 events varied by lsn.
func testRecord(lsn uint64) Record {
	r := Record{LSN: lsn}
	r.Events = append(r.Events, &messages.BalanceUpdated{User: uint32(lsn), Asset: 1, Business: "deposit",
		BusinessID: lsn, Change: *uint256.NewInt(lsn * 1000), Detail: []byte(`{"n":` + fmt.Sprint(lsn) + `}`), Time: int64(lsn)})
	if lsn%2 == 0 {
		r.Events = append(r.Events, &messages.OrderRested{Market: 2, OrderID: lsn << 10, Time: int64(lsn)})
	}
	if lsn%3 == 0 {
		r.Events = append(r.Events, &messages.OrderFinished{Market: 1, OrderID: lsn, User: 7, Time: -1, Cancelled: true, Asset: 2, Release: *uint256.NewInt(lsn)})
	}
	return r
}

func testRecords(from, to uint64) []Record {
	var rs []Record
	for lsn := from; lsn <= to; lsn++ {
		rs = append(rs, testRecord(lsn))
	}
	return rs
}

// sameRecord compares by encoding (the codec is deterministic).
func sameRecord(t *testing.T, got, want Record) {
	t.Helper()
	if got.LSN != want.LSN || len(got.Events) != len(want.Events) {
		t.Fatalf("record LSN %d with %d events; want LSN %d with %d", got.LSN, len(got.Events), want.LSN, len(want.Events))
	}
	for i := range got.Events {
		if !bytes.Equal(codec.Append(nil, got.Events[i]), codec.Append(nil, want.Events[i])) {
			t.Fatalf("LSN %d event %d: got %+v; want %+v", got.LSN, i, got.Events[i], want.Events[i])
		}
	}
}

func openMySQL(t *testing.T, dsn string, after uint64) (*MySQL, Recovery, []Record) {
	t.Helper()
	var got []Record
	m, rec, err := OpenMySQL(dsn, after, func(r Record) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, rec, got
}

// rawDB opens the test database directly, to damage rows.
func rawDB(t *testing.T, dsn string) (*sql.DB, string) {
	t.Helper()
	cfg, table, err := ParseMySQLDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db, "`" + table + "`"
}

func TestMySQLRoundTrip(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, rec, got := openMySQL(t, dsn, 0)
	if rec.Records != 0 || rec.LastLSN != 0 || len(got) != 0 || m.LastLSN() != 0 {
		t.Fatalf("new journal: %+v, %d replayed, last %d", rec, len(got), m.LastLSN())
	}
	want := testRecords(1, 250)
	for _, batch := range [][]Record{want[:1], want[1:100], want[100:250]} {
		if err := m.Write(batch); err != nil {
			t.Fatal(err)
		}
		if err := m.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Write(nil); err != nil {
		t.Fatal(err)
	}
	if m.LastLSN() != 250 {
		t.Fatalf("LastLSN = %d; want 250", m.LastLSN())
	}
	// Read while open: a range, paged.
	var read []Record
	if err := m.Read(10, 20, func(r Record) error { read = append(read, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(read) != 10 || read[0].LSN != 11 || read[9].LSN != 20 {
		t.Fatalf("Read(10, 20) gave %d records", len(read))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m, rec, got = openMySQL(t, dsn, 0)
	if rec.Records != 250 || rec.LastLSN != 250 || m.LastLSN() != 250 || rec.TornBytes != 0 || rec.Segments != 0 {
		t.Fatalf("recovery = %+v, last %d", rec, m.LastLSN())
	}
	if len(got) != len(want) {
		t.Fatalf("replayed %d records; want %d", len(got), len(want))
	}
	for i := range want {
		sameRecord(t, got[i], want[i])
	}
	// Appending continues after recovery, and a replay error is returned.
	if err := m.Write(testRecords(251, 1300)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	boom := errors.New("boom")
	if _, _, err := OpenMySQL(dsn, 0, func(r Record) error {
		if r.LSN == 1200 {
			return boom
		}
		return nil
	}); !errors.Is(err, boom) {
		t.Fatalf("replay error: got %v", err)
	}
	// after: only later records are replayed, over several pages.
	m, rec, got = openMySQL(t, dsn, 200)
	if rec.Records != 1300 || len(got) != 1100 || got[0].LSN != 201 || got[1099].LSN != 1300 {
		t.Fatalf("after 200: recovery %+v, replayed %d", rec, len(got))
	}
	sameRecord(t, got[1099], testRecord(1300))
	if s := m.String(); !strings.Contains(s, "table t_") || strings.Contains(s, "***") {
		t.Errorf("String() = %q", s)
	}
}

func TestMySQLLSNContiguity(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	if err := m.Write(testRecords(2, 3)); err == nil {
		t.Fatal("first record at LSN 2 accepted")
	}
	gap := append(testRecords(1, 3), testRecord(5))
	if err := m.Write(gap); err == nil {
		t.Fatal("batch with a gap accepted")
	}
	if m.LastLSN() != 0 {
		t.Fatalf("LastLSN after refused writes = %d", m.LastLSN())
	}
	if err := m.Write(testRecords(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := m.Write(testRecords(10, 11)); err == nil {
		t.Fatal("LSN 10 written twice")
	}
	m.Close()
	// A journal that starts above after+1 lacks records: refused; with a
	// snapshot at that point (after), it is fine.
	db, table := rawDB(t, dsn)
	mustExec(t, db, "DELETE FROM "+table+" WHERE lsn <= 3")
	if _, _, err := OpenMySQL(dsn, 0, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("journal starting at LSN 4, after 0: got %v; want ErrCorrupt", err)
	}
	m, rec, got := openMySQL(t, dsn, 3)
	if rec.Records != 7 || len(got) != 7 || m.LastLSN() != 10 {
		t.Fatalf("after 3: %+v, %d replayed", rec, len(got))
	}
	m.Close()
	// A snapshot beyond the journal: appending continues after it.
	m, _, _ = openMySQL(t, dsn, 15)
	if m.LastLSN() != 15 {
		t.Fatalf("LastLSN = %d; want 15 (the snapshot's)", m.LastLSN())
	}
	m.Close()
	// A hole in the middle.
	mustExec(t, db, "DELETE FROM "+table+" WHERE lsn = 7")
	if _, _, err := OpenMySQL(dsn, 3, nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "LSN 8 after 6") {
		t.Fatalf("hole at LSN 7: got %v; want ErrCorrupt", err)
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestMySQLCorruptRows damages one row in each way recovery must catch: a
// torn or altered body, a wrong checksum, version or LSN, and a body that
// passes its checksum but does not decode. Each is ErrCorrupt.
func TestMySQLCorruptRows(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	for _, tc := range []struct {
		name   string
		damage []string // SQL run on the table (%[1]s) holding LSNs 1 to 10
		want   string
	}{
		{"torn body", []string{"UPDATE %[1]s SET body = LEFT(body, LENGTH(body) - 3) WHERE lsn = 5"}, "LSN 5: checksum mismatch"},
		{"flipped byte", []string{"UPDATE %[1]s SET body = CONCAT(LEFT(body, 4), CHAR(ASCII(SUBSTRING(body, 5, 1)) ^ 1), SUBSTRING(body, 6)) WHERE lsn = 5"}, "LSN 5: checksum mismatch"},
		{"empty body", []string{"UPDATE %[1]s SET body = '' WHERE lsn = 5"}, "LSN 5: checksum mismatch"},
		{"checksum", []string{"UPDATE %[1]s SET crc = crc ^ 1 WHERE lsn = 5"}, "LSN 5: checksum mismatch"},
		{"version", []string{"UPDATE %[1]s SET version = version + 1 WHERE lsn = 5"}, "LSN 5: checksum mismatch"},
		{"moved LSN", []string{"UPDATE %[1]s SET lsn = 100 WHERE lsn = 5"}, "LSN 6 after 4"},
		{"swapped LSNs", []string{
			"UPDATE %[1]s SET lsn = 1000 WHERE lsn = 5",
			"UPDATE %[1]s SET lsn = 5 WHERE lsn = 4",
			"UPDATE %[1]s SET lsn = 4 WHERE lsn = 1000",
		}, "LSN 4: checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := testenv.WithParam(dsn, "table", testenv.MySQLTable(t, dsn))
			m, _, _ := openMySQL(t, dsn, 0)
			if err := m.Write(testRecords(1, 10)); err != nil {
				t.Fatal(err)
			}
			m.Close()
			db, table := rawDB(t, dsn)
			for _, q := range tc.damage {
				mustExec(t, db, fmt.Sprintf(q, table))
			}
			_, _, err := OpenMySQL(dsn, 0, func(Record) error { return nil })
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want ErrCorrupt with %q", err, tc.want)
			}
		})
	}
	t.Run("undecodable body", func(t *testing.T) {
		dsn := testenv.WithParam(dsn, "table", testenv.MySQLTable(t, dsn))
		m, _, _ := openMySQL(t, dsn, 0)
		if err := m.Write(testRecords(1, 3)); err != nil {
			t.Fatal(err)
		}
		m.Close()
		db, table := rawDB(t, dsn)
		body := []byte{codec.Version, 2, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0} // one event of 3 bytes, missing
		mustExec(t, db, "UPDATE "+table+" SET body = ?, crc = ? WHERE lsn = 2", body[bodyPrefix:], bodyCRC(body))
		if _, _, err := OpenMySQL(dsn, 0, func(Record) error { return nil }); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "LSN 2") {
			t.Fatalf("got %v; want ErrCorrupt at LSN 2", err)
		}
	})
}

// TestMySQLChunks writes batches larger than one INSERT may hold: every
// chunk lands, in one transaction — a failing chunk keeps none of them.
func TestMySQLChunks(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	m.setMaxRows(7)
	if err := m.Write(testRecords(1, 100)); err != nil {
		t.Fatal(err)
	}
	m.setMaxRows(mysqlMaxRows)
	m.maxStatement = 2000 // a few rows per INSERT
	if err := m.Write(testRecords(101, 300)); err != nil {
		t.Fatal(err)
	}
	big := testRecord(301)
	big.Events[0].(*messages.BalanceUpdated).Detail = bytes.Repeat([]byte("x"), 5000)
	if err := m.Write([]Record{big}); err == nil || !strings.Contains(err.Error(), "max_allowed_packet") {
		t.Fatalf("record over the statement limit: got %v", err)
	}
	m.maxStatement = 1 << 20
	if err := m.Write([]Record{big}); err != nil {
		t.Fatal(err)
	}
	// A row already at LSN 340 makes the last chunk of 302..350 fail.
	db, table := rawDB(t, dsn)
	mustExec(t, db, "INSERT INTO "+table+" (lsn, version, body, crc) VALUES (340, 1, '', 0)")
	m.setMaxRows(10)
	if err := m.Write(testRecords(302, 350)); err == nil {
		t.Fatal("duplicate LSN 340 accepted")
	}
	if m.LastLSN() != 301 {
		t.Fatalf("LastLSN after a failed write = %d; want 301", m.LastLSN())
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM " + table + " WHERE lsn > 301").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows above 301 after the failed write: %d (%v); want 1, the intruder", n, err)
	}
	mustExec(t, db, "DELETE FROM "+table+" WHERE lsn = 340")
	m.Close()
	_, rec, got := openMySQL(t, dsn, 0)
	if rec.Records != 301 || len(got) != 301 {
		t.Fatalf("recovered %+v, %d replayed", rec, len(got))
	}
	for i, r := range got[:300] {
		sameRecord(t, r, testRecord(uint64(i+1)))
	}
	sameRecord(t, got[300], big)
}

func TestParseMySQLDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, table, err string }{
		{"root@tcp(127.0.0.1:3306)/test", DefaultMySQLTable, ""},
		{"mysql://root@tcp(127.0.0.1:3306)/test?table=j_1", "j_1", ""},
		{"u:p@tcp(h:1)/db?parseTime=true&table=Journal", "Journal", ""},
		{"root@tcp(127.0.0.1:3306)/", "", "names no database"},
		{"root@tcp(127.0.0.1:3306)/test?table=a-b", "", "table name"},
		{"root@tcp(127.0.0.1:3306)/test?table=1a", "", "table name"},
		{"root@tcp(127.0.0.1:3306)/test?table=a%60b", "", "table name"},
		{"root@tcp(127.0.0.1:3306)/test?table=", "", "table name"},
		{"nonsense", "", "DSN"},
	} {
		cfg, table, err := ParseMySQLDSN(tc.dsn)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v; want %q", tc.dsn, err, tc.err)
			}
			continue
		}
		if err != nil || table != tc.table || cfg.Params["table"] != "" {
			t.Errorf("%s: table %q, params %v, err %v; want %q", tc.dsn, table, cfg.Params, err, tc.table)
		}
	}
}

// BenchmarkMySQLWrite commits batches of records (1–3 events each), as the
// writer's group commit would, and reports rows/s.
func BenchmarkMySQLWrite(b *testing.B) {
	dsn := testenv.MySQLDSN(b)
	for _, batch := range []int{1, 16, 256, 4096} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			m, _, err := OpenMySQL(testenv.WithParam(dsn, "table", testenv.MySQLTable(b, dsn)), 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			pool := testRecords(1, uint64(batch))
			rs := make([]Record, batch)
			b.ResetTimer()
			t0 := time.Now()
			for i := 0; i < b.N; i++ {
				for k := range rs {
					rs[k] = Record{LSN: m.LastLSN() + uint64(k) + 1, Events: pool[k].Events}
				}
				if err := m.Write(rs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/time.Since(t0).Seconds(), "rows/s")
		})
	}
}

// loseClaimTo makes m's claim connection lost while its lock is held by
// another session of db (as the server keeps the lock of a closed
// connection until it ends that session), and returns that session.
func loseClaimTo(t *testing.T, m *MySQL, db *sql.DB) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	ghost, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ghost.Close() })
	m.claim.mu.Lock()
	defer m.claim.mu.Unlock()
	if _, err := m.claim.conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", m.claim.name); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := ghost.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", m.claim.name).Scan(&got); err != nil || got != 1 {
		t.Fatalf("GET_LOCK = %d, %v", got, err)
	}
	m.claim.conn.Raw(func(any) error { return driver.ErrBadConn })
	m.claim.conn.Close()
	return ghost
}

// TestMySQLClaimRetake: a journal whose claim connection was lost takes the
// claim again once the lost session's lock goes (the server ends that
// session some time after the connection closed: under load after the
// journal already asks again), waiting up to ClaimRetake; a lock still held
// after that is a lost claim, and every Write fails.
func TestMySQLClaimRetake(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	db, _ := rawDB(t, dsn)
	defer func(d time.Duration) { ClaimRetake = d }(ClaimRetake)
	ClaimRetake = 10 * time.Second

	ghost := loseClaimTo(t, m, db)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		ghost.ExecContext(context.Background(), "DO RELEASE_LOCK(?)", m.claim.name)
	}()
	t0 := time.Now()
	if !m.claim.check() || m.claim.lost() != nil {
		t.Fatalf("claim not retaken after the lost session's lock went: %v", m.claim.lost())
	}
	if waited := time.Since(t0); waited < time.Second {
		t.Fatalf("retaken after %v, before the other session released the lock", waited)
	}
	if err := m.Write(testRecords(1, 2)); err != nil {
		t.Fatal(err)
	}

	ClaimRetake = time.Second
	loseClaimTo(t, m, db)
	if m.claim.check() || !errors.Is(m.claim.lost(), ErrClaimed) {
		t.Fatalf("claim held by another session for good: check retook it (lost = %v)", m.claim.lost())
	}
	if err := m.Write(testRecords(3, 3)); !errors.Is(err, ErrClaimed) {
		t.Fatalf("Write after the claim was lost = %v; want ErrClaimed", err)
	}
}

// TestMySQLClaim: a second OpenMySQL on a table in use is refused
// (ErrClaimed) until the first closes; ScanMySQL reads beside it and
// creates no table.
func TestMySQLClaim(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	if err := m.Write(testRecords(1, 3)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenMySQL(dsn, 0, nil); !errors.Is(err, ErrClaimed) || !strings.Contains(err.Error(), "is claimed by connection") {
		t.Fatalf("second OpenMySQL = %v; want ErrClaimed naming the holder", err)
	}
	var n int
	rec, err := ScanMySQL(dsn, 1, func(Record) error { n++; return nil })
	if err != nil || rec.Records != 3 || rec.LastLSN != 3 || n != 2 {
		t.Fatalf("ScanMySQL beside the writer = %+v, %d replayed, %v", rec, n, err)
	}
	m.Close()
	m2, rec, _ := openMySQL(t, dsn, 0)
	if rec.LastLSN != 3 {
		t.Fatalf("reopened: %+v", rec)
	}
	// The claim survives a lost connection: the check takes it again.
	m2.claim.mu.Lock()
	m2.claim.conn.Raw(func(any) error { return driver.ErrBadConn })
	m2.claim.conn.Close()
	m2.claim.mu.Unlock()
	if !m2.claim.check() || m2.claim.lost() != nil {
		t.Fatalf("claim not retaken: %v", m2.claim.lost())
	}
	if _, _, err := OpenMySQL(dsn, 0, nil); !errors.Is(err, ErrClaimed) {
		t.Fatalf("OpenMySQL after the claim was retaken = %v; want ErrClaimed", err)
	}

	other := testenv.WithParam(dsn, "table", testenv.MySQLTable(t, dsn))
	if rec, err := ScanMySQL(other, 0, nil); err != nil || rec.Records != 0 {
		t.Fatalf("ScanMySQL of a missing table = %+v, %v", rec, err)
	}
	db, table := rawDB(t, other)
	var tables int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", strings.Trim(table, "`")).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("ScanMySQL created %s (%d, %v)", table, tables, err)
	}
}

func TestMySQLTruncateAfter(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	m, _, _ := openMySQL(t, dsn, 0)
	if err := m.Write(testRecords(1, 20)); err != nil {
		t.Fatal(err)
	}
	if err := m.TruncateAfter(25); err != nil || m.LastLSN() != 20 {
		t.Fatalf("cut past the end: %v, last %d", err, m.LastLSN())
	}
	if err := m.TruncateAfter(12); err != nil || m.LastLSN() != 12 {
		t.Fatalf("cut: %v, last %d", err, m.LastLSN())
	}
	if err := m.Write(testRecords(14, 14)); err == nil {
		t.Fatal("a gap after the cut was written")
	}
	if err := m.Write(testRecords(13, 15)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	m, rec, got := openMySQL(t, dsn, 0)
	if rec.LastLSN != 15 || len(got) != 15 {
		t.Fatalf("reopened: %+v, %d records", rec, len(got))
	}
	for i, r := range got {
		sameRecord(t, r, testRecord(uint64(i+1)))
	}
	if err := m.ResetAfter(40); err != nil || m.LastLSN() != 40 {
		t.Fatalf("reset: %v, last %d", err, m.LastLSN())
	}
	if err := m.Write(testRecords(41, 42)); err != nil {
		t.Fatal(err)
	}
	m.Close()
	if _, rec, got = openMySQL(t, dsn, 40); rec.LastLSN != 42 || len(got) != 2 || got[0].LSN != 41 {
		t.Fatalf("after reset: %+v, %d records", rec, len(got))
	}
}
