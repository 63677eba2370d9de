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
	type key struct{ pkg, test string }
	out := map[key][]string{} // output so far, per test and per package ("")
	skipped := map[string][]string{}
	var reasons []string
	results := 0
	count := map[string]int{} // tests (subtests included) by final action
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Action == "" {
			fmt.Fprintln(w, sc.Text()) // not an event (e.g. go vet or the go command itself)
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			fmt.Fprint(w, e.Output)
		case "build-fail":
			failed = true
		case "output":
			out[k] = append(out[k], e.Output)
		case "pass", "skip", "fail":
			results++
			if e.Test != "" {
				count[e.Action]++
			}
			lines := out[k]
			delete(out, k)
			switch {
			case e.Test == "": // the package is done
				for _, l := range lines {
					if e.Action == "fail" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "?") {
						fmt.Fprint(w, l)
					}
				}
				failed = failed || e.Action == "fail"
			case e.Action == "fail":
				for _, l := range lines {
					fmt.Fprint(w, l)
				}
			case e.Action == "skip":
				reason := "(no reason given)"
				for _, l := range lines {
					if m := skipReason.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
						reason = m[1]
						break
					}
				}
				if skipped[reason] == nil {
					reasons = append(reasons, reason)
				}
				skipped[reason] = append(skipped[reason], strings.TrimPrefix(e.Package, modulePrefix(e.Package))+"."+e.Test)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if results == 0 {
		return true, fmt.Errorf("no test results on stdin")
	}
	// The closing line, in the plain form CI tools read.
	defer fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", count["pass"], count["fail"], count["skip"])
	n := 0
	for _, tests := range skipped {
		n += len(tests)
	}
	if n == 0 {
		fmt.Fprintln(w, "no test skipped")
		return failed, nil
	}
	fmt.Fprintf(w, "\n%d tests skipped:\n", n)
	slices.SortStableFunc(reasons, func(a, b string) int { return len(skipped[b]) - len(skipped[a]) })
	for _, reason := range reasons {
		tests := skipped[reason]
		list := tests
		if len(list) > 6 {
			list = append(slices.Clone(list[:6]), fmt.Sprintf("… %d more", len(tests)-6))
		}
		fmt.Fprintf(w, "  %3d  %s\n       %s\n", len(tests), reason, strings.Join(list, ", "))
	}
	return failed, nil
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
