package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// nofileEnv, when set in the environment of this test binary, makes it a
// wrapper (see execWithNofile) instead of running tests.
const nofileEnv = "BOURSE_TEST_EXEC_NOFILE"

// execWithNofile: when nofileEnv is set, the test binary sets its
// RLIMIT_NOFILE, soft and hard, to that value and executes its arguments
// (a bourse binary and its flags), which start with that limit and cannot
// raise it. Otherwise it returns.
func execWithNofile() {
	v := os.Getenv(nofileEnv)
	if v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err == nil {
		err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n})
	}
	if err == nil {
		var env []string
		for _, e := range os.Environ() {
			if !strings.HasPrefix(e, nofileEnv+"=") {
				env = append(env, e)
			}
		}
		err = syscall.Exec(os.Args[1], os.Args[1:], env)
	}
	fmt.Fprintf(os.Stderr, "%s=%s: %v\n", nofileEnv, v, err)
	os.Exit(127)
}

// floodNofile is the RLIMIT_NOFILE of the flooded node.
const floodNofile = 256

// TestConnectionFlood starts the binary with RLIMIT_NOFILE 256 and opens
// three times as many idle connections to each of its HTTP and websocket
// listeners, more than it has descriptors. With the default limits (lowered
// to fit the descriptors) the connections over them are answered 503; with
// no limit (-http-max-conns 0 -ws-max-conns 0) the accept loops run out of
// descriptors (EMFILE) and retry. Either way, once the flood is closed the
// process is alive, both APIs answer, the state hash is the one before the
// flood and a write is acknowledged.
func TestConnectionFlood(t *testing.T) {
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil || own.Cur < 8*floodNofile+256 {
		t.Skipf("this test needs %d file descriptors (RLIMIT_NOFILE %d, %v)", 8*floodNofile+256, own.Cur, err)
	}
	t.Run("limits", func(t *testing.T) { flood(t, true) })
	t.Run("no limits", func(t *testing.T) { flood(t, false, "-http-max-conns", "0", "-ws-max-conns", "0") })
}

