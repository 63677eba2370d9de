package httprpc

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/bourse-exchange/bourse/runtime"
)

// TestHaltedShown: market.list and market.summary flag a halted market
// ("halted": true) and only it, after market.halt, after a restart that
// recovers the halt from the journal, and no longer after market.resume.
func TestHaltedShown(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	start := func() (*runtime.Node, *Server) {
		node := testnode.Start(t, cfg, runtime.Options{DataDir: dir, TickInterval: -1})
		return node, New(node.Router)
	}
	call := func(s *Server, method, params string) string {
		t.Helper()
		code, body := post(s.Handler(), envelope(method, params))
		if code != 200 || !strings.Contains(body, `"error":null`) {
			t.Fatalf("%s %s: %d %s", method, params, code, body)
		}
		return body
	}
	// want: the halted flag of every market, in configuration order.
	check := func(s *Server, want ...bool) {
		t.Helper()
		list, sum := call(s, "market.list", "[]"), call(s, "market.summary", "[]")
		for i, m := range cfg.Markets {
			for _, body := range []string{list, sum} {
				entry := body[strings.Index(body, `"name":"`+m.Name+`"`):]
				entry = entry[:strings.Index(entry, "}")]
				if flag := `"halted":` + map[bool]string{true: "true", false: "false"}[want[i]]; !strings.Contains(entry, flag) {
					t.Fatalf("%s: %s lacks %s:\n%s", m.Name, entry, flag, body)
				}
			}
		}
	}
	node, s := start()
	check(s, false, false, false)
	call(s, "market.halt", `["ETHBTC"]`)
	check(s, false, false, true)
	node.Shutdown(context.Background())

	node, s = start()
	defer func() { node.Shutdown(context.Background()) }()
	check(s, false, false, true)
	call(s, "market.resume", `["ETHBTC"]`)
	check(s, false, false, false)
}
