package httprpc

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/fuzzgen"
	"github.com/bourse-exchange/bourse/runtime"
)

// The entry-point fuzzer: every JSON-RPC method of a real node (balance
// shards, markets, journal, history and market data followers) called
// with generated params — every JSON type, edge numbers, overlong and
// odd strings, wrong counts, and near-valid calls with one param
// replaced. Each call must be answered with a well-formed reply; a
// refusal must carry one of the method's codes and leave the exchange's
// state hash unchanged. FuzzEntryPoints explores (make fuzz);
// TestEntryPoints runs a fixed set of seeds in every `make test`.

// entryCodes are the error codes each method may answer on a healthy node.
// A new order may meet code 16: market.halt, which the calls include, may
// name any market.
var entryCodes = map[string][]int{
	"balance.update":   {1, 10, 11},
	"order.put_limit":  {1, 10, 11, 16},
	"order.put_market": {1, 10, 11, 12, 16},
	"order.cancel":     {1, 10, 11},
	// put_limit_ex: 12 a FOK order not filled at once, 13 post-only would
	// take, 14 client order id in use.
	"order.put_limit_ex":  {1, 10, 11, 12, 13, 14, 16},
	"order.put_market_ex": {1, 10, 11, 12, 14, 16},
	// Stop orders are held: nothing is matched when they are placed; 15
	// the last price has reached the stop price already.
	"order.put_stop_limit":      {1, 10, 11, 14, 15, 16},
	"order.put_stop_market":     {1, 10, 11, 14, 15, 16},
	"order.cancel_by_client_id": {1, 10, 11},
	"order.amend":               {1, 10, 11},
	"order.amend_by_client_id":  {1, 10, 11},
}

// entryTemplates are valid calls; a near-valid call replaces one param.
var entryTemplates = map[string][]string{
	"balance.query":                     {`1`, `"BTC"`, `"USDT"`},
	"balance.update":                    {`1`, `"USDT"`, `"deposit"`, `1`, `"1.5"`, `{}`},
	"balance.history":                   {`1`, `"BTC"`, `"deposit"`, `0`, `0`, `0`, `10`},
	"asset.list":                        {},
	"asset.summary":                     {`"BTC"`},
	"order.put_limit":                   {`1`, `"BTCUSDT"`, `2`, `"0.01"`, `"100"`, `"0.002"`, `"0.001"`, `"web"`},
	"order.put_market":                  {`1`, `"BTCUSDT"`, `1`, `"0.01"`, `"0.002"`, `"web"`},
	"order.cancel":                      {`1`, `"BTCUSDT"`, `1`},
	"order.put_limit_ex":                {`2`, `"BTCUSDT"`, `1`, `"0.01"`, `"100"`, `"0.002"`, `"0.001"`, `"web"`, `{"stp":"cancel_maker","client_id":"c-1"}`},
	"order.cancel_all":                  {`1`, `"BTCUSDT"`, `0`},
	"order.put_market_ex":               {`1`, `"BTCUSDT"`, `2`, `"1"`, `"0.002"`, `"web"`, `{"stp":"cancel_taker","client_id":"m-1"}`},
	"order.put_stop_limit":              {`1`, `"BTCUSDT"`, `2`, `"0.01"`, `"150"`, `"151"`, `"0.002"`, `"0.001"`, `"web"`, `{"client_id":"s-1"}`},
	"order.put_stop_market":             {`2`, `"BTCUSDT"`, `1`, `"0.01"`, `"50"`, `"0.002"`, `"web"`, `{"client_id":"s-2"}`},
	"order.cancel_by_client_id":         {`1`, `"BTCUSDT"`, `"s-1"`},
	"order.pending_detail_by_client_id": {`1`, `"BTCUSDT"`, `"s-1"`},
	"order.amend":                       {`2`, `"BTCUSDT"`, `1024`, `"0.005"`},
	"order.amend_by_client_id":          {`2`, `"BTCUSDT"`, `"c-1"`, `"0.005"`},
	"order.cancel_all_after":            {`1`, `"BTCUSDT"`, `60`},
	"market.halt":                       {`"ETHBTC"`},
	"market.resume":                     {`"ETHBTC"`},
	"market.update":                     {`"ETHBTC"`, `{"min_amount":"0.01","stp":"cancel_maker"}`},
	"market.add":                        {`"ETHUSDT2"`, `"ETH"`, `"USDT"`, `4`, `2`, `4`, `"0.01"`},
	"asset.add":                         {`"LTC"`, `8`, `8`},
	"order.book":                        {`"BTCUSDT"`, `1`, `0`, `10`},
	"order.depth":                       {`"BTCUSDT"`, `10`, `"0"`},
	"order.pending":                     {`1`, `"BTCUSDT"`, `0`, `10`},
	"order.pending_detail":              {`"BTCUSDT"`, `1`},
	"order.finished":                    {`1`, `"BTCUSDT"`, `0`, `0`, `0`, `10`, `0`},
	"order.deals":                       {`1`, `0`, `10`},
	"order.finished_detail":             {`1`},
	"market.list":                       {},
	"market.summary":                    {},
	"market.last":                       {`"BTCUSDT"`},
	"market.deals":                      {`"BTCUSDT"`, `10`, `0`},
	"market.kline":                      {`"BTCUSDT"`, `0`, `2000000000`, `60`},
	"market.status":                     {`"BTCUSDT"`, `86400`},
	"market.status_today":               {`"BTCUSDT"`},
	"market.user_deals":                 {`1`, `"BTCUSDT"`, `0`, `10`},
	"server.state":                      {},
}

