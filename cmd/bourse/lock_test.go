package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
)

// refused runs the binary with args, which must exit non-zero within 30 s
// with a message containing every one of want; it returns the output.
func refused(t *testing.T, args []string, want ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("bourse %v still runs after 30 s; want it refused:\n%s", args, out)
	}
	if err == nil {
		t.Fatalf("bourse %v exited 0; want it refused:\n%s", args, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Fatalf("bourse %v: output lacks %q:\n%s", args, w, out)
		}
	}
	return string(out)
}

// hashTree returns the SHA-256 of every file under dir, by relative path.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sums[rel] = fmt.Sprintf("%x", sha256.Sum256(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for f, h := range before {
		if after[f] != h {
			t.Errorf("%s: %s changed (or vanished)", what, f)
		}
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("%s: %s appeared", what, f)
		}
	}
}

// TestDataDirLock: a second node on a running node's data directory is
// refused with a message naming the directory and the holder's pid; a
// bourse verify of that directory meanwhile changes no file and does not
// disturb the running node, which keeps acknowledging.
func TestDataDirLock(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startIn(t, dataDir)
	for i := 1; i <= 20; i++ {
		s.ok(t, "balance.update", 1, "USDT", "deposit", i, "10", map[string]any{})
	}
	refused(t, []string{"-http-addr", "127.0.0.1:0", "-ws-addr", "127.0.0.1:0", "-web-addr", "", "-data-dir", dataDir},
		"in use", dataDir, fmt.Sprintf("pid %d", s.cmd.Process.Pid))
	// The same command again (make run twice): the lock is taken before
	// the listeners, so the message is about the directory, not the port.
	addr := strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/")
	second := refused(t, []string{"-http-addr", addr, "-ws-addr", "127.0.0.1:0", "-web-addr", "", "-data-dir", dataDir},
		"in use", dataDir, fmt.Sprintf("pid %d", s.cmd.Process.Pid))
	if strings.Contains(second, "address already in use") {
		t.Fatalf("a second node on the same address and directory: told about the port first:\n%s", second)
	}

	// Quiescent: verify changes nothing, byte for byte.
	before := hashTree(t, dataDir)
	out, err := exec.Command(binary, "verify", "-data-dir", dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("verify beside a running node: %v\n%s", err, out)
	}
	// 20 deposits after the journal's first record, the configuration.
	if !strings.Contains(string(out), "lsn:       21\n") || !strings.Contains(string(out), fmt.Sprintf("(pid %d) holds", s.cmd.Process.Pid)) {
		t.Fatalf("verify beside a running node:\n%s", out)
	}
	sameTree(t, "verify of a running node's directory", before, hashTree(t, dataDir))

	// Under load: verify keeps succeeding, the node keeps acknowledging.
	var acks, fails atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, code, ok := rpc(client, s.url, "balance.update", 2+w, "USDT", "deposit", 1000+i, "1", map[string]any{}); ok && code == 0 {
					acks.Add(1)
				} else {
					fails.Add(1)
				}
			}
		}(w)
	}
	for i := 0; i < 5; i++ {
		if out, err := exec.Command(binary, "verify", "-data-dir", dataDir).CombinedOutput(); err != nil {
			t.Errorf("verify %d under load: %v\n%s", i, err, out)
		}
	}
	a0 := acks.Load()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if acks.Load() == a0 || fails.Load() > 0 {
		t.Fatalf("the node stopped acknowledging beside verify: %d acks (%d before the last 200 ms), %d failures", acks.Load(), a0, fails.Load())
	}
	t.Logf("%d writes acknowledged while verify ran 5 times", acks.Load())
}

// TestVerifyReadOnly: bourse verify of a stopped node's directory with a
// torn tail reports the tail and changes no byte; of a directory that does
// not exist, it creates nothing.
func TestVerifyReadOnly(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	s := startIn(t, dataDir)
	for i := 1; i <= 5; i++ {
		s.ok(t, "balance.update", 1, "USDT", "deposit", i, "10", map[string]any{})
	}
	stopServer(t, s)
	segs, _ := filepath.Glob(filepath.Join(dataDir, "journal", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{40, 0, 0, 0, 1, 2, 3}) // a record cut short: a torn tail
	f.Close()
	before := hashTree(t, dataDir)
	out, err := exec.Command(binary, "verify", "-data-dir", dataDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "torn tail: 7 bytes ignored, not cut") || !strings.Contains(string(out), "lsn:       6\n") { // 5 deposits after the configuration
		t.Fatalf("verify over a torn tail: %v\n%s", err, out)
	}
	sameTree(t, "verify over a torn tail", before, hashTree(t, dataDir))

	// A directory that does not exist, or holds no journal (a mistyped
	// -data-dir), is an error naming it, not an empty exchange that
	// verifies ok; verify creates nothing there.
	missing := filepath.Join(t.TempDir(), "none")
	empty := t.TempDir()
	for _, dir := range []string{missing, empty} {
		out, err := exec.Command(binary, "verify", "-data-dir", dir).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no journal in "+dir) || strings.Contains(string(out), "invariants: ok") {
			t.Fatalf("verify of %s (no journal): %v\n%s", dir, err, out)
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("verify created %s (%v)", missing, err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("verify created %v in %s", ents, empty)
	}
}

// TestJournalTableClaim: a second node on a MySQL journal table in use is
// refused, even with a data directory of its own.
func TestJournalTableClaim(t *testing.T) {
	dsn := testenv.MySQLJournal(t)
	s := startIn(t, filepath.Join(t.TempDir(), "a"), "-journal", dsn)
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "10", map[string]any{})
	refused(t, []string{"-http-addr", "127.0.0.1:0", "-ws-addr", "127.0.0.1:0", "-web-addr", "", "-data-dir", filepath.Join(t.TempDir(), "b"), "-journal", dsn},
		"journal table in use", "is claimed")
	s.ok(t, "balance.update", 1, "USDT", "deposit", 2, "10", map[string]any{})
	// verify reads the table beside the node.
	if out, err := exec.Command(binary, "verify", "-data-dir", filepath.Join(t.TempDir(), "c"), "-journal", dsn).CombinedOutput(); err != nil || !strings.Contains(string(out), "lsn:       3\n") { // the configuration, 2 deposits
		t.Fatalf("verify of a claimed table: %v\n%s", err, out)
	}
	stopServer(t, s)
	// Stopped, the claim is gone: another node may take the table.
	s = startIn(t, filepath.Join(t.TempDir(), "b"), "-journal", dsn)
	s.fails(t, 10, "balance.update", 1, "USDT", "deposit", 2, "10", map[string]any{})
}

func stopServer(t *testing.T, s *server) {
	t.Helper()
	s.cmd.Process.Signal(os.Interrupt)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("server exit: %v", err)
	}
}
