package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// skipTB catches a Skip instead of skipping the test.
type skipTB struct {
	testing.TB
	why string
}

func (s *skipTB) Helper() {}

func (s *skipTB) Skip(args ...any) { s.why = fmt.Sprint(args...); panic(s) }

// skipped runs f and returns the reason it skipped with, "" if it did not.
func skipped(t testing.TB, f func(testing.TB)) (why string) {
	st := &skipTB{TB: t}
	defer func() {
		if r := recover(); r != nil {
			if r != st {
				panic(r)
			}
			why = st.why
		}
	}()
	f(st)
	return ""
}

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

// TestDefaults: with the variables unset, the services' usual local
// addresses are used when they answer (else the test is skipped, saying
// so); "off" skips.
func TestDefaults(t *testing.T) {
	for _, svc := range []struct {
		name, env, def string
		get            func(testing.TB) string
		ping           func(string) error
	}{
		{"mysql", MySQLVar, DefaultMySQLDSN, MySQLDSN, pingMySQL},
		{"redis", RedisVar, DefaultRedisAddr, RedisAddr, pingRedis},
	} {
		t.Run(svc.name, func(t *testing.T) {
			t.Setenv(RequireVar, "")
			t.Setenv(svc.env, "")
			up := svc.ping(svc.def) == nil
			got := ""
			t.Run("unset", func(t *testing.T) { got = svc.get(t) })
			if up && got != svc.def {
				t.Errorf("%s unset, %s answering: got %q; want the default", svc.env, svc.def, got)
			}
			if !up {
				t.Logf("nothing answers at %s: the tests that need it skip", svc.def)
			}
			t.Setenv(svc.env, Off)
			if why := skipped(t, func(tb testing.TB) { svc.get(tb) }); !strings.Contains(why, "off") {
				t.Errorf("%s=off: skip reason %q", svc.env, why)
			}
		})
	}
}
