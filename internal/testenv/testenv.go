// Package testenv gives tests the external services they need — MySQL,
// Redis — from environment variables:
//
//	BOURSE_TEST_MYSQL_DSN    go-sql-driver DSN, e.g. root@tcp(127.0.0.1:3306)/test
//	BOURSE_TEST_REDIS_ADDR   host:port, e.g. 127.0.0.1:6379
//	BOURSE_TEST_CHROMIUM     the Chromium the browser tests drive (default:
//	                         chromium on PATH; "off" skips them)
//	BOURSE_REQUIRE_SERVICES  1: a missing or unreachable service fails the
//	                         test instead of skipping it (CI sets it)
//
// When a variable is unset, the service's usual local address is used if
// it answers (DefaultMySQLDSN, DefaultRedisAddr); "off" skips the tests of
// that service. A test that needs a service calls MySQLDSN(t) or
// RedisAddr(t) first; when the service is missing it is skipped with a
// message saying which variable to set.
package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Environment variables read by this package.
const (
	MySQLVar   = "BOURSE_TEST_MYSQL_DSN"
	RedisVar   = "BOURSE_TEST_REDIS_ADDR"
	RequireVar = "BOURSE_REQUIRE_SERVICES"
)

// The services' usual local addresses, tried when their variable is unset:
// a MariaDB or MySQL with a passwordless root and a database named test,
// and a Redis.
const (
	DefaultMySQLDSN  = "root@tcp(127.0.0.1:3306)/test"
	DefaultRedisAddr = "127.0.0.1:6379"
)

// Off is the value of a service variable that skips that service's tests.
const Off = "off"

// Required reports whether BOURSE_REQUIRE_SERVICES=1.
func Required() bool { return os.Getenv(RequireVar) == "1" }

// unavailable skips the test, or fails it when services are required.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (%s=1)", msg, RequireVar)
	}
	t.Skip(msg)
}

// probe caches each service's reachability for the test binary.
var probes sync.Map // key → *probe

type probe struct {
	once sync.Once
	err  error
}

func check(key string, fn func() error) error {
	p, _ := probes.LoadOrStore(key, &probe{})
	pr := p.(*probe)
	pr.once.Do(func() { pr.err = fn() })
	return pr.err
}

// MySQLDSN returns $BOURSE_TEST_MYSQL_DSN, or DefaultMySQLDSN when the
// variable is unset, once the server answers a ping.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(MySQLVar)
	switch dsn {
	case Off:
		unavailable(t, "MySQL tests off: %s=%s", MySQLVar, Off)
	case "":
		if err := pingMySQL(DefaultMySQLDSN); err != nil {
			unavailable(t, "MySQL: %s is not set and none answers at %s (%v)", MySQLVar, DefaultMySQLDSN, err)
		}
		return DefaultMySQLDSN
	}
	if err := pingMySQL(dsn); err != nil {
		unavailable(t, "MySQL at %s=%s is unreachable: %v", MySQLVar, redact(dsn), err)
	}
	return dsn
}

// pingMySQL reports whether the server of dsn answers a ping (once per
// test binary and DSN).
func pingMySQL(dsn string) error {
	return check("mysql "+dsn, func() error {
		db, err := openMySQL(dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return db.PingContext(ctx)
	})
}

func openMySQL(dsn string) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	delete(cfg.Params, "table")
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// redact hides a DSN's password.
func redact(dsn string) string {
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		return "(unparsable DSN)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "***"
	}
	return cfg.FormatDSN()
}

