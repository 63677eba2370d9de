package main

import (
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"start","Package":"github.com/bourse-exchange/bourse/a"}`,
		`{"Action":"run","Package":"github.com/bourse-exchange/bourse/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Test":"TestOK","Output":"noise of a passing test\n"}`,
		`{"Action":"pass","Package":"github.com/bourse-exchange/bourse/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Test":"TestMySQL","Output":"=== RUN   TestMySQL\n"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Test":"TestMySQL","Output":"    testenv.go:80: MySQL: not set\n"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Test":"TestMySQL","Output":"--- SKIP: TestMySQL (0.00s)\n"}`,
		`{"Action":"skip","Package":"github.com/bourse-exchange/bourse/a","Test":"TestMySQL"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Output":"PASS\n"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/a","Output":"ok  \tgithub.com/bourse-exchange/bourse/a\t0.1s\n"}`,
		`{"Action":"pass","Package":"github.com/bourse-exchange/bourse/a"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/b","Test":"TestBad","Output":"    b_test.go:9: boom\n"}`,
		`{"Action":"fail","Package":"github.com/bourse-exchange/bourse/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"github.com/bourse-exchange/bourse/b","Output":"FAIL\tgithub.com/bourse-exchange/bourse/b\t0.2s\n"}`,
		`{"Action":"fail","Package":"github.com/bourse-exchange/bourse/b"}`,
	}, "\n")
	var out strings.Builder
	failed, err := summarize(strings.NewReader(in), &out)
	if err != nil || !failed {
		t.Fatalf("failed %v err %v; want a failure", failed, err)
	}
	got := out.String()
	for _, want := range []string{"ok  \tgithub.com/bourse-exchange/bourse/a\t0.1s\n", "    b_test.go:9: boom\n", "FAIL\tgithub.com/bourse-exchange/bourse/b",
		"1 tests skipped:\n    1  MySQL: not set\n       a.TestMySQL\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "\ntests: 1 passed, 1 failed, 1 skipped\n") {
		t.Errorf("output does not end with the closing count line:\n%s", got)
	}
	if strings.Contains(got, "noise") {
		t.Errorf("a passing test's output printed:\n%s", got)
	}
	if _, err := summarize(strings.NewReader(""), &out); err == nil {
		t.Error("no results: no error")
	}
}
