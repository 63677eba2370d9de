package httprpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/messages"
)

const assetListResult = `[{"name":"BTC","prec":8},{"name":"USDT","prec":6},{"name":"ETH","prec":10}]`

func okBody(id string) string {
	return `{"error":null,"result":` + assetListResult + `,"id":` + id + `}`
}

func TestEnvelope(t *testing.T) {
	notFound := func(id string) string {
		return `{"error":{"code":4,"message":"method not found"},"result":null,"id":` + id + `}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"ok", `{"method":"asset.list","params":[],"id":1}`, 200, okBody("1")},
		{"extra fields ignored", `{"jsonrpc":"2.0","method":"asset.list","x":{"y":[1,"]"]},"params":[],"id":7}`, 200, okBody("7")},
		{"space everywhere", " \n{ \"id\" : -5 ,\t\"params\" : [ ] , \"method\" : \"asset.list\" }\r\n", 200, okBody("-5")},
		{"escaped member name", `{"\u006dethod":"asset.list","params":[],"id":2}`, 200, okBody("2")},
		{"escaped method", `{"method":"asset\u002elist","params":[],"id":2}`, 200, okBody("2")},
		{"repeated member: last wins", `{"method":"nope","params":{},"id":"x","method":"asset.list","params":[],"id":3}`, 200, okBody("3")},
		{"id min int64", `{"method":"asset.list","params":[],"id":-9223372036854775808}`, 200, okBody("-9223372036854775808")},
		{"id max int64", `{"method":"asset.list","params":[],"id":9223372036854775807}`, 200, okBody("9223372036854775807")},
		{"id -0", `{"method":"asset.list","params":[],"id":-0}`, 200, okBody("0")},
		{"params null: no params", `{"method":"asset.list","params":null,"id":1}`, 200, okBody("1")},

		{"unknown method", `{"method":"order.nope","params":[],"id":12}`, 404, notFound("12")},
		{"method case-sensitive", `{"method":"Asset.list","params":[],"id":12}`, 404, notFound("12")},
		{"empty method", `{"method":"","params":[],"id":0}`, 404, notFound("0")},

		{"empty body", ``, 400, bad("null", "the body is not one JSON value")},
		{"not JSON", `{`, 400, bad("null", "the body is not one JSON value")},
		{"array", `[]`, 400, bad("null", notObject)},
		{"string", `"x"`, 400, bad("null", notObject)},
		{"null", `null`, 400, bad("null", notObject)},
		{"empty object", `{}`, 400, bad("null", "no method")},
		{"trailing data", `{"method":"asset.list","params":[],"id":1} x`, 400, bad("null", "the body is not one JSON value")},
		{"two objects", `{"method":"asset.list","params":[],"id":1}{}`, 400, bad("null", "the body is not one JSON value")},
		{"invalid UTF-8", "{\"method\":\"asset.list\",\"params\":[\"\xff\"],\"id\":1}", 400, bad("1", "the body is not valid UTF-8")},
		{"no id", `{"method":"asset.list","params":[]}`, 400, bad("null", "no id")},
		{"id string", `{"method":"asset.list","params":[],"id":"1"}`, 400, bad("null", "id is not an integer")},
		{"id real", `{"method":"asset.list","params":[],"id":1.5}`, 400, bad("null", "id is not an integer")},
		{"id 1.0", `{"method":"asset.list","params":[],"id":1.0}`, 400, bad("null", "id is not an integer")},
		{"id exponent", `{"method":"asset.list","params":[],"id":1e2}`, 400, bad("null", "id is not an integer")},
		{"id null", `{"method":"asset.list","params":[],"id":null}`, 400, bad("null", "id is not an integer")},
		{"id too big", `{"method":"asset.list","params":[],"id":9223372036854775808}`, 400, bad("null", "id is out of the int64 range")},
		{"id too small", `{"method":"asset.list","params":[],"id":-9223372036854775809}`, 400, bad("null", "id is out of the int64 range")},
		{"no method", `{"params":[],"id":1}`, 400, bad("1", "no method")},
		{"method number", `{"method":1,"params":[],"id":1}`, 400, bad("1", "method is not a string")},
		{"method null", `{"method":null,"params":[],"id":1}`, 400, bad("1", "method is not a string")},
		{"member names case-sensitive", `{"Method":"asset.list","params":[],"id":1}`, 400, bad("1", "no method")},
		{"no params", `{"method":"asset.list","id":1}`, 400, bad("1", "no params (an array, or null for none)")},
		{"params object", `{"method":"asset.list","params":{},"id":1}`, 400, bad("1", "params is not an array (or null for none)")},
		{"params string", `{"method":"asset.list","params":"[]","id":1}`, 400, bad("1", "params is not an array (or null for none)")},
		{"params bad, method unknown", `{"method":"nope","params":1,"id":1}`, 400, bad("1", "params is not an array (or null for none)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, f := newTestServer(t)
			code, body := post(s.Handler(), tt.body)
			if code != tt.status || body != tt.want {
				t.Errorf("POST %q = %d %q; want %d %q", tt.body, code, body, tt.status, tt.want)
			}
			if n := len(f.commands()); n != 0 {
				t.Errorf("%d commands sent", n)
			}
		})
	}
}

// bad is the body of a request refused with 400: code 1 saying why, the
// request's id if it has a readable one, else null.
func bad(id, why string) string {
	return `{"error":{"code":1,"message":"invalid request: ` + strings.ReplaceAll(why, `"`, `\"`) + `"},"result":null,"id":` + id + `}`
}

const notObject = `the body is not a JSON object {"method", "params", "id"}`

func TestResponseHeaders(t *testing.T) {
	s, _ := newTestServer(t)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/any/path", strings.NewReader(`{"method":"asset.list","params":[],"id":1}`)))
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q; want application/json", got)
	}
	n := len(okBody("1"))
	if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(n); got != want || rec.Body.Len() != n {
		t.Errorf("Content-Length = %q, body %d bytes; want %s", got, rec.Body.Len(), want)
	}
}

func TestNonPost(t *testing.T) {
	s, _ := newTestServer(t)
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
		req := httptest.NewRequest(m, "/", strings.NewReader(`{"method":"asset.list","params":[],"id":1}`))
		want := `{"error":{"code":1,"message":"invalid request: the HTTP method is ` + m + `, JSON-RPC requests are POST"},"result":null,"id":null}`
		if code, body := serve(s.Handler(), req); code != 400 || body != want {
			t.Errorf("%s / = %d %q; want 400 %q", m, code, body, want)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	s, f := newTestServer(t)
	s.MaxBodyBytes = 1024
	h := s.Handler()
	pad := func(n int) string {
		b := `{"method":"asset.list","params":[],"id":1,"pad":"`
		return b + strings.Repeat("x", n-len(b)-2) + `"}`
	}
	for _, chunked := range []bool{false, true} {
		for _, tt := range []struct {
			n      int
			status int
		}{{1024, 200}, {1025, 413}, {1 << 20, 413}} {
			req := httptest.NewRequest("POST", "/", strings.NewReader(pad(tt.n)))
			if chunked {
				req.ContentLength = -1 // length unknown: the limit is found by reading
			}
			code, body := serve(h, req)
			if code != tt.status {
				t.Errorf("body of %d bytes (chunked %v) = %d; want %d", tt.n, chunked, code, tt.status)
			}
			if want := `{"error":{"code":1,"message":"invalid request: the body is over 1024 bytes"},"result":null,"id":null}`; tt.status == 413 && body != want {
				t.Errorf("413 body = %q; want %q", body, want)
			}
		}
	}
	if n := len(f.commands()); n != 0 {
		t.Errorf("%d commands sent", n)
	}
}

func TestDefaultsFromConfig(t *testing.T) {
	s, _ := newTestServer(t)
	if s.MaxBodyBytes != 64<<10 || s.Timeout != 5*time.Second || s.Addr != DefaultAddr || s.BearerToken != "" {
		t.Errorf("New() = MaxBodyBytes %d, Timeout %s, Addr %q, BearerToken %q; want config's 65536, 5s, %q, \"\"",
			s.MaxBodyBytes, s.Timeout, s.Addr, s.BearerToken, DefaultAddr)
	}
}

func TestTimeout(t *testing.T) {
	s, f := newTestServer(t)
	s.Timeout = 20 * time.Millisecond
	f.reply = func(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
		<-ctx.Done()
		return nil, messages.ErrServiceTimeout
	}
	h := s.Handler()
	for _, body := range []string{
		envelope("balance.query", `[1]`),
		envelope("market.summary", `[]`),
		envelope("order.put_limit", `[1,"BTCUSDT",2,"1","1","0","0",""]`),
	} {
		start := time.Now()
		code, got := post(h, body)
		want := `{"error":{"code":5,"message":"service timeout"},"result":null,"id":1}`
		if code != 504 || got != want {
			t.Errorf("%s = %d %s; want 504 %s", body, code, got, want)
		}
		if d := time.Since(start); d < s.Timeout {
			t.Errorf("answered after %s; want at least the timeout %s", d, s.Timeout)
		}
	}
	// market.summary stopped at the first timeout.
	if n := len(f.commands()); n != 3 {
		t.Errorf("%d commands sent; want 3", n)
	}
}

func TestBearerToken(t *testing.T) {
	s, _ := newTestServer(t)
	s.BearerToken = "s3cret"
	h := s.Handler()
	body := `{"method":"asset.list","params":[],"id":1}`
	for _, tt := range []struct {
		auth   string
		status int
	}{
		{"", 401},
		{"Bearer", 401},
		{"Bearer ", 401},
		{"Bearer s3cre", 401},
		{"Bearer s3cret2", 401},
		{"Basic s3cret", 401},
		{"Bearer s3cret", 200},
		{"bearer s3cret", 200},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		code, got := serve(h, req)
		if code != tt.status {
			t.Errorf("Authorization %q = %d; want %d", tt.auth, code, tt.status)
		}
		if code == 401 && got != "" {
			t.Errorf("401 body = %q; want empty", got)
		}
	}
	// Even a malformed request is refused before it is read.
	if code, _ := post(h, `{`); code != 401 {
		t.Errorf("unauthenticated bad body = %d; want 401", code)
	}
	// Health checks need no token.
	if code, got := serve(h, httptest.NewRequest("GET", "/healthz", nil)); code != 200 || got != "ok" {
		t.Errorf("GET /healthz with token configured = %d %q; want 200 ok", code, got)
	}
}

// TestTokenRotation: SetTokens changes the accepted tokens of a handler
// that is already serving; during a rotation both tokens pass.
func TestTokenRotation(t *testing.T) {
	s, _ := newTestServer(t)
	s.BearerToken = "old"
	h := s.Handler()
	status := func(token string) int {
		req := httptest.NewRequest("POST", "/", strings.NewReader(`{"method":"asset.list","params":[],"id":1}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		code, _ := serve(h, req)
		return code
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		for token, code := range want {
			if got := status(token); got != code {
				t.Errorf("%s: token %q = %d; want %d", step, token, got, code)
			}
		}
	}
	check("BearerToken", map[string]int{"old": 200, "new": 401, "": 401})
	s.SetTokens([]string{"old", "new", ""})
	check("both", map[string]int{"old": 200, "new": 200, "": 401, "ne": 401})
	s.SetTokens([]string{"new"})
	check("new only", map[string]int{"old": 401, "new": 200, "": 401})
	s.SetTokens(nil)
	check("none", map[string]int{"": 200, "anything": 200})
}

func TestHealthzAndMetrics(t *testing.T) {
	s, _ := newTestServer(t)
	h := s.Handler()
	if code, got := serve(h, httptest.NewRequest("GET", "/healthz", nil)); code != 200 || got != "ok" {
		t.Errorf("GET /healthz = %d %q; want 200 ok", code, got)
	}
	if code, _ := serve(h, httptest.NewRequest("HEAD", "/healthz", nil)); code != 200 {
		t.Errorf("HEAD /healthz = %d; want 200", code)
	}
	// Without a metrics handler, /metrics is an ordinary path.
	if code, _ := serve(h, httptest.NewRequest("GET", "/metrics", nil)); code != 400 {
		t.Errorf("GET /metrics without Metrics = %d; want 400", code)
	}
	s.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "bourse_up 1\n") })
	h = s.Handler()
	if code, got := serve(h, httptest.NewRequest("GET", "/metrics", nil)); code != 200 || got != "bourse_up 1\n" {
		t.Errorf("GET /metrics = %d %q; want 200 from Metrics", code, got)
	}
}

func TestServeAndShutdown(t *testing.T) {
	s, _ := newTestServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()

	resp, err := http.Post("http://"+l.Addr().String()+"/", "application/json",
		strings.NewReader(`{"method":"asset.list","params":[],"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != okBody("1") {
		t.Errorf("POST = %d %s; want 200 %s", resp.StatusCode, got, okBody("1"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v; want http.ErrServerClosed", err)
	}
}

func TestShutdownBeforeServe(t *testing.T) {
	s, _ := newTestServer(t)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := s.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v; want http.ErrServerClosed", err)
	}
}

// TestConcurrent runs requests of several methods at once (under -race) and
// checks that no command aliases a reused request buffer.
func TestConcurrent(t *testing.T) {
	s, f := newTestServer(t)
	f.reply = echoExchange
	h := s.Handler()
	type rpc struct{ body, want string }
	calls := []rpc{
		{envelope("asset.list", `[]`), okBody("1")},
		{envelope("balance.update", `[1,"BTC","deposit",1,"1",{"keep":"me"}]`),
			`{"error":null,"result":{"status":"success"},"id":1}`},
		{envelope("order.cancel", `[1,"ETHBTC",13]`),
			`{"error":{"code":10,"message":"order not found"},"result":null,"id":1}`},
		{envelope("order.depth", `["BTCUSDT",7,"0.05"]`),
			`{"error":null,"result":{"asks":[["0.05","0.000007"]],"bids":[]},"id":1}`},
		{envelope("nope", `[]`), `{"error":{"code":4,"message":"method not found"},"result":null,"id":1}`},
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				c := calls[(g+i)%len(calls)]
				if _, got := post(h, c.body); got != c.want {
					t.Errorf("%s = %s; want %s", c.body, got, c.want)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, cmd := range f.commands() {
		if u, ok := cmd.(*messages.BalanceUpdate); ok && string(u.Detail) != `{"keep":"me"}` {
			t.Fatalf("BalanceUpdate.Detail = %q after later requests; want %q", u.Detail, `{"keep":"me"}`)
		}
	}
}

// TestMaxConns: with MaxConns connections open (idle, or that never sent
// a request), one more is answered HTTP 503 with a JSON error at once and
// closed; Serve goes on, and a closed connection frees its place.
func TestMaxConns(t *testing.T) {
	s, _ := newTestServer(t)
	if s.MaxConns != s.cfg.HTTP.MaxConns || s.MaxConns == 0 {
		t.Fatalf("MaxConns = %d; want http.max_conns (%d)", s.MaxConns, s.cfg.HTTP.MaxConns)
	}
	s.MaxConns = 2
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	url := "http://" + l.Addr().String() + "/"
	const req = `{"method":"asset.list","params":[],"id":1}`
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	for deadline := time.Now().Add(5 * time.Second); s.conns.Stats().Open < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the two connections were not accepted")
		}
	}
	for range 3 {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
		resp, err := client.Post(url, "application/json", strings.NewReader(req))
		if err != nil {
			t.Fatalf("over the limit: %v; want a 503 answer", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":8`) {
			t.Fatalf("over the limit: %d %s; want 503 with code 8", resp.StatusCode, body)
		}
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
		resp, err := client.Post(url, "application/json", strings.NewReader(req))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(body) == okBody("1") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no place after a connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	held[1].Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v; want http.ErrServerClosed", err)
	}
}

// TestPprof: without Debug, /debug/pprof/ is an ordinary path (a GET is
// not a JSON-RPC request); with Pprof it lists the profiles and serves
// them (a goroutine dump names this test's goroutine), behind the bearer
// token.
func TestPprof(t *testing.T) {
	s, _ := newTestServer(t)
	if code, got := serve(s.Handler(), httptest.NewRequest("GET", "/debug/pprof/", nil)); code != 400 || strings.Contains(got, "goroutine") {
		t.Fatalf("GET /debug/pprof/ without Debug = %d %q; want 400, no profiles", code, got)
	}
	s.Debug = Pprof()
	s.BearerToken = "secret"
	h := s.Handler()
	if code, _ := serve(h, httptest.NewRequest("GET", "/debug/pprof/", nil)); code != 401 {
		t.Fatalf("GET /debug/pprof/ without the token = %d; want 401", code)
	}
	get := func(path string) (int, string) {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer secret")
		return serve(h, r)
	}
	if code, got := get("/debug/pprof/"); code != 200 || !strings.Contains(got, "goroutine") || !strings.Contains(got, "heap") {
		t.Fatalf("GET /debug/pprof/ = %d %q; want the list of profiles", code, got)
	}
	if code, got := get("/debug/pprof/goroutine?debug=2"); code != 200 || !strings.Contains(got, "TestPprof") {
		t.Fatalf("GET /debug/pprof/goroutine?debug=2 = %d; want a dump naming TestPprof:\n%.500s", code, got)
	}
	if code, got := get("/debug/pprof/cmdline"); code != 200 || got == "" {
		t.Fatalf("GET /debug/pprof/cmdline = %d %q", code, got)
	}
}

// TestOperator: Operator is false without a configured token (the web
// console's operator page then refuses), checks BearerToken, and follows
// SetTokens once called.
func TestOperator(t *testing.T) {
	s, _ := newTestServer(t)
	req := func(auth string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/ops/state", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		return r
	}
	check := func(what string, r *http.Request, wantConf, wantOK bool) {
		t.Helper()
		if conf, ok := s.Operator(r); conf != wantConf || ok != wantOK {
			t.Errorf("%s: Operator = %v, %v; want %v, %v", what, conf, ok, wantConf, wantOK)
		}
	}
	check("no token configured", req(""), false, false)
	check("no token configured, one sent", req("Bearer x"), false, false)
	s.BearerToken = "old"
	check("BearerToken, right", req("bearer old"), true, true)
	check("BearerToken, wrong", req("Bearer new"), true, false)
	s.SetTokens([]string{"new", "newer"})
	check("SetTokens, the old one", req("Bearer old"), true, false)
	check("SetTokens, second", req("Bearer newer"), true, true)
	s.SetTokens(nil)
	check("SetTokens(nil)", req("Bearer newer"), false, false)
}
