package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/redis/go-redis/v9"
	"github.com/shopspring/decimal"
)

// update is one balance.update the load sent, with what came back.
type update struct {
	user     int
	asset    string
	business string
	id       uint64
	change   decimal.Decimal
	acked    bool
}

// killLoad is the record of everything a kill test sent.
type killLoad struct {
	mu        sync.Mutex
	updates   []*update // sent since the last check
	confirmed []*update // known applied
	applied   map[string]decimal.Decimal
	maxID     map[string]int64 // per market: the largest acknowledged order id
	orders    map[string][]int64
	nextBiz   uint64
	acks      int
	pause     time.Duration // each worker waits this long before each request (0: none)

	// The order options the load had acknowledged: stop orders (by id; new
	// since the last check, then checked), amends (by order id: the
	// smallest amount acknowledged, which the order's amount cannot exceed
	// since) and counts for the log.
	stops, stopsChecked map[int64]killStop
	amended             map[int64]decimal.Decimal
	armed, optionAcks   int
	triggered, held     int // of the stops checked, when first checked
}

// newKillLoad returns an empty load whose workers wait pause before each
// request.
func newKillLoad(pause time.Duration) *killLoad {
	return &killLoad{maxID: map[string]int64{}, orders: map[string][]int64{}, applied: map[string]decimal.Decimal{},
		stops: map[int64]killStop{}, stopsChecked: map[int64]killStop{}, amended: map[int64]decimal.Decimal{}, pause: pause}
}

// killStop is an acknowledged stop order.
type killStop struct {
	market string
	user   int
	side   int
	stop   decimal.Decimal
}

var killMarkets = []struct {
	name, stock, money string
	price              int
}{{"BTCUSDT", "BTC", "USDT", 100}, {"ETHUSDT", "ETH", "USDT", 50}, {"ETHBTC", "ETH", "BTC", 2}}

