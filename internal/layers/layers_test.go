package layers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/bourse-exchange/bourse"

// layer is one row of the rule table: the packages it holds (a path
// relative to the module; "x/..." is x and everything under it) and the
// layers its packages may import besides their own.
type layer struct {
	name string
	pkgs []string
	may  []string
}

// rules is the rule table, lowest layer first. A package belongs to the
// layer with the longest matching pattern, so actors/fixed is a core while
// actors/market is an actor package.
var rules = []layer{
	{"messages", []string{"messages/..."}, nil},
	{"cores", []string{"actors/fixed", "actors/market/book", "actors/balance/ledger", "actors/corestate"},
		[]string{"messages"}},
	{"wire", []string{"internal/wire"}, []string{"cores", "messages"}},
	{"config", []string{"internal/config"}, []string{"wire", "cores", "messages"}},
	{"tools", []string{"internal/..."}, []string{"messages"}},
	{"actors", []string{"actors/..."}, []string{"config", "wire", "cores", "messages", "tools"}},
	{"persistence", []string{"persistence/..."}, []string{"config", "wire", "cores", "messages", "tools"}},
	{"runtime", []string{"runtime/..."}, []string{"actors", "persistence", "config", "wire", "cores", "messages", "tools"}},
	{"edges", []string{"edges/..."}, []string{"runtime", "actors", "persistence", "config", "wire", "cores", "messages", "tools"}},
	{"top", []string{"cmd/...", "benchmarks/...", "docs"},
		[]string{"edges", "runtime", "actors", "persistence", "config", "wire", "cores", "messages", "tools"}},
	// Helpers for tests only: no layer may import them.
	{"test helpers", []string{"internal/coretest", "internal/testnode", "internal/clustersim", "internal/fuzzgen"},
		[]string{"runtime", "actors", "persistence", "config", "wire", "cores", "messages", "tools"}},
}

// sideways are the imports between sibling layers that the table allows
// one by one, each with its reason.
var sideways = map[[2]string]string{
	{"actors/journal", "persistence/journal"}: "the journal writer is the one owner of the journal backend",
}

// pending are upward imports still being removed (issue 15 item 1): each
// must still exist, so the list only shrinks. Keys: importer, imported.
var pending = map[[2]string]bool{}

// nodeTests are the packages under persistence/ whose tests run a whole
// node (package runtime) to follow its journal: test files only.
var nodeTests = map[string]bool{
	"persistence/events": true, "persistence/history": true, "persistence/marketdata": true,
}

// pure are the packages whose every dependency is checked: the cores, the
// vocabulary under them and the wire encodings over them.
var pure = []string{"messages", "messages/codec", "actors/fixed", "actors/market/book", "actors/balance/ledger", "actors/corestate", "internal/wire"}

// thirdParty are the only packages from outside the module and the standard
// library that a pure package may reach.
var thirdParty = []string{"github.com/holiman/uint256", "github.com/shopspring/decimal"}

// impureStd are standard packages a pure package must not reach, even
// through another package (fmt's own dependencies aside): the network,
// processes, signals, logging. (math/big brings math/rand and uint256 brings
// database/sql for its Scanner; neither is used for I/O or chance here, and
// actors/internal/coretest's TestCoreImports refuses them as direct imports
// of a core.)
var impureStd = []string{
	"net/...", "vendor/golang.org/x/net/...", "crypto/tls", "crypto/rand",
	"os/exec", "os/signal", "log/...", "plugin", "runtime/pprof",
}

type pkg struct {
	ImportPath                string
	Imports, Deps             []string
	TestImports, XTestImports []string
	Error                     *struct{ Err string }
}

