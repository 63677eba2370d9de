package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// get answers GET url: status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHealthAndReady: a running node is alive (/healthz ok) and ready
// (/readyz 200), and /metrics says its journal has not failed.
func TestHealthAndReady(t *testing.T) {
	s := startBinary(t)
	base := strings.TrimSuffix(s.url, "/")
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("/healthz = %d %q; want 200 ok", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || body != `{"ready":true}` {
		t.Errorf("/readyz = %d %q; want 200 {\"ready\":true}", code, body)
	}
	if _, body := get(t, base+"/metrics"); !regexp.MustCompile(`(?m)^bourse_journal_failed 0$`).MatchString(body) {
		t.Errorf("/metrics has no bourse_journal_failed 0")
	}
}

// TestHealthWhileRecovering: while a node recovers — here its MySQL
// journal's server accepts the connection and never answers — its HTTP
// listener already answers: /healthz ok (alive), /readyz 503 "recovering",
// a request 503 with code 3. When the journal server goes away, start-up
// fails and the process exits.
func TestHealthWhileRecovering(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	release := func() {
		hang.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		held = nil
		mu.Unlock()
	}
	defer release()

	cmd := exec.Command(binary, "-http-addr", "127.0.0.1:0", "-ws-addr", "", "-web-addr", "", "-data-dir", filepath.Join(t.TempDir(), "data"),
		"-journal", "root@tcp("+hang.Addr().String()+")/test?table=bourse_never")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1) // cmd.Wait's result, once
	done := make(chan struct{})   // closed once the process was waited for
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	addrRe := regexp.MustCompile(`msg="HTTP listening while recovering[^"]*" addr=(\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrRe.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		exited <- cmd.Wait()
		close(done)
	}()
	var base string
	select {
	case addr := <-found:
		base = "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("the node did not listen while recovering")
	}
	for range 3 { // and it stays so while recovery waits
		if code, body := get(t, base+"/healthz"); code != 200 || body != "ok" {
			t.Errorf("/healthz while recovering = %d %q; want 200 ok", code, body)
		}
		if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, `"ready":false,"reason":"recovering`) {
			t.Errorf("/readyz while recovering = %d %q; want 503 recovering", code, body)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Post(base+"/", "application/json", strings.NewReader(`{"method":"server.state","params":[],"id":1}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), `"code":3`) {
			t.Errorf("a request while recovering = %d %s; want 503 code 3", resp.StatusCode, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	release()
	select {
	case err := <-exited:
		if err == nil {
			t.Error("the node exited 0 after its journal server went away at start")
		}
	case <-time.After(20 * time.Second):
		t.Error("the node still runs 20s after its journal server went away at start")
	}
}