// nullable are the methods that may answer null.
var nullable = map[string]bool{"order.pending_detail": true, "order.pending_detail_by_client_id": true, "order.finished_detail": true}

// entryNode is a real node with its followers and the HTTP edge, shared
// by every call of a fuzzing process.
type entryNode struct {
	dir   string
	srv   *Server
	node  *runtime.Node
	stats map[string]int // refusals by method and code
	mu    sync.Mutex
}

var (
	entryOnce sync.Once
	entryN    *entryNode
	entryErr  error
)

func startEntryNode(tb testing.TB) *entryNode {
	entryOnce.Do(func() {
		cfg, err := config.Parse(config.Default)
		if err != nil {
			entryErr = err
			return
		}
		// A process-lifetime directory: the node outlives any one test.
		dir, err := os.MkdirTemp("", "bourse-entry-")
		if err != nil {
			entryErr = err
			return
		}
		data := filepath.Join(dir, "data")
		// No ticks: a dead-man's switch armed by one call must not fire
		// while another call is checked.
		node, err := runtime.Start(cfg, runtime.Options{DataDir: data, TickInterval: -1})
		if err != nil {
			entryErr = err
			return
		}
		if _, err := node.StartServices(context.Background(), data); err != nil {
			entryErr = err
			return
		}
		n := &entryNode{dir: dir, srv: New(node.Router), node: node, stats: map[string]int{}}
		// Users 1 and 2 hold funds, so that some orders are accepted
		// and the book is not empty.
		for i, c := range []string{`[1,"USDT","deposit",1,"100000",{}]`, `[1,"BTC","deposit",2,"1000",{}]`,
			`[2,"USDT","deposit",3,"100000",{}]`, `[2,"BTC","deposit",4,"1000",{}]`, `[2,"ETH","deposit",5,"1000",{}]`} {
			if code, body := post(n.srv.Handler(), envelope("balance.update", c)); code != 200 || !strings.Contains(body, `"error":null`) {
				entryErr = fmt.Errorf("deposit %d: %d %s", i, code, body)
				return
			}
		}
		entryN = n
	})
	if entryErr != nil {
		tb.Fatal(entryErr)
	}
	return entryN
}

// check makes one call and verifies the reply and, on a refusal, the
// state hash.
func (n *entryNode) check(t testing.TB, name, params string) {
	before, err := n.node.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, body := post(n.srv.Handler(), envelope(name, params))
	if code != 200 {
		t.Fatalf("%s %s: HTTP %d %s", name, params, code, body)
	}
	var rep struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Result json.RawMessage `json:"result"`
		ID     *int64          `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.ID == nil || *rep.ID != 1 {
		t.Fatalf("%s %s: malformed reply %s (%v)", name, params, body, err)
	}
	if rep.Error == nil {
		if len(rep.Result) == 0 || string(rep.Result) == "null" && !nullable[name] {
			t.Fatalf("%s %s: no error and no result: %s", name, params, body)
		}
		return
	}
	allowed := entryCodes[name]
	if allowed == nil {
		allowed = []int{1}
	}
	if !slices.Contains(allowed, rep.Error.Code) {
		t.Fatalf("%s %s: code %d (%s); want one of %v", name, params, rep.Error.Code, rep.Error.Message, allowed)
	}
	after, err := n.node.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Fatalf("%s %s: refused with code %d but the state changed", name, params, rep.Error.Code)
	}
	n.mu.Lock()
	n.stats[name+" "+strconv.Itoa(rep.Error.Code)]++
	n.mu.Unlock()
}

// refused is how many calls the node has refused so far.
func (n *entryNode) refused() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	total := 0
	for _, c := range n.stats {
		total += c
	}
	return total
}

// TestMain stops the shared node, if one was started, and removes its
// directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if entryN != nil {
		entryN.node.Shutdown(context.Background())
		os.RemoveAll(entryN.dir)
	}
	os.Exit(code)
}

func FuzzEntryPoints(f *testing.F) {
	for i := range 64 {
		seed := make([]byte, 24)
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range seed {
			seed[j] = byte(r.IntN(256))
		}
		f.Add(seed)
	}
	names := fuzzgen.Names(entryTemplates)
	f.Fuzz(func(t *testing.T, in []byte) {
		n := startEntryNode(t)
		g := fuzzgen.New(in)
		for g.More() {
			name, params := g.Call(names, entryTemplates)
			n.check(t, name, params)
		}
	})
}

// TestEntryPoints is the short pass of FuzzEntryPoints run by make test:
// 3,000 generated calls from fixed seeds.
func TestEntryPoints(t *testing.T) {
	if len(entryTemplates) != len(methods) {
		t.Fatalf("entryTemplates covers %d methods; the method table has %d", len(entryTemplates), len(methods))
	}
	n := startEntryNode(t)
	names := fuzzgen.Names(entryTemplates)
	r := rand.New(rand.NewPCG(1, 2))
	calls := 0
	refusedBefore := n.refused() // the node is shared with FuzzEntryPoints' seeds
	for range 3000 {
		in := make([]byte, 24)
		for j := range in {
			in[j] = byte(r.IntN(256))
		}
		g := fuzzgen.New(in)
		name, params := g.Call(names, entryTemplates)
		n.check(t, name, params)
		calls++
		if t.Failed() {
			return
		}
	}
	refused := n.refused() - refusedBefore
	accepted := calls - refused
	// A generator that never gets past the argument checks tests little.
	if accepted < calls/20 || refused < calls/2 {
		t.Errorf("%d calls: %d accepted, %d refused; the generator is off balance", calls, accepted, refused)
	}
	t.Logf("%d calls: %d accepted, %d refused (by method and code: %v)", calls, accepted, refused, n.stats)
}