// list runs go list -json on args from the module root.
func list(t *testing.T, args ...string) map[string]*pkg {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, append([]string{"list", "-e", "-json=ImportPath,Imports,Deps,TestImports,XTestImports,Error"}, args...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

// rel returns path relative to the module, and whether it is in it.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// match reports whether path matches pattern ("x" or "x/...") and how
// specific the match is.
func match(pattern, path string) (int, bool) {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return len(base), path == base || strings.HasPrefix(path, base+"/")
	}
	return len(pattern) + 1, path == pattern
}

// layerOf returns the layer of a module-relative path, or "".
func layerOf(path string) string {
	best, name := -1, ""
	for _, l := range rules {
		for _, p := range l.pkgs {
			if n, ok := match(p, path); ok && n > best {
				best, name = n, l.name
			}
		}
	}
	return name
}

// mayImport reports whether layer from may import layer to.
func mayImport(from, to string) bool {
	if from == to {
		return true
	}
	for _, l := range rules {
		if l.name == from {
			return slices.Contains(l.may, to)
		}
	}
	return false
}

// TestLayers checks every module package's imports against the rule table,
// and that nothing under actors/ or persistence/ imports runtime/..., in
// test files neither.
func TestLayers(t *testing.T) {
	pkgs := list(t, "./...")
	seen := map[[2]string]bool{}
	var bad []string
	for path, p := range pkgs {
		from, _ := rel(path)
		lf := layerOf(from)
		if lf == "" {
			bad = append(bad, from+": in no layer of the rule table")
			continue
		}
		check := func(imports []string, tests bool) {
			for _, imp := range imports {
				to, ok := rel(imp)
				if !ok || to == from {
					continue
				}
				key := [2]string{from, to}
				if pending[key] {
					seen[key] = true
					continue
				}
				if upward(from, to) && !(tests && to == "runtime" && nodeTests[from]) {
					bad = append(bad, from+" imports "+to+": nothing under actors/ or persistence/ may import runtime/")
				}
				if tests {
					continue
				}
				lt := layerOf(to)
				if !mayImport(lf, lt) && sideways[key] == "" {
					bad = append(bad, from+" ("+lf+") imports "+to+" ("+lt+")")
				}
			}
		}
		check(p.Imports, false)
		check(append(slices.Clone(p.TestImports), p.XTestImports...), true)
	}
	for key := range pending {
		if !seen[key] {
			bad = append(bad, key[0]+" no longer imports "+key[1]+": remove it from pending")
		}
	}
	for key := range sideways {
		if p := pkgs[module+"/"+key[0]]; p == nil || !slices.Contains(p.Imports, module+"/"+key[1]) {
			bad = append(bad, key[0]+" no longer imports "+key[1]+": remove it from sideways")
		}
	}
	report(t, "imports against the layers", bad)
}

// upward reports an import of runtime/... from actors/... or persistence/...
func upward(from, to string) bool {
	_, low := match("actors/...", from)
	_, per := match("persistence/...", from)
	_, run := match("runtime/...", to)
	return (low || per) && run
}

// TestPureDeps checks the whole dependency list of every pure package.
func TestPureDeps(t *testing.T) {
	args := []string{"fmt"}
	for _, p := range pure {
		args = append(args, module+"/"+p)
	}
	pkgs := list(t, args...)
	fmtDeps := pkgs["fmt"].Deps
	for _, p := range pure {
		q := pkgs[module+"/"+p]
		if q == nil {
			t.Fatalf("%s: not listed", p)
		}
		report(t, p+"'s dependencies", impure(q.Deps, fmtDeps))
	}
	// The check must be able to fail: the market actor reaches protoactor
	// and, through it, the network.
	pkgs = list(t, module+"/actors/market")
	got := impure(pkgs[module+"/actors/market"].Deps, fmtDeps)
	for _, want := range []string{"github.com/asynkron/protoactor-go/actor", "net"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want+":") }) {
			t.Errorf("impure(actors/market) = %q; want %s among them", got, want)
		}
	}
}

// impure lists the dependencies a pure package may not have.
func impure(deps, fmtDeps []string) (bad []string) {
	for _, d := range deps {
		switch r, mine := rel(d); {
		case slices.Contains(fmtDeps, d):
		case mine:
			if l := layerOf(r); l != "cores" && l != "messages" && l != "wire" {
				bad = append(bad, d+": a module package outside the pure layers")
			}
		case strings.Contains(strings.SplitN(d, "/", 2)[0], "."):
			if !slices.Contains(thirdParty, d) {
				bad = append(bad, d+": not in this test's list of third-party packages")
			}
		default:
			for _, s := range impureStd {
				if _, ok := match(s, d); ok {
					bad = append(bad, d+": network, process, logging or randomness")
				}
			}
		}
	}
	return bad
}

func report(t *testing.T, what string, bad []string) {
	t.Helper()
	if len(bad) > 0 {
		sort.Strings(bad)
		bad = slices.Compact(bad)
		t.Errorf("%s:\n\t%s", what, strings.Join(bad, "\n\t"))
	}
}

func TestLayerOf(t *testing.T) {
	for path, want := range map[string]string{
		"messages": "messages", "messages/codec": "messages", "actors/fixed": "cores",
		"actors/market/book": "cores", "actors/market": "actors", "actors": "actors",
		"actors/journal": "actors", "persistence/journal": "persistence", "runtime": "runtime",
		"edges/ws": "edges", "cmd/bourse": "top", "internal/netguard": "tools", "nowhere": "",
	} {
		if got := layerOf(path); got != want {
			t.Errorf("layerOf(%q) = %q; want %q", path, got, want)
		}
	}
	if !mayImport("runtime", "actors") || mayImport("actors", "runtime") || mayImport("cores", "config") {
		t.Error("mayImport does not follow the table")
	}
}
