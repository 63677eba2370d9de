package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gobwas/ws/wsutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.yaml.in/yaml/v3"
)

// deployExprs are the PromQL expressions of deploy/: every alert rule's and
// every Grafana query's, by where they come from.
func deployExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	raw, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			}
		}
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alerts.yml: rule %+v lacks alert, expr, severity or summary", r)
			}
			exprs["alert "+r.Alert] = r.Expr
		}
	}
	raw, err = os.ReadFile("../../deploy/grafana/bourse.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID string
		Panels     []struct {
			Type, Title string
			Targets     []struct{ Expr string }
		}
		Templating struct {
			List []struct{ Name, Query string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("bourse.json: %v", err)
	}
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("bourse.json: panel %q has no query", p.Title)
		}
		for i, q := range p.Targets {
			exprs["panel "+p.Title+" #"+string(rune('A'+i))] = q.Expr
		}
	}
	for _, v := range dash.Templating.List {
		if strings.Contains(v.Query, "(") {
			exprs["variable "+v.Name] = v.Query
		}
	}
	if len(exprs) < 20 {
		t.Fatalf("deploy/ has %d expressions; the files were not read right", len(exprs))
	}
	return exprs
}

// selectorRe finds metric selectors: a name of the node's families (or up)
// and its label matchers.
var selectorRe = regexp.MustCompile(`\b((?:bourse|process|go)_[a-z0-9_]+|up)\b(\{[^}]*\})?`)

var matcherRe = regexp.MustCompile(`([a-z_]+)\s*=\s*"([^"]*)"`)

// TestDeployFiles checks that every metric deploy/prometheus/alerts.yml and
// deploy/grafana/bourse.json name exists in the /metrics of a running node
// that traded and has a websocket subscriber, with the exact label values
// they ask for.
func TestDeployFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	exprs := deployExprs(t)
	s := startBinary(t, "-dev-auth")
	wsAddr := <-s.ws
	nc := dialWS(t, wsAddr)
	defer nc.Close()
	wsutil.WriteClientText(nc, []byte(`{"method":"depth.subscribe","params":["BTCUSDT",10,"0"],"id":1}`))
	s.ok(t, "balance.update", 1, "USDT", "deposit", 1, "1000", map[string]any{})
	s.ok(t, "balance.update", 2, "BTC", "deposit", 1, "1", map[string]any{})
	s.ok(t, "order.put_limit", 1, "BTCUSDT", 2, "1", "100", "0.002", "0.001", "t")
	s.ok(t, "order.put_limit", 2, "BTCUSDT", 1, "0.5", "100", "0.002", "0.001", "t")
	if _, err := wsutil.ReadServerText(nc); err != nil { // the answer: the connection counts
		t.Fatal(err)
	}
	fams := scrape(t, s)

	checked := map[string]bool{}
	for where, expr := range exprs {
		for _, m := range selectorRe.FindAllStringSubmatch(expr, -1) {
			name := m[1]
			if name == "up" { // Prometheus's own, per scrape target
				continue
			}
			fam := family(fams, name)
			if fam == nil {
				t.Errorf("%s: %s is not in /metrics (%s)", where, name, expr)
				continue
			}
			checked[fam.GetName()] = true
			for _, lm := range matcherRe.FindAllStringSubmatch(m[2], -1) {
				if lm[1] == "job" || lm[1] == "instance" || strings.Contains(m[2], lm[1]+"=~") {
					continue // labels Prometheus adds
				}
				if !hasLabel(fam, lm[1], lm[2]) {
					t.Errorf("%s: %s has no series with %s=%q (%s)", where, name, lm[1], lm[2], expr)
				}
			}
		}
	}
	names := make([]string, 0, len(checked))
	for n := range checked {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("%d expressions, %d metric families checked: %s", len(exprs), len(names), strings.Join(names, " "))
}

// scrape reads the node's /metrics.
func scrape(t *testing.T, s *server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.url + "metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// family finds name's family, name being the family or one of a
// histogram's or summary's _bucket, _sum and _count series.
func family(fams map[string]*dto.MetricFamily, name string) *dto.MetricFamily {
	if f := fams[name]; f != nil && len(f.Metric) > 0 {
		return f
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok {
			if f := fams[base]; f != nil && len(f.Metric) > 0 && (f.GetType() == dto.MetricType_HISTOGRAM || (suf != "_bucket" && f.GetType() == dto.MetricType_SUMMARY)) {
				return f
			}
		}
	}
	return nil
}

func hasLabel(f *dto.MetricFamily, name, value string) bool {
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if l.GetName() == name && l.GetValue() == value {
				return true
			}
		}
	}
	return false
}
