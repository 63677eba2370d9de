package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/internal/testnode"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// TestOpenRPCLive starts a node (the bourse binary, -dev-auth), seeds it
// (seed), and replays every example of both documents in document order:
// a successful example's result must fit the method's result schema, an
// error example must answer its code and message. Before each example the
// node's journal followers (history, market data) are waited for, so that
// reads see the writes before them. With -update the documents are
// rewritten with the results recorded here.
func TestOpenRPCLive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the bourse binary")
	}
	n := startNode(t)
	seed(t, n)
	anon, authed := n.dialWS(t), n.dialWS(t)
	if _, e := authed.call(t, "server.auth", "dev:1", "web"); e != nil {
		t.Fatalf("server.auth: %v", e)
	}
	covered := 0
	for _, d := range apiDocs() {
		results := map[string]json.RawMessage{}
		v := newValidator(t, d.file, d.doc.JSON(nil))
		for i, name := range d.doc.Names() {
			m := d.doc.Methods[name]
			if m == nil {
				t.Errorf("%s %s: no description to replay", d.file, name)
				continue
			}
			for _, ex := range m.Examples {
				n.settle(t)
				what := d.file + " " + name + " " + ex.Name
				var res json.RawMessage
				var e *rpcError
				switch {
				case d.file == "openrpc-http.json":
					res, e = n.call(t, name, ex.Params...)
				case ex.Error != nil && ex.Error.Code == 6:
					res, e = anon.call(t, name, ex.Params...)
				default:
					res, e = authed.call(t, name, ex.Params...)
				}
				covered++
				if ex.Error != nil {
					if e == nil || e.Code != ex.Error.Code || e.Message != ex.Error.Message {
						t.Errorf("%s %v: answered %v %s; want error %d %q", what, ex.Params, e, res, ex.Error.Code, ex.Error.Message)
					}
					continue
				}
				if e != nil {
					t.Errorf("%s %v: error %d %q", what, ex.Params, e.Code, e.Message)
					continue
				}
				v.result(t, i, what, res)
				results[apidoc.Key(name, ex.Name)] = res
			}
		}
		if *update && !t.Failed() {
			if err := os.WriteFile(d.file, d.doc.JSON(results), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d examples replayed", covered)
}

// seed makes the state the examples name: deposits of users 1 to 3, a
// trade between orders 1 and 2 at 100, and resting orders 3 to 7 (3 and 5
// with client ids seed-a and seed-b).
func seed(t *testing.T, n *node) {
	t.Helper()
	fee := []any{"0.002", "0.001", "seed"}
	put := func(user, side int, amount, price string, opts ...any) {
		params := append(append([]any{user, "BTCUSDT", side, amount, price}, fee...), opts...)
		method := "order.put_limit"
		if len(opts) > 0 {
			method = "order.put_limit_ex"
		}
		if _, e := n.call(t, method, params...); e != nil {
			t.Fatalf("seed %s %v: %v", method, params, e)
		}
	}
	for _, d := range [][]any{{1, "USDT", "10000"}, {2, "BTC", "10"}, {3, "USDT", "1000"}} {
		if _, e := n.call(t, "balance.update", d[0], d[1], "deposit", 1, d[2], map[string]any{}); e != nil {
			t.Fatalf("seed deposit %v: %v", d, e)
		}
	}
	put(2, 1, "1", "100")                                        // 1
	put(1, 2, "0.5", "100")                                      // 2: fills half of 1
	put(2, 1, "1", "110", map[string]any{"client_id": "seed-a"}) // 3
	put(2, 1, "1", "120")                                        // 4
	put(1, 2, "1", "90", map[string]any{"client_id": "seed-b"})  // 5
	put(3, 2, "1", "80")                                         // 6
	put(1, 2, "0.2", "95")                                       // 7
}

// node is a running bourse binary.
type node struct {
	url, ws string
}

// startNode builds cmd/bourse and starts it on loopback ports with a new
// data directory and -dev-auth; the test's cleanup stops it.
func startNode(t *testing.T) *node {
	t.Helper()
	dir := t.TempDir()
	bin, err := testnode.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := testnode.StartProcess(t, exec.Command(bin, "-http-addr", "127.0.0.1:0", "-ws-addr", "127.0.0.1:0", "-web-addr", "",
		"-data-dir", filepath.Join(dir, "data"), "-dev-auth"))
	return &node{url: p.URL, ws: "ws://" + p.WS(t) + "/"}
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) String() string { return fmt.Sprintf("%d %q", e.Code, e.Message) }

// envelope is an answer.
type envelope struct {
	Error  *rpcError       `json:"error"`
	Result json.RawMessage `json:"result"`
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

func request(method string, params []any) []byte {
	if params == nil {
		params = []any{}
	}
	b, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": 7})
	return b
}

// call posts one request.
func (n *node) call(t *testing.T, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	resp, err := http.Post(n.url, "application/json", bytes.NewReader(request(method, params)))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var env envelope
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s: HTTP %d: %v", method, resp.StatusCode, err)
	}
	return env.Result, env.Error
}

// settle waits until every journal follower has applied the journal.
func (n *node) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, e := n.call(t, "server.state")
		if e != nil {
			t.Fatalf("server.state: %v", e)
		}
		var st struct {
			Followers map[string]struct{ Lag uint64 }
		}
		json.Unmarshal(res, &st)
		behind := false
		for _, f := range st.Followers {
			behind = behind || f.Lag > 0
		}
		if !behind {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("followers still behind after 10s: %s", res)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wsConn is a websocket client.
type wsConn struct{ nc net.Conn }

func (n *node) dialWS(t *testing.T) *wsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, _, _, err := ws.Dial(ctx, n.ws)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &wsConn{nc}
}

// call sends a request and returns its answer, skipping pushes.
func (c *wsConn) call(t *testing.T, method string, params ...any) (json.RawMessage, *rpcError) {
	t.Helper()
	if err := wsutil.WriteClientText(c.nc, request(method, params)); err != nil {
		t.Fatal(err)
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		p, err := wsutil.ReadServerText(c.nc)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		var env envelope
		if err := json.Unmarshal(p, &env); err != nil {
			t.Fatalf("%s: %q: %v", method, p, err)
		}
		if env.Method == "" && string(env.ID) == "7" {
			return env.Result, env.Error
		}
	}
}
