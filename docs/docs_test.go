// Package docs holds Bourse's own documentation (protocol.md, design.md).
// Its test keeps the tree's references to documents honest: every document
// a comment cites is in the repository, and every section it names exists.
package docs

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scanned reports whether a file of the tree is checked: code, docs,
// scripts, configuration and test scripts.
func scanned(path string) bool {
	switch filepath.Ext(path) {
	case ".go", ".md", ".txt", ".yaml", ".yml", ".sh", ".sql":
		return true
	}
	return filepath.Base(path) == "Makefile"
}

// treeFiles returns the scanned files under the repository root (the parent
// of this directory), with their text, skipping .git and fuzz corpora.
func treeFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || (name == "fuzz" && filepath.Base(filepath.Dir(path)) == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !scanned(path) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(path)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("scanned %d files: is the test running in docs/?", len(files))
	}
	return files
}

// oldForms are the ways code cited design documents that are not in the
// repository: the upper-case document names, section signs followed by a number
// and the lettered parts of the old protocol document. The words are split
// so that this file does not match itself.
var oldForms = regexp.MustCompile(`\b(` + "PROTO" + `COL|` + "DES" + `IGN|` + "STY" + `LE)\b|§\s*[0-9]|\bSection D[0-9]*\b|\bAppendix [AB]\b`)

// TestNoExternalReferences fails on a reference to a document outside the
// repository.
func TestNoExternalReferences(t *testing.T) {
	for path, text := range treeFiles(t) {
		for i, line := range strings.Split(text, "\n") {
			if m := oldForms.FindString(line); m != "" {
				t.Errorf("%s:%d: %q cites a document outside the repository; cite docs/protocol.md or docs/design.md by section: %s",
					path, i+1, m, strings.TrimSpace(line))
			}
		}
	}
}

// citation matches a reference to a section of protocol.md or design.md:
// the file, then quoted section headings and difference ids (D1–D16),
// separated by commas and "and", e.g. docs/protocol.md "Matching", "Cancel",
// and D7.
var citation = regexp.MustCompile(`docs/(protocol|design)\.md((?:,? (?:and )?(?:"[^"\n]+"|D[0-9]+(?:–D[0-9]+)?))+)`)

var (
	quoted  = regexp.MustCompile(`"([^"\n]+)"`)
	diffID  = regexp.MustCompile(`D([0-9]+)`)
	heading = regexp.MustCompile(`(?m)^#{2,4} (.+)$`)
	diffRow = regexp.MustCompile(`(?m)^\| (D[0-9]+) \|`)
	// wrap joins a comment that continues on the next line.
	wrap = regexp.MustCompile(`\n\s*(//|#)\s*`)
)

// TestCitedSectionsExist: every section heading and difference id that the
// tree cites exists in the document it names.
func TestCitedSectionsExist(t *testing.T) {
	sections := map[string]map[string]bool{}
	for _, doc := range []string{"protocol", "design"} {
		b, err := os.ReadFile(doc + ".md")
		if err != nil {
			t.Fatal(err)
		}
		s := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
			s[strings.TrimSpace(m[1])] = true
		}
		for _, m := range diffRow.FindAllStringSubmatch(string(b), -1) {
			s[m[1]] = true
		}
		sections[doc] = s
	}
	if len(sections["protocol"]) < 40 || !sections["protocol"]["D16"] {
		t.Fatalf("protocol.md: %d sections and ids found, D16 %v: the parser lost them", len(sections["protocol"]), sections["protocol"]["D16"])
	}
	n := 0
	for path, text := range treeFiles(t) {
		text = wrap.ReplaceAllString(text, " ")
		for _, m := range citation.FindAllStringSubmatch(text, -1) {
			doc, tail := m[1], m[2]
			for _, q := range quoted.FindAllStringSubmatch(tail, -1) {
				if strings.HasPrefix(q[1], "<") {
					continue // the form itself, as the documents explain it
				}
				n++
				if !sections[doc][q[1]] {
					t.Errorf("%s: cites docs/%s.md %q: no such section", path, doc, q[1])
				}
			}
			unquoted := quoted.ReplaceAllString(tail, "")
			for _, d := range diffID.FindAllString(unquoted, -1) {
				n++
				if doc != "protocol" || !sections[doc][d] {
					t.Errorf("%s: cites docs/%s.md %s: no such difference", path, doc, d)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("found %d citations; expected the tree's 100 or more: the pattern lost them", n)
	}
}
