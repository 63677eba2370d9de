package docs

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strconv"
	"testing"

	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/edges/ws"
	"github.com/bourse-exchange/bourse/internal/apidoc"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The OpenRPC documents of the two APIs, generated from the edges' method
// tables. Regenerate them (and record the examples' results from a live
// node) with
//
//	go test ./docs -run OpenRPC -update
var update = flag.Bool("update", false, "rewrite docs/openrpc-*.json from the method tables and a live node's answers")

const regenerate = "go test ./docs -run OpenRPC -update"

// apiDoc is one generated document and its file.
type apiDoc struct {
	file string
	doc  *apidoc.Doc
}

func apiDocs() []apiDoc {
	return []apiDoc{{"openrpc-http.json", httprpc.API()}, {"openrpc-ws.json", ws.API()}}
}

// TestOpenRPCMatchesTables fails when a committed document is not what the
// method table generates (the examples' recorded results kept), and checks
// the table itself: every method has a summary, a result schema and an
// example; every code is in the catalogue; every successful example's
// params fit the params' schemas; every recorded result fits the result
// schema.
func TestOpenRPCMatchesTables(t *testing.T) {
	if *update {
		t.Skip("-update: TestOpenRPCLive writes the documents")
	}
	for _, d := range apiDocs() {
		committed, err := os.ReadFile(d.file)
		if err != nil {
			t.Fatalf("%v (generate it with %s)", err, regenerate)
		}
		results, err := apidoc.Results(committed)
		if err != nil {
			t.Fatalf("%s: %v", d.file, err)
		}
		if got := d.doc.JSON(results); !bytes.Equal(got, committed) {
			t.Errorf("%s differs from the method table's description; regenerate it with %s\n%s",
				d.file, regenerate, firstDiff(got, committed))
		}
		checkTable(t, d)
		v := newValidator(t, d.file, committed)
		for i, name := range d.doc.Names() {
			for _, ex := range d.doc.Methods[name].Examples {
				if r, ok := results[apidoc.Key(name, ex.Name)]; ok {
					v.result(t, i, name+" "+ex.Name+" (recorded)", r)
				}
				if ex.Error == nil {
					v.params(t, i, name+" "+ex.Name, ex.Params)
				}
			}
		}
	}
}

// checkTable checks what the document cannot show by itself.
func checkTable(t *testing.T, d apiDoc) {
	known := map[int]bool{}
	for _, e := range messages.Catalogue {
		known[e.Code] = true
	}
	for name, m := range d.doc.Methods {
		if m == nil {
			t.Errorf("%s %s: the method table's entry has no description", d.file, name)
			continue
		}
		if m.Summary == "" || m.Result == nil || len(m.Examples) == 0 {
			t.Errorf("%s %s: a summary, a result schema and at least one example are needed", d.file, name)
		}
		for _, e := range m.Errors {
			if !known[e.Code] {
				t.Errorf("%s %s: error code %d (%q) is not in messages.Catalogue", d.file, name, e.Code, e.Message)
			}
		}
		seen := map[string]bool{}
		for _, ex := range m.Examples {
			if seen[ex.Name] {
				t.Errorf("%s %s: two examples named %q", d.file, name, ex.Name)
			}
			seen[ex.Name] = true
		}
	}
}

// firstDiff shows where two texts start to differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(i-200, 0)
	return "generated: …" + string(a[lo:min(i+200, len(a))]) + "…\ncommitted: …" + string(b[lo:min(i+200, len(b))]) + "…"
}

// validator compiles the schemas of one document.
type validator struct {
	c    *jsonschema.Compiler
	file string
	doc  any
}

func newValidator(t *testing.T, file string, doc []byte) *validator {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(file, v); err != nil {
		t.Fatal(err)
	}
	return &validator{c: c, file: file, doc: v}
}

func (v *validator) compile(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	s, err := v.c.Compile(v.file + "#" + ptr)
	if err != nil {
		t.Fatalf("%s#%s: %v", v.file, ptr, err)
	}
	return s
}

// result checks raw against method i's result schema.
func (v *validator) result(t *testing.T, i int, what string, raw json.RawMessage) {
	t.Helper()
	s := v.compile(t, "/methods/"+strconv.Itoa(i)+"/result/schema")
	val, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if err := s.Validate(val); err != nil {
		t.Errorf("%s: result %s does not fit the schema: %v", what, raw, err)
	}
}

// params checks an example's params against method i's params: count
// (required ones present, no more than declared unless the last repeats)
// and each value against its param's schema.
func (v *validator) params(t *testing.T, i int, what string, params []any) {
	t.Helper()
	m := v.doc.(map[string]any)["methods"].([]any)[i].(map[string]any)
	decl := m["params"].([]any)
	for j, p := range decl {
		if p.(map[string]any)["required"] == true && j >= len(params) {
			t.Errorf("%s: param %d (%v) missing", what, j, p.(map[string]any)["name"])
		}
	}
	for j, val := range params {
		k := j
		if k >= len(decl) {
			if len(decl) == 0 || decl[len(decl)-1].(map[string]any)["x-repeated"] != true {
				t.Errorf("%s: %d params, %d declared", what, len(params), len(decl))
				return
			}
			k = len(decl) - 1
		}
		s := v.compile(t, "/methods/"+strconv.Itoa(i)+"/params/"+strconv.Itoa(k)+"/schema")
		raw, _ := json.Marshal(val)
		jv, _ := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err := s.Validate(jv); err != nil {
			t.Errorf("%s: param %d %s does not fit its schema: %v", what, j, raw, err)
		}
	}
}

// TestOpenRPCSchemasRefuse shows the result schemas can fail: answers that
// differ from the wire format in one detail each are refused.
func TestOpenRPCSchemasRefuse(t *testing.T) {
	d := apiDocs()[0]
	v := newValidator(t, d.file, d.doc.JSON(nil))
	index := map[string]int{}
	for i, name := range d.doc.Names() {
		index[name] = i
	}
	for _, c := range []struct{ method, result string }{
		{"balance.query", `{"BTC":{"available":1,"freeze":"0"}}`},      // a number, not a decimal string
		{"balance.query", `{"BTC":{"available":"1E-8","freeze":"0"}}`}, // exponent form
		{"balance.query", `{"BTC":{"available":"1"}}`},                 // a member missing
		{"market.last", `"1e2"`},                                       // exponent form
		{"order.cancel_all", `{"count":"1"}`},                          // a string, not an integer
		{"order.cancel_all", `{"count":1,"extra":2}`},                  // a member too many
		{"market.kline", `[[1.5,"1","1","1","1","1","1","BTCUSDT"]]`},  // a real bucket time
		{"market.kline", `[[1,"1","1","1","1","1","1"]]`},              // a member short
		{"asset.list", `[{"name":"BTC","prec":"8"}]`},                  // a string precision
		{"order.pending_detail", `{"id":1024}`},                        // not an order
		{"server.state", `{"lsn":1,"hash":"abc"}`},                     // not a sha256
	} {
		s := v.compile(t, "/methods/"+strconv.Itoa(index[c.method])+"/result/schema")
		val, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(c.result)))
		if err != nil {
			t.Fatal(err)
		}
		if s.Validate(val) == nil {
			t.Errorf("%s: %s fits the result schema", c.method, c.result)
		}
	}
}
