package testnode

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// Build builds the bourse binary (cmd/bourse) into dir and returns its
// path. It runs `go build`, so the tests calling it need the toolchain.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "bourse")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/bourse-exchange/bourse/cmd/bourse").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
}

// Process is a running bourse binary.
type Process struct {
	Cmd *exec.Cmd
	URL string // the HTTP JSON-RPC endpoint, "http://host:port/"
	// WSAddr receives the websocket listener's address (host:port) once
	// the node logs it (never, with -ws-addr "").
	WSAddr <-chan string
	// WebAddr receives the web console's address (host:port) once the
	// node logs it (never, with -web-addr "").
	WebAddr <-chan string
}

var (
	httpListening = regexp.MustCompile(`msg="HTTP JSON-RPC listening" addr=(\S+)`)
	wsListening   = regexp.MustCompile(`msg="websocket listening" addr=(\S+)`)
	webListening  = regexp.MustCompile(`msg="web console listening" addr=(\S+)`)
)

// StartTimeout bounds how long StartProcess and WS wait for a node's log
// (it replays its journal first).
const StartTimeout = 60 * time.Second

// StartProcess starts cmd, a bourse node, and waits up to StartTimeout for
// it to log its HTTP address (its log is read to the end, so the node never
// blocks on it). The test's cleanup stops the node with SIGTERM if it
// still runs, and fails the test if it has not stopped 10s later.
func StartProcess(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return // the test waited for it
		}
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("the node did not stop within 10s of SIGTERM")
		}
	})
	found, ws, web := make(chan string, 1), make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			for re, to := range map[*regexp.Regexp]chan string{httpListening: found, wsListening: ws, webListening: web} {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					select {
					case to <- m[1]:
					default: // logged again: the first address stands
					}
				}
			}
		}
	}()
	select {
	case addr := <-found:
		return &Process{Cmd: cmd, URL: "http://" + addr + "/", WSAddr: ws, WebAddr: web}
	case <-time.After(StartTimeout):
		t.Fatal("the node did not log its HTTP address")
	}
	return nil
}

// WS waits up to StartTimeout for the websocket listener's address
// (host:port), or fails t. It takes the one address WSAddr receives: call
// it once.
func (p *Process) WS(t testing.TB) string {
	t.Helper()
	select {
	case addr := <-p.WSAddr:
		return addr
	case <-time.After(StartTimeout):
		t.Fatal("the node did not log its websocket address")
	}
	return ""
}
