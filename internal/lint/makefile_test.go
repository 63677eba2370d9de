package lint

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fuzzLine matches a Makefile line that runs one fuzz target:
// -fuzz NAME (maybe quoted, maybe anchored) ... ./PACKAGE.
var fuzzLine = regexp.MustCompile(`-fuzz '?\^?(Fuzz[A-Za-z0-9_]+)\$?\$?'? .*\./([a-z0-9_/]+)\s*$`)

// TestMakefileFuzzTargets: every fuzz target `make fuzz` names exists in
// the package it names (a target that moved or was renamed fails here, not
// in someone's fuzz session), and every fuzz target in the module is run by
// `make fuzz`.
func TestMakefileFuzzTargets(t *testing.T) {
	root := moduleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		m := fuzzLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		named[m[2]+"."+m[1]] = true
		if !hasFuzz(t, filepath.Join(root, m[2]), m[1]) {
			t.Errorf("Makefile runs %s in ./%s: no such fuzz target there", m[1], m[2])
		}
	}
	if len(named) == 0 {
		t.Fatal("no fuzz lines found in the Makefile: is the pattern stale?")
	}
	for _, f := range allFuzz(t, root) {
		if !named[f] {
			t.Errorf("fuzz target %s is not run by make fuzz", f)
		}
	}
}

var fuzzDecl = regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]+)\(f \*testing\.F\)`)

func hasFuzz(t *testing.T, dir, name string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fuzzDecl.FindAllStringSubmatch(string(b), -1) {
			if m[1] == name {
				return true
			}
		}
	}
	return false
}

// allFuzz lists every fuzz target in the module as "dir.FuzzName".
func allFuzz(t *testing.T, root string) []string {
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		for _, m := range fuzzDecl.FindAllStringSubmatch(string(b), -1) {
			out = append(out, filepath.ToSlash(rel)+"."+m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