// rpc posts one call with its own client and reports the raw result, the
// error code (0: success) and whether an answer arrived at all.
func rpc(client *http.Client, url, method string, params ...any) (json.RawMessage, int, bool) {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"method": method, "params": params, "id": 1})
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, 0, false
	}
	defer resp.Body.Close()
	var env struct {
		Error  *rpcError       `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if json.NewDecoder(resp.Body).Decode(&env) != nil {
		return nil, 0, false
	}
	if env.Error != nil {
		return nil, env.Error.Code, true
	}
	return env.Result, 0, true
}

// worker sends a seeded random mix until stop closes.
func (l *killLoad) worker(url string, seed uint64, stop <-chan struct{}) {
	rng := rand.New(rand.NewPCG(seed, 99))
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			return
		default:
		}
		if l.pause > 0 {
			time.Sleep(l.pause)
		}
		user := 1 + rng.IntN(12)
		m := killMarkets[rng.IntN(len(killMarkets))]
		switch k := rng.IntN(10); {
		case k < 2:
			asset := []string{"BTC", "ETH", "USDT"}[rng.IntN(3)]
			change := decimal.NewFromInt(int64(1000 + rng.IntN(1000)))
			biz := "deposit"
			if k == 1 {
				biz, change = "withdraw", change.Div(decimal.NewFromInt(40)).Neg()
			}
			l.mu.Lock()
			l.nextBiz++
			u := &update{user: user, asset: asset, business: biz, id: l.nextBiz, change: change}
			l.updates = append(l.updates, u)
			l.mu.Unlock()
			_, code, ok := rpc(client, url, "balance.update", u.user, u.asset, u.business, u.id, u.change.String(), map[string]any{})
			if ok && code == 0 {
				l.mu.Lock()
				u.acked = true
				l.acks++
				l.mu.Unlock()
			}
			if !ok {
				return
			}
		case k < 8:
			side := 1 + rng.IntN(2)
			near := func(lo int) string { // lo/100 .. lo/100 + 0.09 of the market's price
				return decimal.New(int64(m.price*(lo+rng.IntN(10))), -2).StringFixed(2)
			}
			price := near(95)
			amount := strconv.Itoa(1 + rng.IntN(3))
			params := []any{user, m.name, side, amount, price, "0.002", "0.001", "kill"}
			method := "order.put_limit"
			var stop string
			switch rng.IntN(14) {
			case 0: // options beyond viabtc
				method = "order.put_limit_ex"
				params = append(params, map[string]any{
					"time_in_force": []string{"GTC", "IOC", "FOK"}[rng.IntN(3)],
					"stp":           []string{"none", "cancel_taker", "cancel_maker", "cancel_both"}[rng.IntN(4)],
				})
			case 1:
				if _, _, ok := rpc(client, url, "order.cancel_all", user, m.name, rng.IntN(3)); !ok {
					return
				}
				continue
			case 2, 3: // a stop-limit near the traded prices: held, refused (15), triggered later
				method, stop = "order.put_stop_limit", near(96)
				params = []any{user, m.name, side, amount, stop, near(95), "0.002", "0.001", "kill"}
			case 4: // a stop-market; a buy's amount is money
				method, stop = "order.put_stop_market", near(96)
				if side == 2 {
					amount = strconv.Itoa((1 + rng.IntN(3)) * m.price)
				}
				params = []any{user, m.name, side, amount, stop, "0.002", "kill"}
			case 5: // amend one of the user's newest orders (some are gone: code 10)
				l.mu.Lock()
				ids := l.orders[fmt.Sprint(user, m.name)]
				var id int64
				if len(ids) > 0 {
					id = ids[len(ids)-1-rng.IntN(min(len(ids), 3))]
				}
				l.mu.Unlock()
				if id == 0 {
					continue
				}
				to := decimal.RequireFromString([]string{"0.5", "1", "1.5", "2"}[rng.IntN(4)])
				_, code, ok := rpc(client, url, "order.amend", user, m.name, id, to.String())
				if !ok {
					return
				}
				if code == 0 {
					l.mu.Lock()
					l.acks++
					l.optionAcks++
					if a, seen := l.amended[id]; !seen || to.LessThan(a) {
						l.amended[id] = to
					}
					l.mu.Unlock()
				}
				continue
			case 6: // a dead-man's switch: off, or one or two seconds
				_, code, ok := rpc(client, url, "order.cancel_all_after", user, m.name, rng.IntN(3))
				if !ok {
					return
				}
				if code == 0 {
					l.mu.Lock()
					l.armed++
					l.mu.Unlock()
				}
				continue
			}
			res, code, ok := rpc(client, url, method, params...)
			if !ok {
				return
			}
			if code == 0 {
				var o struct {
					ID int64 `json:"id"`
				}
				json.Unmarshal(res, &o)
				l.mu.Lock()
				l.acks++
				if o.ID > l.maxID[m.name] {
					l.maxID[m.name] = o.ID
				}
				l.orders[fmt.Sprint(user, m.name)] = append(l.orders[fmt.Sprint(user, m.name)], o.ID)
				if stop != "" {
					l.optionAcks++
					l.stops[o.ID] = killStop{market: m.name, user: user, side: side, stop: decimal.RequireFromString(stop)}
				}
				l.mu.Unlock()
			}
		default:
			l.mu.Lock()
			ids := l.orders[fmt.Sprint(user, m.name)]
			var id int64
			if len(ids) > 0 {
				id = ids[rng.IntN(len(ids))]
			}
			l.mu.Unlock()
			if id == 0 {
				continue
			}
			if _, _, ok := rpc(client, url, "order.cancel", user, m.name, id); !ok {
				return
			}
		}
	}
}

// TestKill9 kills the real binary with SIGKILL at random moments under a
// concurrent load of deposits, withdrawals, orders (some with
// order.put_limit_ex options), stop-limit and stop-market orders, amends,
// cancels, cancel-alls and dead-man's switches, restarts it on the same
// data directory, and checks after every restart that every acknowledged
// balance update is present (re-sending it answers "repeat update"), that
// order ids are never handed out again, that every asset is conserved with
// frozen funds equal to the open orders' reservations (held stops
// included), and that every acknowledged stop order and amend survived
// (checkOptions).
// It runs on each journal backend: segment files, and MySQL (its own
// table) when BOURSE_TEST_MYSQL_DSN is set. BOURSE_KILL_ROUNDS sets the
// number of rounds per backend (default 10; `make soak` runs 100).
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv("BOURSE_KILL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	t.Run("files", func(t *testing.T) { kill9(t, rounds, nil, killRedis(t, 11)) })
	t.Run("mysql", func(t *testing.T) {
		kill9(t, rounds, []string{"-journal", testenv.MySQLJournal(t)}, killRedis(t, 12))
	})
}

// killRedis returns the arguments that keep market data in Redis database
// db (emptied first) when BOURSE_TEST_REDIS_ADDR is set, else none (market
// data then lives in memory with its checkpoint file).
func killRedis(t *testing.T, db int) []string {
	addr := os.Getenv(testenv.RedisVar)
	if addr == "" {
		return nil
	}
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redis %s db %d: %v", addr, db, err)
	}
	t.Cleanup(func() {
		c.FlushDB(context.Background())
		c.Close()
	})
	return []string{"-redis", fmt.Sprintf("redis://%s/%d", addr, db)}
}

// kill9 runs the rounds of TestKill9 with journal as extra server (and
// verify) arguments and more as extra server arguments.
func kill9(t *testing.T, rounds int, journal, more []string) {
	dataDir := filepath.Join(t.TempDir(), "data")
	load := newKillLoad(0)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kafka := startKafka(t)
	extra := append(append(append(append([]string{}, journal...), more...), "-kafka", kafka), strings.Fields(os.Getenv("BOURSE_KILL_ARGS"))...) // e.g. "-durability async" to see the test fail
	for round := 0; round < rounds; round++ {
		s := startIn(t, dataDir, extra...)
		if round > 0 {
			checkAfterRestart(t, s, load, round)
			checkOptions(t, s, load, round)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				load.worker(s.url, uint64(round*100+w), stop)
			}(w)
		}
		wait := time.Duration(150+rng.IntN(450)) * time.Millisecond
		time.Sleep(wait)
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		close(stop)
		wg.Wait()
		load.mu.Lock()
		t.Logf("round %d: killed after %s; %d acknowledged writes so far", round, wait, load.acks)
		load.mu.Unlock()
	}
	// Final restart: check, then stop cleanly and compare the live state
	// hash with an offline `bourse verify` of the same directory.
	s := startIn(t, dataDir, extra...)
	checkAfterRestart(t, s, load, rounds)
	checkOptions(t, s, load, rounds)
	checkFollowers(t, s, load, kafka)
	// No switch may fire between the live hash and the offline one.
	for _, m := range killMarkets {
		for _, user := range killUsers[1:] {
			if _, code, _ := rpc(http.DefaultClient, s.url, "order.cancel_all_after", user, m.name, 0); code != 0 {
				t.Fatalf("disarming user %d's switch in %s: code %d", user, m.name, code)
			}
		}
	}
	res, code, ok := rpc(http.DefaultClient, s.url, "server.state")
	if !ok || code != 0 {
		t.Fatalf("server.state: code %d ok %v", code, ok)
	}
	var st struct {
		LSN  uint64 `json:"lsn"`
		Hash string `json:"hash"`
	}
	json.Unmarshal(res, &st)
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	out, err := exec.Command(binary, append([]string{"verify", "-data-dir", dataDir}, journal...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bourse verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "hash:      "+st.Hash) || !strings.Contains(string(out), fmt.Sprintf("lsn:       %d\n", st.LSN)) {
		t.Fatalf("verify disagrees with the live node (lsn %d, hash %s):\n%s", st.LSN, st.Hash, out)
	}
	if load.acks < rounds*10 {
		t.Fatalf("only %d writes were acknowledged in %d rounds: the load did not run", load.acks, rounds)
	}
	t.Logf("order options acknowledged: %d stop orders (%d triggered, %d still held, the rest cancelled when checked), %d orders amended, %d dead-man's switches set",
		len(load.stopsChecked), load.triggered, load.held, len(load.amended), load.armed)
	if load.optionAcks == 0 {
		t.Fatalf("no stop order or amend was acknowledged in %d rounds", rounds)
	}
}

// serverLSN returns the journal's last LSN (server.state).
func serverLSN(t *testing.T, client *http.Client, url string) uint64 {
	t.Helper()
	res, code, ok := rpc(client, url, "server.state")
	if !ok || code != 0 {
		t.Fatalf("server.state: code %d ok %v", code, ok)
	}
	var st struct {
		LSN uint64 `json:"lsn"`
	}
	json.Unmarshal(res, &st)
	return st.LSN
}

// killOrder is an open or finished order as order.pending and
// order.finished_detail print it.
type killOrder struct {
	ID        int64           `json:"id"`
	User      int             `json:"user"`
	Type      int             `json:"type"`
	Side      int             `json:"side"`
	Price     decimal.Decimal `json:"price"`
	Amount    decimal.Decimal `json:"amount"`
	Left      decimal.Decimal `json:"left"`
	StopPrice decimal.Decimal `json:"stop_price"`
	Triggered bool            `json:"triggered"`
	market    string
}

// openOrders lists every open order (resting or a held stop) of the load's
// users in every market.
func openOrders(t *testing.T, client *http.Client, url string) map[int64]killOrder {
	t.Helper()
	open := map[int64]killOrder{}
	for _, m := range killMarkets {
		for _, user := range killUsers[1:] {
			for off := 0; ; off += 100 {
				res, code, _ := rpc(client, url, "order.pending", user, m.name, off, 100)
				if code != 0 {
					t.Fatalf("order.pending: code %d", code)
				}
				var page struct {
					Total   int         `json:"total"`
					Records []killOrder `json:"records"`
				}
				json.Unmarshal(res, &page)
				for _, o := range page.Records {
					o.market = m.name
					open[o.ID] = o
				}
				if off+100 >= page.Total {
					break
				}
			}
		}
	}
	return open
}

// checkReservations compares asset.summary with deposits and with what
// the open orders reserve: an ask its stock left, a limit bid price × left,
// a held stop-market bid its money (left is its unspent money). It returns
// the differences.
func checkReservations(t *testing.T, client *http.Client, url string, deposits map[string]decimal.Decimal) []string {
	t.Helper()
	res, code, _ := rpc(client, url, "asset.summary")
	if code != 0 {
		t.Fatalf("asset.summary: code %d", code)
	}
	var rows []struct {
		Name   string `json:"name"`
		Total  string `json:"total_balance"`
		Freeze string `json:"freeze_balance"`
	}
	json.Unmarshal(res, &rows)
	stock, money := map[string]string{}, map[string]string{}
	for _, m := range killMarkets {
		stock[m.name], money[m.name] = m.stock, m.money
	}
	reserved := map[string]decimal.Decimal{}
	for _, o := range openOrders(t, client, url) {
		switch {
		case o.Side == 1:
			reserved[stock[o.market]] = reserved[stock[o.market]].Add(o.Left)
		case o.Type == 1:
			reserved[money[o.market]] = reserved[money[o.market]].Add(o.Left.Mul(o.Price))
		default:
			reserved[money[o.market]] = reserved[money[o.market]].Add(o.Left)
		}
	}
	var bad []string
	for _, r := range rows {
		total, freeze := decimal.RequireFromString(r.Total), decimal.RequireFromString(r.Freeze)
		if !total.Equal(deposits[r.Name]) {
			bad = append(bad, fmt.Sprintf("%s: Σ balances %s != deposits - withdrawals %s", r.Name, total, deposits[r.Name]))
		}
		if !freeze.Equal(reserved[r.Name]) {
			bad = append(bad, fmt.Sprintf("%s: frozen %s != open orders' reservations %s", r.Name, freeze, reserved[r.Name]))
		}
	}
	return bad
}

// checkOptions checks after a restart that what the load's order options
// got acknowledged survived:
//
//   - every acknowledged stop order is open (listed by order.pending with
//     its stop price; if still held, the market's last price has not
//     reached it, or it would have triggered) or finished and in the
//     order history (order.finished_detail, with its stop price);
//   - every acknowledged amend is kept: the order, open or finished, has
//     at most the amount acknowledged.
//
// Stops new since the last check are all checked, older ones by a sample.
func checkOptions(t *testing.T, s *server, l *killLoad, round int) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	l.mu.Lock()
	defer l.mu.Unlock()
	open := openOrders(t, client, s.url)
	waitFollowers(t, s) // the order history holds every order finished before the listing
	last := map[string]decimal.Decimal{}
	for _, m := range killMarkets {
		res, code, _ := rpc(client, s.url, "market.last", m.name)
		var p string
		if code != 0 || json.Unmarshal(res, &p) != nil {
			t.Fatalf("market.last %s: code %d %s", m.name, code, res)
		}
		last[m.name] = decimal.RequireFromString(p)
	}
	finished := func(id int64) (killOrder, bool) {
		res, code, _ := rpc(client, s.url, "order.finished_detail", id)
		if code != 0 {
			t.Fatalf("order.finished_detail %d: code %d", id, code)
		}
		var o *killOrder
		json.Unmarshal(res, &o)
		if o == nil {
			return killOrder{}, false
		}
		return *o, true
	}
	check := l.stops
	older := make([]int64, 0, len(l.stopsChecked))
	for id := range l.stopsChecked {
		older = append(older, id)
	}
	slices.Sort(older)
	for i := 0; i < min(len(older), 200); i++ {
		id := older[(i*7919+round*104729)%len(older)]
		check[id] = l.stopsChecked[id]
	}
	for id, st := range check {
		o, isOpen := open[id]
		if !isOpen {
			var ok bool
			if o, ok = finished(id); !ok {
				t.Errorf("round %d: acknowledged stop order %d (user %d %s, stop %s) is neither open nor in the order history", round, id, st.user, st.market, st.stop)
				continue
			}
		}
		if !o.StopPrice.Equal(st.stop) || o.User != st.user {
			t.Errorf("round %d: stop order %d: user %d stop %s; acknowledged user %d stop %s", round, id, o.User, o.StopPrice, st.user, st.stop)
		}
		if _, seen := l.stopsChecked[id]; !seen {
			if o.Triggered {
				l.triggered++
			} else if isOpen {
				l.held++
			}
		}
		if p := last[st.market]; isOpen && !o.Triggered && p.IsPositive() &&
			(st.side == 2 && !p.LessThan(st.stop) || st.side == 1 && !p.GreaterThan(st.stop)) {
			t.Errorf("round %d: stop order %d (side %d, stop %s) still held though %s last traded at %s", round, id, st.side, st.stop, st.market, p)
		}
		l.stopsChecked[id] = st
	}
	l.stops = map[int64]killStop{}
	for id, amount := range l.amended {
		o, ok := open[id]
		if !ok {
			if o, ok = finished(id); !ok {
				t.Errorf("round %d: amended order %d is neither open nor in the order history", round, id)
				continue
			}
		}
		if o.Amount.GreaterThan(amount) {
			t.Errorf("round %d: order %d has amount %s; an amend to %s was acknowledged", round, id, o.Amount, amount)
		}
	}
}

func checkAfterRestart(t *testing.T, s *server, l *killLoad, round int) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	l.mu.Lock()
	defer l.mu.Unlock()
	// 1. Every acknowledged update is durable; settle the fate of every
	// unacknowledged one by re-sending it (idempotent), so that the exact
	// applied set is known. Updates confirmed in earlier rounds are
	// re-checked by a sample (all of them in the first rounds), which keeps
	// a 100-round soak linear.
	check := l.updates
	if n := len(l.confirmed); n <= 300 {
		check = append(check, l.confirmed...)
	} else {
		for i := 0; i < 300; i++ {
			check = append(check, l.confirmed[(i*7919+round*104729)%n])
		}
	}
	for i, u := range check {
		fresh := i < len(l.updates)
		_, code, ok := rpc(client, s.url, "balance.update", u.user, u.asset, u.business, u.id, u.change.String(), map[string]any{})
		if !ok {
			t.Fatalf("round %d: no answer after restart", round)
		}
		switch {
		case u.acked && code != 10:
			t.Fatalf("round %d: acknowledged %s %d of user %d lost (re-send answered code %d)", round, u.business, u.id, u.user, code)
		case !fresh:
		case code == 0 || code == 10:
			u.acked = true
			l.applied[u.asset] = l.applied[u.asset].Add(u.change)
			l.confirmed = append(l.confirmed, u)
		case code == 11 && u.change.IsNegative():
			// never applied: the withdrawal does not fit; forget it.
		default:
			t.Fatalf("round %d: re-sending update %d answered code %d", round, u.id, code)
		}
	}
	l.updates = l.updates[:0]
	// 2. Conservation and frozen = reservations, on a still state: a
	// dead-man's switch armed before the kill may fire at any tick.
	for try := 0; ; try++ {
		lsn := serverLSN(t, client, s.url)
		time.Sleep(20 * time.Millisecond) // what a record appended before lsn settles reaches the shards
		bad := checkReservations(t, client, s.url, l.applied)
		if len(bad) == 0 {
			break
		}
		if serverLSN(t, client, s.url) == lsn || try == 20 {
			for _, b := range bad {
				t.Errorf("round %d: %s", round, b)
			}
			break
		}
	}
	// 3. Order ids are never handed out again.
	for _, m := range killMarkets {
		res, code, _ := rpc(client, s.url, "order.put_limit", 1, m.name, 2, "1", "0.01", "0", "0", "probe")
		if code == 10 {
			continue // user 1 has no money in this market yet
		}
		if code != 0 {
			t.Fatalf("round %d: probe order in %s: code %d", round, m.name, code)
		}
		var o struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(res, &o)
		if o.ID <= l.maxID[m.name] {
			t.Fatalf("round %d: %s handed out order id %d again (acknowledged up to %d)", round, m.name, o.ID, l.maxID[m.name])
		}
		rpc(client, s.url, "order.cancel", 1, m.name, o.ID)
	}
}
