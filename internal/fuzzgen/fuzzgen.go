// Package fuzzgen generates JSON-RPC calls for the entry-point fuzzers of
// the HTTP and websocket edges: from a byte stream (a fuzzer's input or a
// seeded random source) it draws a method and a params array that is
// either random — every JSON type, edge numbers, odd strings, any count —
// or a valid template of the method, possibly with one to three params
// replaced, dropped or added.
package fuzzgen

import (
	"slices"
	"strings"

	"github.com/bourse-exchange/bourse/internal/coretest"
)

// Values are the params drawn from, as JSON texts.
var Values = func() []string {
	long := strings.Repeat("x", 300)
	digits := strings.Repeat("9", 400)
	return []string{
		// numbers
		`0`, `1`, `2`, `3`, `-1`, `-0`, `1.5`, `0.5`, `1e3`, `1E-8`, `1e308`, `-1e308`, `1e-400`,
		`4294967295`, `4294967296`, `9007199254740993`, `18446744073709551616`, digits,
		// strings that are numbers, almost numbers, or not
		`"0"`, `"1"`, `"2"`, `"-1"`, `"0.00000001"`, `"0.000000001"`, `"1e3"`, `"1E-999"`, `"1e999"`,
		`"123456789012345678901234567890.123456789"`, `"0.123456789012345678901234567890"`,
		`"` + digits + `"`, `"NaN"`, `"Infinity"`, `"0x10"`, `" 1"`, `"1 "`, `"+1"`, `"1,5"`, `"١"`,
		`"100"`, `"0.01"`, `"0.002"`, `"0.001"`, `"50000"`, `"0.0001"`,
		// names
		`"BTC"`, `"ETH"`, `"USDT"`, `"BTCUSDT"`, `"ETHBTC"`, `"ETHUSDT"`, `"btcusdt"`, `"BTC\u0000"`,
		`"nope"`, `""`, `"` + long + `"`, `"deposit"`, `"withdraw"`, `"trade"`, `"web"`, `"'; DROP TABLE x; --"`,
		`"dev:1"`, `"dev:2"`, `"dev:0"`, `"dev:-1"`, `"dev:4294967296"`,
		// order options (put_limit_ex, put_market_ex, the stop methods)
		`{"time_in_force":"FOK"}`, `{"time_in_force":"GTC","post_only":true}`, `{"stp":"cancel_both"}`,
		`{"time_in_force":"IOC","post_only":true}`, `{"time_in_force":"ioc"}`, `{"stp":""}`, `{"bogus":1}`,
		`{"client_id":"c-1"}`, `{"client_id":"s-1","stp":"cancel_maker"}`, `{"client_id":""}`, `{"client_id":"a b"}`,
		`{"client_id":"` + strings.Repeat("c", 33) + `"}`, `{"client_id":1}`, `{"Stp":"none"}`, `{"stp":null}`,
		// client order ids and more numbers (stop prices, timeouts, order ids)
		`"c-1"`, `"s-1"`, `"s-2"`, `"m-1"`, `"a.B_9:-"`, `"a b"`, `"` + strings.Repeat("c", 32) + `"`, `"` + strings.Repeat("c", 33) + `"`,
		`"150"`, `"99.99"`, `60`, `86400`, `86401`, `1024`, `2048`,
		// other types
		`null`, `true`, `false`, `{}`, `{"a":[1,{"b":null}]}`, `[]`, `[1,2]`, `[[[]]]`,
	}
}()

// Gen draws calls from a byte string (0 once it is used up), read through
// the shared generator's byte source (coretest.ByteSource: one byte a
// choice).
type Gen struct{ src *coretest.ByteSource }

// New returns a generator drawing from b.
func New(b []byte) *Gen { return &Gen{coretest.NewByteSource(b)} }

// More reports whether bytes are left.
func (g *Gen) More() bool { return g.src.Left() > 0 }

func (g *Gen) next() int { return g.src.Intn(256) }

// Call draws a method of templates (sorted names, so that a byte stream
// always means the same call) and its params as a JSON array.
func (g *Gen) Call(names []string, templates map[string][]string) (string, string) {
	name := names[g.next()%len(names)]
	var params []string
	switch mode := g.next() % 5; mode {
	case 0: // random count and values
		n := g.next() % 10
		for range n {
			params = append(params, Values[g.next()%len(Values)])
		}
	default: // the valid template, or near-valid: 1–3 params replaced, dropped or added
		params = slices.Clone(templates[name])
		for range mode - 1 {
			switch op := g.next() % 5; {
			case op < 3 && len(params) > 0:
				params[g.next()%len(params)] = Values[g.next()%len(Values)]
			case op == 3 && len(params) > 0:
				params = params[:len(params)-1]
			default:
				params = append(params, Values[g.next()%len(Values)])
			}
		}
	}
	return name, "[" + strings.Join(params, ",") + "]"
}

// Names returns the sorted method names of templates.
func Names(templates map[string][]string) []string {
	names := make([]string, 0, len(templates))
	for name := range templates {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
