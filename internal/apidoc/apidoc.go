// Package apidoc describes JSON-RPC methods — positional params with their
// JSON schemas and rules, the result's schema, the error codes and
// examples — and writes an OpenRPC 1.2.6 document from the descriptions.
// The edges' method tables carry a Method per method (edges/httprpc
// methods.go, edges/ws methods.go), so the documents in docs/ are
// generated from the code that serves the methods (docs/README.md).
package apidoc

import (
	"bytes"
	"encoding/json"
	"sort"

	"github.com/bourse-exchange/bourse/messages"
)

// Schema is a JSON Schema (draft 2020-12) as encoding/json writes it.
type Schema = map[string]any

// Method describes one method.
type Method struct {
	Summary string
	Params  []Param
	// Result names and describes the result of a successful call.
	Result Schema
	// Errors are the method's own codes, beyond those every method can
	// answer (Common).
	Errors []*messages.Error
	// Auth is set on a websocket method that needs server.auth first.
	Auth     bool
	Examples []Example
}

// Param is one positional param.
type Param struct {
	Name   string
	Schema Schema
	// Optional params may be left out (only at the end of the list).
	Optional bool
	// Repeated: this param and any number more of the same kind (zero
	// included) end the list.
	Repeated bool
	Rule     string
}

// Example is one call: params, and the error it must answer (nil: it
// succeeds). Its result in the document is the answer of a live node,
// recorded when the document is regenerated (Results).
type Example struct {
	Name   string
	Params []any
	Error  *messages.Error
}

// Common are the codes any method may answer: bad params, and failures of
// the node.
var Common = []*messages.Error{messages.ErrInvalidArgument, messages.ErrInternal, messages.ErrUnavailable, messages.ErrServiceTimeout}

// Doc is what an OpenRPC document is made of.
type Doc struct {
	Title, Description string
	Methods            map[string]*Method
	Schemas            map[string]Schema // components.schemas
}

// Names returns the methods' names in the document's order (sorted).
func (d *Doc) Names() []string {
	names := make([]string, 0, len(d.Methods))
	for n := range d.Methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Key names an example in Results: method and example name.
func Key(method, example string) string { return method + " " + example }

// JSON returns the OpenRPC document, indented, with a final newline; the
// examples' results are taken from results (by Key), null when absent.
func (d *Doc) JSON(results map[string]json.RawMessage) []byte {
	methods := make([]any, 0, len(d.Methods))
	for _, name := range d.Names() {
		m := d.Methods[name]
		if m == nil { // a table entry without a description: the tests say so
			m = &Method{}
		}
		methods = append(methods, m.openRPC(name, results))
	}
	doc := map[string]any{
		"openrpc": "1.2.6",
		"info": map[string]any{
			"title":       d.Title,
			"version":     "1",
			"description": d.Description,
		},
		"methods":    methods,
		"components": map[string]any{"schemas": d.Schemas},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		panic(err) // only maps, slices and plain values: cannot fail
	}
	return buf.Bytes()
}

// openRPC returns the method object.
func (m *Method) openRPC(name string, results map[string]json.RawMessage) map[string]any {
	params := make([]any, 0, len(m.Params))
	for _, p := range m.Params {
		cd := map[string]any{"name": p.Name, "schema": p.Schema, "required": !p.Optional && !p.Repeated}
		if p.Rule != "" {
			cd["description"] = p.Rule
		}
		if p.Repeated {
			cd["x-repeated"] = true
		}
		params = append(params, cd)
	}
	errs := make([]any, 0, len(m.Errors)+len(Common))
	for _, e := range append(append([]*messages.Error{}, Common...), m.Errors...) {
		errs = append(errs, map[string]any{"code": e.Code, "message": e.Message})
	}
	examples := make([]any, 0, len(m.Examples))
	for _, ex := range m.Examples {
		examples = append(examples, ex.openRPC(m.Params, results[Key(name, ex.Name)]))
	}
	out := map[string]any{
		"name":           name,
		"summary":        m.Summary,
		"paramStructure": "by-position",
		"params":         params,
		"result":         map[string]any{"name": "result", "schema": m.Result},
		"errors":         errs,
		"examples":       examples,
	}
	if m.Auth {
		out["x-requires-auth"] = true
	}
	return out
}

// openRPC returns the example pairing object; an error example carries
// the expected error as x-error.
func (ex *Example) openRPC(params []Param, result json.RawMessage) map[string]any {
	ps := make([]any, 0, len(ex.Params))
	for i, v := range ex.Params {
		name := "param"
		if len(params) > 0 {
			name = params[min(i, len(params)-1)].Name
		}
		ps = append(ps, map[string]any{"name": name, "value": v})
	}
	out := map[string]any{"name": ex.Name, "params": ps}
	if ex.Error != nil {
		out["x-error"] = map[string]any{"code": ex.Error.Code, "message": ex.Error.Message}
		return out
	}
	var value any // null until recorded
	if result != nil {
		value = result
	}
	out["result"] = map[string]any{"name": "result", "value": value}
	return out
}

// Results reads the recorded example results of an OpenRPC document
// written by JSON, by Key.
func Results(doc []byte) (map[string]json.RawMessage, error) {
	var d struct {
		Methods []struct {
			Name     string
			Examples []struct {
				Name   string
				Result *struct{ Value json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, m := range d.Methods {
		for _, ex := range m.Examples {
			if ex.Result != nil && len(ex.Result.Value) > 0 && string(ex.Result.Value) != "null" {
				out[Key(m.Name, ex.Name)] = ex.Result.Value
			}
		}
	}
	return out, nil
}
