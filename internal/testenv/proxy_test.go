package testenv

import (
	"bufio"
	"database/sql"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// echoServer answers every line with the same line until the client
// closes; it stops when the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip writes line on c and reads the echo; an error if the
// connection was closed.
func roundTrip(c net.Conn, line string) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestProxyCutRestore(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	if p.Addr() == p.Target() {
		t.Fatal("proxy listens on its target")
	}
	before := dial(t, p.Addr())
	if got, err := roundTrip(before, "one"); err != nil || got != "one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Cut()
	if !p.IsCut() {
		t.Fatal("IsCut after Cut = false")
	}
	// The open connection is closed: the next read ends.
	before.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := before.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection open before Cut still reads (%d bytes)", n)
	}
	// A new one is accepted and closed at once.
	during := dial(t, p.Addr())
	if got, err := roundTrip(during, "two"); err == nil {
		t.Fatalf("a connection during the outage answered %q", got)
	}

	p.Restore()
	after := dial(t, p.Addr())
	if got, err := roundTrip(after, "three"); err != nil || got != "three" {
		t.Fatalf("after Restore: %q, %v", got, err)
	}
	st := p.Stats()
	if st.Forwarded != 2 || st.Refused != 1 || st.Severed != 1 {
		t.Errorf("stats %+v; want 2 forwarded, 1 refused, 1 severed", st)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	after.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := after.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("proxy still listens after Close")
	}
	p.Close() // twice: nothing
}

// TestProxyTargetDown: when the target does not answer, the client's
// connection is closed (and counted refused) rather than held.
func TestProxyTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := StartProxy(t, target)
	if got, err := roundTrip(dial(t, p.Addr()), "x"); err == nil {
		t.Fatalf("answered %q with the target down", got)
	}
	if st := p.Stats(); st.Refused != 1 || st.Forwarded != 0 {
		t.Errorf("stats %+v; want 1 refused", st)
	}
}

// TestProxyMySQL runs a real client through the proxy across an outage: the
// pool's connections fail while cut and work again after Restore.
func TestProxyMySQL(t *testing.T) {
	dsn := MySQLDatabase(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := StartProxy(t, cfg.Addr)
	db, err := sql.Open("mysql", WithAddr(t, dsn, p.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE t (n INT)"); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if _, err := db.Exec("INSERT INTO t VALUES (1)"); err == nil {
		t.Fatal("insert succeeded during the outage")
	}
	p.Restore()
	if _, err := db.Exec("INSERT INTO t VALUES (2)"); err != nil {
		t.Fatalf("insert after Restore: %v", err)
	}
	var sum int
	if err := db.QueryRow("SELECT COALESCE(SUM(n), 0) FROM t").Scan(&sum); err != nil || sum != 2 {
		t.Fatalf("sum %d, %v; want 2 (only the insert after Restore)", sum, err)
	}
}

// TestProxyHang: while hung nothing moves and new connections wait; after
// Restore both the held bytes and the held connection go through.
func TestProxyHang(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	old := dial(t, p.Addr())
	if got, err := roundTrip(old, "one"); err != nil || got != "one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}
	p.Hang()
	if !p.IsHung() || p.IsCut() {
		t.Fatalf("after Hang: hung %v cut %v", p.IsHung(), p.IsCut())
	}
	oldR, fresh := bufio.NewReader(old), dial(t, p.Addr())
	freshR := bufio.NewReader(fresh)
	for _, c := range []net.Conn{old, fresh} {
		if _, err := io.WriteString(c, "held\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{old, oldR}, {fresh, freshR}} {
		r.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if got, err := r.r.ReadString('\n'); err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("while hung: read %q, %v; want a timeout", got, err)
		}
	}
	p.Restore()
	for _, r := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{old, oldR}, {fresh, freshR}} {
		r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, err := r.r.ReadString('\n'); err != nil || got != "held\n" {
			t.Fatalf("after Restore: read %q, %v; want the held line", got, err)
		}
	}
	if st := p.Stats(); st.Forwarded != 2 || st.Refused != 0 || st.Severed != 0 {
		t.Errorf("stats %+v; want 2 forwarded", st)
	}
	// Cut while hung ends the held connections too.
	p.Hang()
	held := dial(t, p.Addr())
	time.Sleep(50 * time.Millisecond) // let the proxy accept it
	p.Cut()
	held.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := held.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection held by Hang survived Cut: %v", err)
	}
	p.Restore()
	if got, err := roundTrip(dial(t, p.Addr()), "two"); err != nil || got != "two" {
		t.Fatalf("after Cut and Restore: %q, %v", got, err)
	}
}