func flood(t *testing.T, limited bool, args ...string) {
	dataDir := filepath.Join(t.TempDir(), "data")
	args = append([]string{binary, "-http-addr", "127.0.0.1:0", "-ws-addr", "127.0.0.1:0", "-web-addr", "", "-data-dir", dataDir}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), nofileEnv+"="+strconv.Itoa(floodNofile))
	s := startCmd(t, cmd)
	var wsAddr string
	select {
	case wsAddr = <-s.ws:
	case <-time.After(10 * time.Second):
		t.Fatal("the websocket listener was not logged")
	}
	httpAddr := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/")
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid)); err == nil {
		if !regexp.MustCompile(`Max open files\s+256\s+256`).Match(b) {
			t.Fatalf("the node does not run with RLIMIT_NOFILE %d:\n%s", floodNofile, b)
		}
	}

	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "10000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 2, "10", map[string]any{})
	s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "1", "100", "0.002", "0.001", "web")
	before := s.ok(t, "server.state")

	var conns []net.Conn
	dialErrs := 0
	for range 3 * floodNofile {
		for _, addr := range []string{httpAddr, wsAddr} {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				dialErrs++
				continue
			}
			conns = append(conns, c)
		}
	}
	t.Logf("flood: %d connections open, %d dials failed", len(conns), dialErrs)
	time.Sleep(300 * time.Millisecond) // the node accepts what it can
	if limited {
		// At the limit, a new connection is refused at once: answered 503
		// (or, while many refusals are being answered, closed), never left
		// waiting.
		var httpErr, wsErr error
		for try := 0; try < 50; try++ {
			t0 := time.Now()
			client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Post(s.url, "application/json", strings.NewReader(`{"method":"server.state","params":[],"id":1}`))
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(string(body), `"code":8`) {
					httpErr = nil
				} else {
					httpErr = fmt.Errorf("HTTP %d %s; want 503 with code 8", resp.StatusCode, body)
				}
			} else {
				httpErr = err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _, _, err = ws.Dial(ctx, "ws://"+wsAddr+"/")
			cancel()
			var se ws.StatusError
			if wsErr = err; errors.As(err, &se) && int(se) == http.StatusServiceUnavailable {
				wsErr = nil
			}
			if d := time.Since(t0); d > 2*time.Second {
				t.Errorf("refusals took %s", d)
			}
			if httpErr == nil && wsErr == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if httpErr != nil || wsErr != nil {
			t.Errorf("during the flood: HTTP %v, websocket %v; want 503 from both", httpErr, wsErr)
		}
	}
	for _, c := range conns {
		c.Close()
	}

	// After the flood, both APIs answer again.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if exited(s.cmd) {
			t.Fatal("the node exited during the flood")
		}
		if _, code, ok := rpc(&http.Client{Timeout: 2 * time.Second}, s.url, "server.state"); ok && code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("HTTP does not answer 20s after the flood")
		}
		time.Sleep(50 * time.Millisecond)
	}
	wsPing(t, wsAddr, deadline)
	after := s.ok(t, "server.state")
	if before["hash"] == nil || fmt.Sprint(after["hash"]) != fmt.Sprint(before["hash"]) || fmt.Sprint(after["lsn"]) != fmt.Sprint(before["lsn"]) {
		t.Errorf("state after the flood %v; before %v", after, before)
	}
	s.ok(t, "balance.update", 1, "USDT", "deposit", 2, "1", map[string]any{})

	// The listeners' metrics tell what happened.
	resp, err := http.Get(strings.TrimSuffix(s.url, "/") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metric := func(name, listener string) int {
		m := regexp.MustCompile(name + `\{listener="` + listener + `"\} (\d+)`).FindSubmatch(metrics)
		if m == nil {
			t.Errorf("/metrics has no %s{listener=%q}", name, listener)
			return 0
		}
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	refused := metric("bourse_listener_refused_total", "http") + metric("bourse_listener_refused_total", "websocket")
	errs := metric("bourse_listener_accept_errors_total", "http") + metric("bourse_listener_accept_errors_total", "websocket")
	t.Logf("refused %d, accept errors %d", refused, errs)
	if limited && (refused == 0 || errs != 0) {
		t.Errorf("with limits: %d refused, %d accept errors; want some refused and no error (the limits fit the descriptors)", refused, errs)
	}
	if !limited && (refused != 0 || errs == 0) {
		t.Errorf("without limits: %d refused, %d accept errors; want none refused and EMFILE errors retried", refused, errs)
	}
}

// exited reports whether the process of cmd ended (it may not have been
// waited for yet: a zombie).
func exited(cmd *exec.Cmd) bool {
	if cmd.ProcessState != nil || cmd.Process.Signal(syscall.Signal(0)) != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return false // no /proc: as far as we can tell, it runs
	}
	// pid (comm) state ...: the state follows the last ')'.
	st := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(st), "Z")
}

// wsPing dials the websocket API until it answers server.ping, or fails
// the test at deadline.
func wsPing(t *testing.T, addr string, deadline time.Time) {
	t.Helper()
	for {
		err := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			nc, _, _, err := ws.Dial(ctx, "ws://"+addr+"/")
			if err != nil {
				return err
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(2 * time.Second))
			if err := wsutil.WriteClientText(nc, []byte(`{"method":"server.ping","params":[],"id":1}`)); err != nil {
				return err
			}
			p, err := wsutil.ReadServerText(nc)
			if err != nil {
				return err
			}
			var m struct{ Result json.RawMessage }
			json.Unmarshal(p, &m)
			if string(m.Result) != `"pong"` {
				return fmt.Errorf("server.ping: %s", p)
			}
			return nil
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the websocket API does not answer after the flood: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
