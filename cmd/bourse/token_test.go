package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTokenFileRotation rotates the HTTP bearer token of the running binary
// with -http-token-file and SIGHUP, as SECURITY.md describes.
func TestTokenFileRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	file := filepath.Join(t.TempDir(), "tokens")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("old\n")
	s := startBinary(t, "-http-token-file", file)
	status := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url, strings.NewReader(`{"method":"asset.list","params":[],"id":1}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// until waits for the reload a SIGHUP started to show.
	until := func(step, token string, code int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for status(token) != code {
			if time.Now().After(deadline) {
				t.Fatalf("%s: token %q still answers %d; want %d", step, token, status(token), code)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	expect := func(step string, want map[string]int) {
		t.Helper()
		for token, code := range want {
			if got := status(token); got != code {
				t.Errorf("%s: token %q = %d; want %d", step, token, got, code)
			}
		}
	}
	expect("start", map[string]int{"old": 200, "new": 401, "": 401})

	write("old\nnew\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	until("both", "new", 200)
	expect("both", map[string]int{"old": 200, "new": 200, "": 401})

	write("# rotated on 2026-11-26\n\nnew\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	until("new only", "old", 401)
	expect("new only", map[string]int{"old": 401, "new": 200, "": 401})

	// A file without a token (or unreadable) leaves the tokens in force.
	write("# nothing\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	os.Remove(file)
	s.cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	expect("bad file", map[string]int{"old": 401, "new": 200, "": 401})
	if s.cmd.ProcessState != nil {
		t.Fatal("the server stopped on SIGHUP")
	}
}
