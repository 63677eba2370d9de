package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs the binary with args in a new empty working directory and
// returns its output, exit status and that directory. A binary that is
// still running after 5s (it started a node) is killed: status -1.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int, dir string) {
	t.Helper()
	dir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		code = -1
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code, dir
}

// TestUnknownSubcommand: a first argument that is neither a flag nor a
// subcommand, or a word after the flags, is a usage error (status 2) that
// names the subcommands, and no node starts (no data directory appears).
func TestUnknownSubcommand(t *testing.T) {
	for _, args := range [][]string{
		{"verfy", "-data-dir", "X"},
		{"serve"},
		{"VERIFY"},
		{"-data-dir", "X", "verify"},
		{"verify", "-data-dir", "X", "extra"},
		{"version", "extra"},
		{"help", "nope"},
	} {
		_, stderr, code, dir := runCLI(t, args...)
		if code != 2 {
			t.Errorf("bourse %q: exit status %d; want 2 (stderr %q)", args, code, stderr)
		}
		if !strings.Contains(stderr, "verify") || !strings.Contains(stderr, "help") {
			t.Errorf("bourse %q: stderr %q does not name the subcommands or help", args, stderr)
		}
		for _, d := range []string{"data", "X"} {
			if _, err := os.Stat(filepath.Join(dir, d)); err == nil {
				t.Errorf("bourse %q created %s: a node started", args, d)
			}
		}
	}
}

// TestHelpAndVersion: bourse help lists every subcommand of the table,
// bourse help COMMAND prints its flags, bourse version the module and Go
// version; all exit 0.
func TestHelpAndVersion(t *testing.T) {
	stdout, stderr, code, _ := runCLI(t, "help")
	if code != 0 {
		t.Fatalf("bourse help: status %d, stderr %q", code, stderr)
	}
	for _, name := range []string{"verify", "version", "help"} {
		if !strings.Contains(stdout, "  "+name+" ") {
			t.Errorf("bourse help does not list %s:\n%s", name, stdout)
		}
	}
	_, stderr, code, _ = runCLI(t, "help", "verify")
	if code != 0 || !strings.Contains(stderr, "-data-dir") {
		t.Errorf("bourse help verify: status %d, output %q; want 0 and the flags", code, stderr)
	}
	_, stderr, code, _ = runCLI(t, "help", "node")
	if code != 0 || !strings.Contains(stderr, "-http-addr") {
		t.Errorf("bourse help node: status %d, output %q; want 0 and the node's flags", code, stderr)
	}
	stdout, stderr, code, _ = runCLI(t, "version")
	if code != 0 || !strings.Contains(stdout, "github.com/bourse-exchange/bourse") || !strings.Contains(stdout, "go1.") ||
		!strings.Contains(stdout, "revision:") {
		t.Errorf("bourse version: status %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
