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
			price := decimal.NewFromInt(int64(m.price)).Mul(decimal.NewFromFloat(0.95 + 0.01*float64(rng.IntN(10)))).StringFixed(2)
			params := []any{user, m.name, side, strconv.Itoa(1 + rng.IntN(3)), price, "0.002", "0.001", "kill"}
			method := "order.put_limit"
			switch rng.IntN(8) {
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
// order.put_limit_ex options), cancels and cancel-alls, restarts it
// on the same data directory, and checks after every restart that every
// acknowledged balance update is present (re-sending it answers "repeat
// update"), that order ids are never handed out again, and that every asset
// is conserved with frozen funds equal to the resting orders' reservations.
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
	load := &killLoad{maxID: map[string]int64{}, orders: map[string][]int64{}, applied: map[string]decimal.Decimal{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	kafka := startKafka(t)
	extra := append(append(append(append([]string{}, journal...), more...), "-kafka", kafka), strings.Fields(os.Getenv("BOURSE_KILL_ARGS"))...) // e.g. "-durability async" to see the test fail
	for round := 0; round < rounds; round++ {
		s := startIn(t, dataDir, extra...)
		if round > 0 {
			checkAfterRestart(t, s, load, round)
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
	checkFollowers(t, s, load, kafka)
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
	deposits := l.applied
	// 2. Conservation and frozen = reservations.
	res, code, _ := rpc(client, s.url, "asset.summary")
	if code != 0 {
		t.Fatalf("asset.summary: code %d", code)
	}
	var rows []struct {
		Name   string `json:"name"`
		Total  string `json:"total_balance"`
		Freeze string `json:"freeze_balance"`
	}
	json.Unmarshal(res, &rows)
	reserved := map[string]decimal.Decimal{}
	for _, m := range killMarkets {
		for side := 1; side <= 2; side++ {
			for off := 0; ; off += 100 {
				res, code, _ := rpc(client, s.url, "order.book", m.name, side, off, 100)
				if code != 0 {
					t.Fatalf("order.book: code %d", code)
				}
				var page struct {
					Total  int `json:"total"`
					Orders []struct {
						Price string `json:"price"`
						Left  string `json:"left"`
					} `json:"orders"`
				}
				json.Unmarshal(res, &page)
				for _, o := range page.Orders {
					left := decimal.RequireFromString(o.Left)
					if side == 1 {
						reserved[m.stock] = reserved[m.stock].Add(left)
					} else {
						reserved[m.money] = reserved[m.money].Add(left.Mul(decimal.RequireFromString(o.Price)))
					}
				}
				if off+100 >= page.Total {
					break
				}
			}
		}
	}
	for _, r := range rows {
		total, freeze := decimal.RequireFromString(r.Total), decimal.RequireFromString(r.Freeze)
		if !total.Equal(deposits[r.Name]) {
			t.Errorf("round %d: %s: Σ balances %s != deposits - withdrawals %s", round, r.Name, total, deposits[r.Name])
		}
		if !freeze.Equal(reserved[r.Name]) {
			t.Errorf("round %d: %s: frozen %s != resting orders' reservations %s", round, r.Name, freeze, reserved[r.Name])
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
