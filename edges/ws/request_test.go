package ws

import (
	"encoding/json"
	"testing"
)

func TestDecodeRequest(t *testing.T) {
	tests := []struct {
		in      string
		ok      bool
		method  string
		nparams int
		id      int64
		hasID   bool
	}{
		{`{"method":"server.ping","params":[],"id":1}`, true, "server.ping", 0, 1, true},
		{` {"id":-3,"params":[1,"a",{"b":[2]}],"method":"x\u002ey"} `, true, "x.y", 3, -3, true},
		{`{"method":"a","params":[],"id":9223372036854775807}`, true, "a", 0, 9223372036854775807, true},
		{`{"method":"a","params":[],"id":9223372036854775808}`, false, "", 0, 0, false},
		{`{"method":"a","params":{},"id":4}`, false, "", 0, 4, true},
		{`{"method":"a","params":null,"id":4}`, true, "a", 0, 4, true}, // a public Go client sends null for no params
		{`{"method":null,"params":[],"id":4}`, false, "", 0, 4, true},
		{`{"method":"a","params":[],"id":"4"}`, false, "", 0, 0, false},
		{`{"method":"a","params":[],"id":4.0}`, false, "", 0, 0, false},
		{`{"method":"a","params":[]}`, false, "", 0, 0, false},
		{`{"method":"a","params":[],"id":1} x`, false, "", 0, 0, false},
		{`[]`, false, "", 0, 0, false},
		{``, false, "", 0, 0, false},
		{"{\"method\":\"\xff\",\"params\":[],\"id\":1}", false, "", 0, 1, true}, // not UTF-8: refused, id still answered
	}
	for _, tt := range tests {
		req, err := decodeRequest([]byte(tt.in))
		ok := err == nil
		if ok != tt.ok || req.method != tt.method || len(req.params) != tt.nparams || req.id != tt.id || req.hasID != tt.hasID {
			t.Errorf("decodeRequest(%q) = %+v, %v; want method %q, %d params, id %d (%v), ok %v", tt.in, req, ok, tt.method, tt.nparams, tt.id, tt.hasID, tt.ok)
		}
	}
}

// FuzzDecodeRequest checks the decoder against encoding/json: whatever it
// accepts is a JSON object whose method, params and id it read right, and
// an error reply can always be encoded. The seed corpus is in
// testdata/fuzz/FuzzDecodeRequest.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"method":"server.ping","params":[],"id":1}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		req, bad := decodeRequest(p)
		reply := appendErrorReply(nil, errArg, &req)
		if !json.Valid(reply) {
			t.Fatalf("error reply %q is not JSON", reply)
		}
		if bad != nil {
			if bad.Code != 1 || !json.Valid(appendErrorReply(nil, bad, &req)) {
				t.Fatalf("%q: refused with %v", p, bad)
			}
			return
		}
		var ref struct {
			Method *string            `json:"method"`
			Params *[]json.RawMessage `json:"params"`
			ID     *json.Number       `json:"id"`
		}
		if err := json.Unmarshal(p, &ref); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", p, err)
		}
		if ref.Method == nil || *ref.Method != req.method {
			t.Fatalf("%q: method %q; encoding/json reads %v", p, req.method, ref.Method)
		}
		if (ref.Params == nil && len(req.params) != 0) || (ref.Params != nil && len(*ref.Params) != len(req.params)) {
			t.Fatalf("%q: %d params; encoding/json reads %v", p, len(req.params), ref.Params)
		}
		for i, raw := range req.params {
			if !json.Valid(raw) {
				t.Fatalf("%q: param %d %q is not JSON", p, i, raw)
			}
		}
		if ref.ID == nil || ref.ID.String() != jsonInt(req.id) {
			t.Fatalf("%q: id %d; encoding/json reads %v", p, req.id, ref.ID)
		}
	})
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