// MySQLTable returns a table name unique to this run of the test (at most
// 64 characters) and drops that table in the database of dsn when the test
// ends.
func MySQLTable(t testing.TB, dsn string) string {
	t.Helper()
	table := uniqueTable(t.Name())
	t.Cleanup(func() {
		db, err := openMySQL(dsn)
		if err != nil {
			t.Errorf("drop table %s: %v", table, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + table + "`"); err != nil {
			t.Errorf("drop table %s: %v", table, err)
		}
		// The journal's identity row (persistence/journal.MetaTable), if any.
		db.Exec("DELETE FROM `bourse_journal_meta` WHERE `journal` = ?", table)
	})
	return table
}

// uniqueTable makes a table name from a test name and 8 random hex digits.
func uniqueTable(test string) string {
	var rnd [4]byte
	rand.Read(rnd[:])
	name := strings.ToLower(nonWord.ReplaceAllString(test, "_"))
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return "t_" + strings.Trim(name, "_") + "_" + hex.EncodeToString(rnd[:])
}

// MySQLJournal returns the test DSN with a table= parameter naming a fresh
// table (MySQLTable): the form persistence/journal.OpenMySQL and
// runtime.Options.JournalDSN take.
func MySQLJournal(t testing.TB) string {
	t.Helper()
	dsn := MySQLDSN(t)
	return WithParam(dsn, "table", MySQLTable(t, dsn))
}

// MySQLDatabase creates a database unique to this run of the test on the
// server of $BOURSE_TEST_MYSQL_DSN, drops it when the test ends, and
// returns the DSN naming it: for a program whose table names cannot be
// prefixed (e.g. the bourse binary's -history).
func MySQLDatabase(t testing.TB) string {
	t.Helper()
	dsn := MySQLDSN(t)
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		t.Fatalf("%s: %v", MySQLVar, err)
	}
	name := uniqueTable(t.Name())
	db, err := openMySQL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		db, err := openMySQL(dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// WithAddr returns dsn with its server address replaced by addr
// (host:port), e.g. a Proxy's.
func WithAddr(t testing.TB, dsn, addr string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
	if err != nil {
		t.Fatalf("DSN: %v", err)
	}
	cfg.Net, cfg.Addr = "tcp", addr
	return cfg.FormatDSN()
}

// WithParam appends key=value to a DSN's parameters.
func WithParam(dsn, key, value string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + key + "=" + value
}

// RedisAddr returns $BOURSE_TEST_REDIS_ADDR, or DefaultRedisAddr when the
// variable is unset, once the server answers PING.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(RedisVar)
	switch addr {
	case Off:
		unavailable(t, "Redis tests off: %s=%s", RedisVar, Off)
	case "":
		if err := pingRedis(DefaultRedisAddr); err != nil {
			unavailable(t, "Redis: %s is not set and none answers at %s (%v)", RedisVar, DefaultRedisAddr, err)
		}
		return DefaultRedisAddr
	}
	if err := pingRedis(addr); err != nil {
		unavailable(t, "Redis at %s=%s is unreachable: %v", RedisVar, addr, err)
	}
	return addr
}

// pingRedis reports whether a Redis at addr answers PING (once per test
// binary and address).
func pingRedis(addr string) error {
	return check("redis "+addr, func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		// A server that requires AUTH answers -NOAUTH: it is up.
		if !strings.HasPrefix(line, "+PONG") && !strings.HasPrefix(line, "-NOAUTH") {
			return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
		}
		return nil
	})
}

// MySQLPrefix returns a table-name prefix unique to this run of the test
// and drops every table of the database of dsn that starts with it when
// the test ends.
func MySQLPrefix(t testing.TB, dsn string) string {
	t.Helper()
	var rnd [4]byte
	rand.Read(rnd[:])
	prefix := "p" + hex.EncodeToString(rnd[:]) + "_"
	t.Cleanup(func() {
		db, err := openMySQL(dsn)
		if err != nil {
			t.Errorf("drop tables %s*: %v", prefix, err)
			return
		}
		defer db.Close()
		rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?", prefix+"%")
		if err != nil {
			t.Errorf("drop tables %s*: %v", prefix, err)
			return
		}
		var tables []string
		for rows.Next() {
			var name string
			if rows.Scan(&name) == nil {
				tables = append(tables, name)
			}
		}
		rows.Close()
		for _, name := range tables {
			if _, err := db.Exec("DROP TABLE IF EXISTS `" + name + "`"); err != nil {
				t.Errorf("drop table %s: %v", name, err)
			}
		}
	})
	return prefix
}

// Quiet returns a logger that drops every record, for tests and
// benchmarks whose nodes and stores would otherwise log to stderr.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ChromiumVar names the browser the browser tests drive (default: chromium
// on PATH, Debian's /usr/bin/chromium).
const ChromiumVar = "BOURSE_TEST_CHROMIUM"

// Chromium returns the path of the Chromium the browser tests drive
// headless: $BOURSE_TEST_CHROMIUM, else chromium on PATH. Without one the
// test is skipped (failed under BOURSE_REQUIRE_SERVICES=1) with a message
// saying how to install it.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumVar); p != "" {
		if p == Off {
			unavailable(t, "browser tests off: %s=%s", ChromiumVar, Off)
		}
		if _, err := os.Stat(p); err != nil {
			unavailable(t, "Chromium at %s=%s: %v", ChromiumVar, p, err)
		}
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		unavailable(t, "Chromium: no chromium on PATH (apt-get install -y chromium, or set %s)", ChromiumVar)
	}
	return p
}
