// Command testsummary reads `go test -json` on stdin and prints what
// `go test` prints without -v — one line per package, and the output of the
// failing tests and packages — then, at the end, the skipped tests grouped
// by the reason they give (e.g. a service that is not reachable), and a last
// line "tests: N passed, N failed, N skipped". It exits 1 when a test, a
// package or a build failed, or when stdin held no test result at all.
// `make test` runs the suite through it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output
}

// skipReason finds a skip message: "    file_test.go:12: reason".
var skipReason = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize copies the go test -json stream r to w as described in the
// package comment and reports whether anything failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	s := &summary{w: w, out: map[testKey][]string{}, skipped: map[string][]string{}, count: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Action == "" {
			fmt.Fprintln(w, sc.Text()) // not an event (e.g. go vet or the go command itself)
			continue
		}
		s.add(&e)
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if s.results == 0 {
		return true, fmt.Errorf("no test results on stdin")
	}
	s.printSkipped()
	// The closing line, in the plain form CI tools read.
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", s.count["pass"], s.count["fail"], s.count["skip"])
	return s.failed, nil
}

// testKey names a test, or a package when test is "".
type testKey struct{ pkg, test string }

// summary is what summarize has gathered so far.
type summary struct {
	w       io.Writer
	out     map[testKey][]string // output so far, per test and per package
	skipped map[string][]string  // skipped tests by reason
	reasons []string             // the keys of skipped, in order of appearance
	results int
	count   map[string]int // tests (subtests included) by final action
	failed  bool
}

// add takes one event: build output is copied at once, a test's or a
// package's output is kept until its result says whether to print it.
func (s *summary) add(e *event) {
	k := testKey{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.w, e.Output)
	case "build-fail":
		s.failed = true
	case "output":
		s.out[k] = append(s.out[k], e.Output)
	case "pass", "skip", "fail":
		s.results++
		if e.Test != "" {
			s.count[e.Action]++
		}
		lines := s.out[k]
		delete(s.out, k)
		switch {
		case e.Test == "": // the package is done
			for _, l := range lines {
				if e.Action == "fail" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
					fmt.Fprint(s.w, l)
				}
			}
			s.failed = s.failed || e.Action == "fail"
		case e.Action == "fail":
			for _, l := range lines {
				fmt.Fprint(s.w, l)
			}
		case e.Action == "skip":
			s.skip(e, lines)
		}
	}
}

// skip files a skipped test under the reason its output gives.
func (s *summary) skip(e *event, lines []string) {
	reason := "(no reason given)"
	for _, l := range lines {
		if m := skipReason.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			reason = m[1]
			break
		}
	}
	if s.skipped[reason] == nil {
		s.reasons = append(s.reasons, reason)
	}
	s.skipped[reason] = append(s.skipped[reason], strings.TrimPrefix(e.Package, modulePrefix(e.Package))+"."+e.Test)
}

// printSkipped lists the skipped tests by reason, the most common first,
// at most 6 names a reason.
func (s *summary) printSkipped() {
	n := 0
	for _, tests := range s.skipped {
		n += len(tests)
	}
	if n == 0 {
		fmt.Fprintln(s.w, "no test skipped")
		return
	}
	fmt.Fprintf(s.w, "\n%d tests skipped:\n", n)
	slices.SortStableFunc(s.reasons, func(a, b string) int { return len(s.skipped[b]) - len(s.skipped[a]) })
	for _, reason := range s.reasons {
		tests := s.skipped[reason]
		list := tests
		if len(list) > 6 {
			list = append(slices.Clone(list[:6]), fmt.Sprintf("… %d more", len(tests)-6))
		}
		fmt.Fprintf(s.w, "  %3d  %s\n       %s\n", len(tests), reason, strings.Join(list, ", "))
	}
}

// modulePrefix is the part of an import path to drop for brevity: the
// module path and its slash.
func modulePrefix(pkg string) string {
	const module = "github.com/bourse-exchange/bourse/"
	if strings.HasPrefix(pkg, module) {
		return module
	}
	return ""
}
