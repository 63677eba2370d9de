package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path, auth string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPages: the pages and every module they import are served from the
// embedded tree with their types and the security headers.
func TestPages(t *testing.T) {
	h := Handler(Options{})
	for path, typ := range map[string]string{
		"/": "text/html", "/ops": "text/html", "/static/style.css": "text/css",
		"/static/js/trader.js": "text/javascript", "/static/js/ops.js": "text/javascript",
	} {
		r := get(t, h, path, "")
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), typ) {
			t.Errorf("GET %s: %d %q; want 200 %s", path, r.StatusCode, r.Header.Get("Content-Type"), typ)
		}
		if !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") || r.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: security headers %v", path, r.Header)
		}
	}
	// Every module a module imports exists: a broken import is a console
	// error only a browser would see.
	for _, js := range []string{"trader.js", "ops.js", "account.js", "charts.js", "prom.js", "api.js", "book.js", "dec.js"} {
		src := body(t, get(t, h, "/static/js/"+js, ""))
		for _, line := range strings.Split(src, "\n") {
			if i := strings.Index(line, "from './"); strings.HasPrefix(line, "import ") && i > 0 {
				dep := strings.TrimSuffix(strings.TrimSuffix(line[i+len("from './"):], ";"), "'")
				if r := get(t, h, "/static/js/"+dep, ""); r.StatusCode != 200 {
					t.Errorf("%s imports %s: GET %d", js, dep, r.StatusCode)
				}
			}
		}
	}
	if r := get(t, h, "/nope", ""); r.StatusCode != 404 {
		t.Errorf("GET /nope: %d; want 404", r.StatusCode)
	}
}

// TestConfig: /config.json gives the websocket port and whether dev:
// tokens are accepted.
func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{WSAddr: "127.0.0.1:8090", DevAuth: true}, `{"ws_port":8090,"dev_auth":true}`},
		{Options{WSAddr: "[::]:9000"}, `{"ws_port":9000,"dev_auth":false}`},
		{Options{}, `{"ws_port":0,"dev_auth":false}`},
	} {
		if got := body(t, get(t, Handler(tc.o), "/config.json", "")); got != tc.want {
			t.Errorf("%+v: /config.json %s; want %s", tc.o, got, tc.want)
		}
	}
}

// TestOperator: /ops/metrics and /ops/state need the operator token; with
// none configured they are refused (403), with a wrong one 401.
func TestOperator(t *testing.T) {
	tokens := []string{"s3cret"}
	o := Options{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "bourse_x 1\n") }),
		State: func(context.Context) ([]byte, error) {
			return []byte(`{"lsn":7}`), nil
		},
		Operator: func(r *http.Request) (bool, bool) {
			if len(tokens) == 0 {
				return false, false
			}
			return true, r.Header.Get("Authorization") == "Bearer "+tokens[0]
		},
	}
	h := Handler(o)
	for _, path := range []string{"/ops/metrics", "/ops/state"} {
		if r := get(t, h, path, ""); r.StatusCode != 401 {
			t.Errorf("%s without a token: %d; want 401", path, r.StatusCode)
		}
		if r := get(t, h, path, "Bearer wrong"); r.StatusCode != 401 {
			t.Errorf("%s with a wrong token: %d; want 401", path, r.StatusCode)
		}
	}
	if got := body(t, get(t, h, "/ops/metrics", "Bearer s3cret")); got != "bourse_x 1\n" {
		t.Errorf("/ops/metrics: %q", got)
	}
	var st struct{ LSN int }
	if err := json.Unmarshal([]byte(body(t, get(t, h, "/ops/state", "Bearer s3cret"))), &st); err != nil || st.LSN != 7 {
		t.Errorf("/ops/state: %+v %v", st, err)
	}
	o.State = func(context.Context) ([]byte, error) { return nil, errors.New("journal busy") }
	if r := get(t, Handler(o), "/ops/state", "Bearer s3cret"); r.StatusCode != 503 {
		t.Errorf("/ops/state failing: %d; want 503", r.StatusCode)
	}
	tokens = nil
	r := get(t, h, "/ops/state", "Bearer s3cret")
	if msg := body(t, r); r.StatusCode != 403 || !strings.Contains(msg, "-http-token") {
		t.Errorf("no token configured: %d %q; want 403 naming -http-token", r.StatusCode, msg)
	}
}
