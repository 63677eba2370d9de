package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
)

// TestBackupCommand: bourse backup of a running node, then the README's
// restore (the copy started as the data directory): the restored node
// answers the state hash the backup printed, at the backup's LSN.
func TestBackupCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startIn(t, dir)
	for i := 1; i <= 5; i++ {
		s.ok(t, "balance.update", i, "USDT", "deposit", i, "100", map[string]any{})
	}
	out := filepath.Join(t.TempDir(), "backup")
	res, err := exec.Command(binary, "backup", "-data-dir", dir, "-out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("bourse backup: %v\n%s", err, res)
	}
	t.Logf("bourse backup:\n%s", res)
	m := regexp.MustCompile(`(?m)^lsn: +(\d+)\nhash: +(\S+)$`).FindStringSubmatch(string(res))
	if m == nil {
		t.Fatalf("no lsn and hash in the output:\n%s", res)
	}
	st := s.ok(t, "server.state")
	if st["hash"] != m[2] {
		t.Errorf("backup hash %s; the running node's %v", m[2], st["hash"])
	}
	s.ok(t, "balance.update", 9, "USDT", "deposit", 9, "100", map[string]any{}) // after the backup
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()

	r := startIn(t, out)
	st = r.ok(t, "server.state")
	// 5 deposits after the journal's first record, the configuration.
	if st["hash"] != m[2] || st["lsn"] != float64(6) || m[1] != "6" {
		t.Errorf("restored node: lsn %v hash %v; want the backup's %s, %s", st["lsn"], st["hash"], m[1], m[2])
	}
	bal := r.ok(t, "balance.query", 9)
	if u, _ := bal["USDT"].(map[string]any); u["available"] != "0" {
		t.Errorf("restored node: user 9's deposit made after the backup is there: %v", bal)
	}
	// Backing up into a directory that is not empty is refused.
	if res, err := exec.Command(binary, "backup", "-data-dir", out, "-out", out).CombinedOutput(); err == nil {
		t.Errorf("bourse backup into a non-empty directory succeeded:\n%s", res)
	}
}
