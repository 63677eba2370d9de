package netguard

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"

	"github.com/prometheus/client_golang/prometheus"
)

// flaky is a listener whose Accept fails with errs, in order, then
// accepts from the real listener.
type flaky struct {
	net.Listener
	errs []error
}

func (f *flaky) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func opErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// TestAcceptRetries: descriptor exhaustion and aborted connections never
// reach the server: Accept pauses 5, 10, 20, … ms and returns the next
// connection.
func TestAcceptRetries(t *testing.T) {
	l := listen(t)
	errs := []error{opErr(syscall.EMFILE), opErr(syscall.ENFILE), opErr(syscall.ECONNABORTED), opErr(syscall.ENOBUFS), errors.New("anything else")}
	g := Wrap(&flaky{Listener: l, errs: errs}, Options{Name: "test", Logger: testenv.Quiet()})
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	t0 := time.Now()
	c, err := g.Accept()
	if err != nil {
		t.Fatalf("Accept: %v; want the connection after the errors", err)
	}
	c.Close()
	if d, want := time.Since(t0), (5+10+20+40+80)*time.Millisecond; d < want {
		t.Errorf("Accept returned after %s; want at least %s of backoff", d, want)
	}
	if s := g.Counters().Stats(); s.AcceptErrors != uint64(len(errs)) || s.Accepted != 1 || s.Open != 0 {
		t.Errorf("stats %+v; want %d errors, 1 accepted, 0 open", s, len(errs))
	}
}

// TestAcceptClosed: Close ends Accept, also during a backoff pause.
func TestAcceptClosed(t *testing.T) {
	l := listen(t)
	many := make([]error, 100)
	for i := range many {
		many[i] = opErr(syscall.EMFILE)
	}
	g := Wrap(&flaky{Listener: l, errs: many}, Options{Name: "test", Logger: testenv.Quiet()})
	done := make(chan error, 1)
	go func() { _, err := g.Accept(); done <- err }()
	time.Sleep(100 * time.Millisecond)
	g.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v; want net.ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Accept still waits 1s after Close")
	}
}

// TestLimit: over MaxConns a connection is answered 503 and closed at
// once, without reaching the server; closing an accepted connection makes
// room again.
func TestLimit(t *testing.T) {
	l := listen(t)
	g := Wrap(l, Options{Name: "test", MaxConns: 2, Logger: testenv.Quiet(), Refuse: HTTP503(`{"error":"full"}`)})
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := g.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	defer g.Close()
	addr := l.Addr().String()
	var server []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		server = append(server, <-accepted)
	}
	for range 3 { // over the limit, several times
		resp := get(t, addr)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("over the limit: HTTP %d; want 503", resp.StatusCode)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != `{"error":"full"}` {
			t.Errorf("body %q", body)
		}
	}
	select {
	case c := <-accepted:
		t.Fatalf("a connection over the limit reached the server: %v", c.RemoteAddr())
	default:
	}
	if s := g.Counters().Stats(); s.Open != 2 || s.Refused != 3 || s.MaxConns != 2 {
		t.Errorf("stats %+v; want 2 open, 3 refused, max 2", s)
	}
	server[0].Close()
	server[0].Close() // twice: counted once
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-accepted:
	case <-time.After(2 * time.Second):
		t.Fatal("no room after an accepted connection closed")
	}
	if s := g.Counters().Stats(); s.Open != 2 {
		t.Errorf("open %d; want 2", s.Open)
	}
}

func get(t *testing.T, addr string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the refusal: %v", err)
	}
	return resp
}

// TestSyscallConn: an accepted TCP connection keeps its raw descriptor.
func TestSyscallConn(t *testing.T) {
	l := listen(t)
	g := Wrap(l, Options{Logger: testenv.Quiet()})
	go func() {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := g.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatal("accepted connection is not a syscall.Conn")
	}
	if _, err := sc.SyscallConn(); err != nil {
		t.Fatal(err)
	}
}

func TestFitLimits(t *testing.T) {
	for _, c := range []struct {
		nofile  uint64
		in, out []int
		lowered bool
	}{
		{0, []int{1024, 10000}, []int{1024, 10000}, false},
		{1 << 20, []int{1024, 10000}, []int{1024, 10000}, false},
		{20000, []int{1024, 10000}, []int{1024, 10000}, false},       // reserve 2500
		{4096, []int{1024, 10000}, []int{332, 3251}, true},           // room 4096-512 = 3584
		{256, []int{1024, 10000}, []int{11, 116}, true},              // room 128
		{256, []int{0, 10000}, []int{0, 128}, true},                  // 0: no limit, left alone
		{100, []int{1024, 10000}, []int{1, 1}, true},                 // no room: 1 each
		{1024, []int{100, 200}, []int{100, 200}, false},              // fits
		{1024, []int{600, 600}, []int{448, 448}, true},               // room 896
		{uint64(MinReserve) + 10, []int{5, 5}, []int{5, 5}, false},   // exactly fits
		{uint64(MinReserve) + 10, []int{10, 10}, []int{5, 5}, true},  // halves
		{uint64(MinReserve) + 10, []int{10, 0}, []int{10, 0}, false}, // fits
	} {
		out, lowered := FitLimits(c.nofile, c.in...)
		if lowered != c.lowered || len(out) != len(c.out) {
			t.Errorf("FitLimits(%d, %v) = %v, %v; want %v, %v", c.nofile, c.in, out, lowered, c.out, c.lowered)
			continue
		}
		for i := range out {
			if out[i] != c.out[i] {
				t.Errorf("FitLimits(%d, %v) = %v; want %v", c.nofile, c.in, out, c.out)
				break
			}
		}
	}
}

// TestCollectors: two servers' collectors register side by side.
func TestCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	var a, b Counters
	reg.MustRegister(a.Collector("http"), b.Collector("websocket"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) != 2 {
			t.Errorf("%s: %d series; want 2", mf.GetName(), len(mf.GetMetric()))
		}
	}
	if len(mfs) != 5 {
		t.Errorf("%d metric families; want 5", len(mfs))
	}
}
