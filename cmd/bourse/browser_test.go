package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/chromedp/chromedp"
)

// screenshots makes the browser tests write docs/web-trader.png and
// docs/web-ops.png (make screenshots).
var screenshots = flag.Bool("screenshots", false, "browser tests: write the web console's screenshots to docs/")

// browser is a headless Chromium with one tab, and the console errors the
// page wrote.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// newBrowser starts Debian's Chromium headless with a new empty profile
// (testenv.Chromium skips the test, or fails it under
// BOURSE_REQUIRE_SERVICES=1, when there is none). The test's cleanup stops
// it.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The page's size is set, not the window's: a window's size includes
	// what the headless browser keeps for scrollbars.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 960)); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	b := &browser{ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.errs = append(b.errs, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// noConsoleErrors fails the test if the page wrote an error to the console
// or threw an exception nothing caught.
func (b *browser) noConsoleErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		t.Errorf("JavaScript console error: %s", e)
	}
}

func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page into v.
func (b *browser) eval(t *testing.T, expr string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %s: %v", expr, raw, err)
	}
}

// waitFor waits until the JavaScript expression is true, failing the test
// with what the page shows after timeout.
func (b *browser) waitFor(t *testing.T, what, expr string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		var page string
		b.eval(t, `document.querySelector('main, .cards') ? document.body.innerText.slice(0, 3000) : ''`, &page)
		t.Fatalf("%s: not shown within %s (%v); the page shows:\n%s", what, timeout, err, page)
	}
}

// text is the text of the element with this CSS selector.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	var s string
	b.eval(t, `(document.querySelector(`+jsString(sel)+`) || {}).innerText || ''`, &s)
	return s
}

// screenshot writes the whole page to docs/name when -screenshots is set.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	if !*screenshots {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot("body"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../../docs/"+name, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote docs/%s", name)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// rpcAs calls method on the HTTP API, with a bearer token unless token is "".
func rpcAs(t *testing.T, url, token, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": 7})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Error  *rpcError       `json:"error"`
		Result json.RawMessage `json:"result"`
		ID     int             `json:"id"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s: HTTP %d %q: %v", method, resp.StatusCode, raw, err)
	}
	if env.ID != 7 {
		t.Fatalf("%s: id %d; want 7", method, env.ID)
	}
	return env.Result, env.Error
}

// mustRPC is rpcAs that fails the test on an error answer and decodes the
// result into v (when not nil).
func mustRPC(t *testing.T, url, token string, v any, method string, params ...any) {
	t.Helper()
	res, e := rpcAs(t, url, token, method, params...)
	if e != nil {
		t.Fatalf("%s %v: error %d %s", method, params, e.Code, e.Message)
	}
	if v != nil {
		if err := json.Unmarshal(res, v); err != nil {
			t.Fatalf("%s: %s: %v", method, res, err)
		}
	}
}

// webURL waits for the node to log its web console's address.
func (s *server) webURL(t *testing.T) string {
	t.Helper()
	select {
	case a := <-s.web:
		return "http://" + strings.TrimSpace(a)
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not log its web console address")
	}
	return ""
}
