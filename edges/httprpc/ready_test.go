package httprpc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestReadyz: /readyz follows Ready (200 or 503 with the reason), needs no
// token, and /healthz stays ok whatever Ready says.
func TestReadyz(t *testing.T) {
	s, _ := newTestServer(t)
	s.BearerToken = "secret"
	if code, got := serve(s.Handler(), httptest.NewRequest("GET", "/readyz", nil)); code != 200 || got != `{"ready":true}` {
		t.Errorf("GET /readyz without Ready = %d %s; want 200 ready", code, got)
	}
	var why error
	s.Ready = func() error { return why }
	h := s.Handler()
	if code, got := serve(h, httptest.NewRequest("GET", "/readyz", nil)); code != 200 || got != `{"ready":true}` {
		t.Errorf("GET /readyz = %d %s; want 200 ready", code, got)
	}
	why = errors.New(`journal failed: "disk full"`)
	if code, got := serve(h, httptest.NewRequest("GET", "/readyz", nil)); code != 503 || got != `{"ready":false,"reason":"journal failed: \"disk full\""}` {
		t.Errorf("GET /readyz while failed = %d %s; want 503 with the reason", code, got)
	}
	if code, _ := serve(h, httptest.NewRequest("HEAD", "/readyz", nil)); code != 503 {
		t.Errorf("HEAD /readyz while failed = %d; want 503", code)
	}
	if code, got := serve(h, httptest.NewRequest("GET", "/healthz", nil)); code != 200 || got != "ok" {
		t.Errorf("GET /healthz while not ready = %d %q; want 200 ok", code, got)
	}
	if code, _ := serve(h, httptest.NewRequest("POST", "/readyz", strings.NewReader("{}"))); code != 401 {
		t.Errorf("POST /readyz without the token = %d; want 401 (an ordinary path)", code)
	}
}

// TestStarting: while the node recovers, its listener answers /healthz ok,
// /readyz 503 "recovering" and requests 503 code 3; Stop hands the
// listener back open, and the Server then serves it.
func TestStarting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	st, err := ServeStarting(l, 10)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func() (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/", "application/json", strings.NewReader(`{"method":"asset.list","params":[],"id":1}`))
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, got := get("/healthz"); code != 200 || got != "ok" {
		t.Errorf("starting: /healthz = %d %q", code, got)
	}
	if code, got := get("/readyz"); code != 503 || !strings.Contains(got, `"reason":"recovering`) {
		t.Errorf("starting: /readyz = %d %s; want 503 recovering", code, got)
	}
	if code, got := post(); code != 503 || !strings.Contains(got, `"code":3`) {
		t.Errorf("starting: POST = %d %s; want 503 code 3", code, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l2, err := st.Stop(ctx)
	if err != nil || l2 != l {
		t.Fatalf("Stop = %v, %v", l2, err)
	}
	s, _ := newTestServer(t)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l2) }()
	if code, got := post(); code != 200 || got != okBody("1") {
		t.Errorf("after Stop: POST = %d %s; want 200", code, got)
	}
	if code, got := get("/readyz"); code != 200 {
		t.Errorf("after Stop: /readyz = %d %s; want 200", code, got)
	}
	s.Shutdown(ctx)
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
}
