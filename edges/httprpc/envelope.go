package httprpc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// request is a decoded envelope. method and the params slices alias the
// request body.
type request struct {
	method []byte   // decoded method name
	params [][]byte // raw JSON of each param, surrounding space trimmed
	id     int64
}

// parseRequest decodes a JSON-RPC envelope (docs/protocol.md "HTTP transport"): body must be
// UTF-8 and one JSON object whose "method" is a string, "params" an array
// or null (no params, as a public Go client sends for methods without any)
// and "id" an integer in int64 range. Other members are ignored; a
// repeated member counts with its last value, as in viabtc (jansson).
// Member names are matched exactly (case-sensitive) after unescaping.
// Anything else, including trailing data, is refused with why: what is
// wrong, for the error message (see badRequest).
func parseRequest(body []byte) (req request, why string) {
	if !utf8.Valid(body) {
		return req, "the body is not valid UTF-8"
	}
	if !json.Valid(body) {
		return req, "the body is not one JSON value"
	}
	method, params, id, why := requestMembers(body)
	if why != "" {
		return req, why
	}
	return requestFields(method, params, id)
}

const whyNotObject = `the body is not a JSON object {"method", "params", "id"}`

// requestMembers walks the members of the object body (valid JSON) and
// returns the raw values of method, params and id, or why body is not such
// an object.
func requestMembers(body []byte) (method, params, id []byte, why string) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, nil, nil, whyNotObject
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, nil, nil, "no method" // no members: method, params and id are missing
	}
	for {
		key, val, next := member(body, i)
		if next < 0 {
			return nil, nil, nil, whyNotObject
		}
		switch memberName(key) {
		case "method":
			method = val
		case "params":
			params = val
		case "id":
			id = val
		}
		if i = skipSpace(body, next); i >= len(body) {
			return nil, nil, nil, whyNotObject
		}
		if body[i] == '}' {
			return method, params, id, ""
		}
		if body[i] != ',' {
			return nil, nil, nil, whyNotObject
		}
		i = skipSpace(body, i+1)
	}
}

// member reads the member "key": value at body[i:] and returns the raw key
// and value and the offset after the value, or next -1 if there is none.
func member(body []byte, i int) (key, val []byte, next int) {
	if i >= len(body) || body[i] != '"' {
		return nil, nil, -1
	}
	kend := valueEnd(body, i)
	if kend < 0 {
		return nil, nil, -1
	}
	key = body[i:kend]
	i = skipSpace(body, kend)
	if i >= len(body) || body[i] != ':' {
		return nil, nil, -1
	}
	i = skipSpace(body, i+1)
	vend := valueEnd(body, i)
	if vend < 0 {
		return nil, nil, -1
	}
	return key, body[i:vend], vend
}

// requestFields checks the raw method, params and id of a request and
// decodes them, or says what is wrong with the first that is.
func requestFields(method, params, id []byte) (req request, why string) {
	switch {
	case method == nil:
		return req, "no method"
	case params == nil:
		return req, "no params (an array, or null for none)"
	case id == nil:
		return req, "no id"
	}
	if len(method) < 2 || method[0] != '"' {
		return req, "method is not a string"
	}
	if req.method = method[1 : len(method)-1]; bytes.IndexByte(req.method, '\\') >= 0 {
		name, ok := unquote(method)
		if !ok {
			return req, "method is not a string"
		}
		req.method = []byte(name)
	}
	var ok bool
	if !isInteger(id) {
		return req, "id is not an integer"
	}
	if req.id, ok = parseInt64(id); !ok {
		return req, "id is out of the int64 range"
	}
	if string(params) == "null" {
		req.params = [][]byte{}
	} else if req.params, ok = splitArray(params); !ok {
		return req, "params is not an array (or null for none)"
	}
	return req, ""
}

// badRequest is the error of a request parseRequest refused: code 1, the
// message saying why, and the request's id when it has a readable integer
// one (hasID false: the reply's id is null).
func badRequest(body []byte, why string) (e *messages.Error, id int64, hasID bool) {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &probe) == nil && isInteger(probe.ID) {
		id, hasID = parseInt64(probe.ID)
	}
	return &messages.Error{Code: messages.ErrInvalidArgument.Code, Message: "invalid request: " + why}, id, hasID
}

// memberName returns key's text when it is one of the envelope's members,
// else "". It allocates only for keys written with escapes.
func memberName(key []byte) string {
	inner := key[1 : len(key)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		s, _ := unquote(key)
		inner = []byte(s)
	}
	switch string(inner) {
	case "method":
		return "method"
	case "params":
		return "params"
	case "id":
		return "id"
	}
	return ""
}

// unquote returns the text of the JSON string raw; ok is false when raw is
// not a JSON string.
func unquote(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// splitArray returns the raw elements of the JSON array raw, or ok false
// when raw is not an array.
func splitArray(raw []byte) (elems [][]byte, ok bool) {
	if len(raw) < 2 || raw[0] != '[' {
		return nil, false
	}
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == ']' {
		return [][]byte{}, true // non-nil: an empty array is valid params
	}
	elems = make([][]byte, 0, 8) // every method takes at most 8 params
	for {
		end := valueEnd(raw, i)
		if end < 0 {
			return nil, false
		}
		elems = append(elems, raw[i:end])
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, false
		}
		if raw[i] == ']' {
			return elems, true
		}
		if raw[i] != ',' {
			return nil, false
		}
		i = skipSpace(raw, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// valueEnd returns the index just past the JSON value starting at b[i], or
// -1 if there is none. It relies on b being valid JSON (checked first) to
// keep the scan simple, but never indexes out of range whatever b holds.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case '}', ']', ',', ':':
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// isInteger reports whether raw is a JSON number without fraction or
// exponent (jansson's json_is_integer).
func isInteger(raw []byte) bool {
	if len(raw) > 0 && raw[0] == '-' {
		raw = raw[1:]
	}
	if len(raw) == 0 {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseInt64 parses an integer already checked with isInteger.
func parseInt64(raw []byte) (int64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	var v uint64
	for _, c := range raw {
		d := uint64(c - '0')
		if v > (limit-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if neg {
		return int64(-v), true
	}
	return int64(v), true
}

// resultPrefix starts every success envelope; handlers append the result
// after it and appendSuffix closes it. Key order as viabtc: error, result, id.
const resultPrefix = `{"error":null,"result":`

func appendSuffix(b []byte, id int64) []byte {
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, '}')
}

// appendBadRequest appends the error envelope of a refused request (see
// badRequest): "id" null when the request had no readable integer id.
func appendBadRequest(b []byte, e *messages.Error, id int64, hasID bool) []byte {
	if hasID {
		return appendError(b, e, id)
	}
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, e.Message)
	return append(b, `},"result":null,"id":null}`...)
}

// appendError appends a whole error envelope.
func appendError(b []byte, e *messages.Error, id int64) []byte {
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, e.Message)
	b = append(b, `},"result":null,"id":`...)
	b = strconv.AppendInt(b, id, 10)
	return append(b, '}')
}
