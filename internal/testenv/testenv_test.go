package testenv

import (
	"strings"
	"testing"
)

func TestWithParam(t *testing.T) {
	if got := WithParam("u@tcp(h:1)/db", "table", "x"); got != "u@tcp(h:1)/db?table=x" {
		t.Errorf("got %s", got)
	}
	if got := WithParam("u@tcp(h:1)/db?a=b", "table", "x"); got != "u@tcp(h:1)/db?a=b&table=x" {
		t.Errorf("got %s", got)
	}
}

func TestRedact(t *testing.T) {
	if got := redact("mysql://u:s3cret@tcp(h:1)/db"); strings.Contains(got, "s3cret") || !strings.Contains(got, "u:***@") {
		t.Errorf("redact = %s", got)
	}
}

func TestUniqueTable(t *testing.T) {
	for _, test := range []string{"T", strings.Repeat("Long/Name-", 10), "TestX/sync#01"} {
		a, b := uniqueTable(test), uniqueTable(test)
		if a == b || len(a) > 64 || strings.Trim(a, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("%s: table names %q, %q", test, a, b)
		}
	}
}
