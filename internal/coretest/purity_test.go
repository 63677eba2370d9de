package coretest

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// forbidden are the imports a pure core must not have (docs/design.md "Pure cores"): no clock,
// no randomness, no I/O, no logging, no goroutine synchronisation.
var forbidden = []string{
	"time", "math/rand", "math/rand/v2", "os", "net", "log", "log/slog",
	"sync", "io/ioutil", "syscall", "crypto/rand",
}

func isForbidden(path string) bool {
	for _, f := range forbidden {
		if path == f || strings.HasPrefix(path, f+"/") && (f == "net" || f == "os" || f == "sync" || f == "log") {
			return true
		}
	}
	return false
}

// TestCoreImports lists the (non-test) imports of the pure cores and fails
// on forbidden ones. Project packages a core may use are listed too, so that
// a new dependency is a deliberate change of this test.
func TestCoreImports(t *testing.T) {
	const mod = "github.com/bourse-exchange/bourse/"
	cores := []struct {
		dir     string
		allowed []string // project and third-party imports
	}{
		{"../../actors/fixed", []string{"github.com/holiman/uint256", "github.com/shopspring/decimal"}},
		{"../../actors/market/book", []string{mod + "actors/fixed", mod + "messages", "github.com/holiman/uint256"}},
		{"../../actors/balance/ledger", []string{mod + "messages", "github.com/holiman/uint256"}},
		{"../../actors/corestate", []string{mod + "actors/balance/ledger", mod + "actors/market/book", mod + "messages", mod + "messages/codec"}},
	}
	for _, c := range cores {
		pkg, err := build.ImportDir(c.dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		name := filepath.Base(c.dir)
		if len(pkg.Imports) == 0 {
			t.Errorf("%s: no imports found (wrong directory?)", name)
		}
		for _, imp := range pkg.Imports {
			switch {
			case isForbidden(imp):
				t.Errorf("%s imports %q: the core must stay pure (docs/design.md, section Pure cores)", name, imp)
			case strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
				ok := false
				for _, a := range c.allowed {
					ok = ok || imp == a
				}
				if !ok {
					t.Errorf("%s imports %q, which is not in this test's list for it", name, imp)
				}
			}
		}
	}
}

func TestIsForbidden(t *testing.T) {
	for path, want := range map[string]bool{
		"time": true, "math/rand": true, "math/rand/v2": true, "os": true, "os/exec": true,
		"net": true, "net/http": true, "log": true, "log/slog": true, "sync": true,
		"sync/atomic": true, "io/ioutil": true, "syscall": true, "crypto/rand": true,
		"fmt": false, "math": false, "math/bits": false, "strconv": false, "errors": false,
		"sort": false, "timeutil": false, "osx": false,
	} {
		if got := isForbidden(path); got != want {
			t.Errorf("isForbidden(%q) = %v; want %v", path, got, want)
		}
	}
}
