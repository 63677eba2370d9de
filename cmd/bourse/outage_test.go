package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Redis databases of TestOutage (TestKill9 uses 11 and 12).
const (
	outageMarketDB = 13
	outageAlertDB  = 14
)

// outageHang: BOURSE_OUTAGE_MODE=hang makes each outage a Proxy.Hang (a
// silent partition) instead of a Cut.
var outageHang = os.Getenv("BOURSE_OUTAGE_MODE") == "hang"

// outagePhase is one outage: the proxies cut together and the journal
// followers whose sinks are behind them.
type outagePhase struct {
	name      string
	proxies   []*testenv.Proxy
	followers []string
	// mustFail: the outage lasts until every follower has failed at least
	// once, however long that takes (else it lasts the set duration).
	mustFail bool
}

// outageResult is what one outage measured.
type outageResult struct {
	phase      string
	length     time.Duration            // cut → restore
	firstError map[string]time.Duration // follower → cut → its first failed attempt
	acks       int                      // writes acknowledged while the services were cut
	failed     []string                 // followers that failed during the outage
	backlog    uint64                   // records the slowest cut follower lacked at restore
	catchUp    time.Duration            // restore → every cut follower holds the LSN of the restore
	errors     map[string]int           // follower → failed attempts during the outage
	alerts     map[string]int           // follower → error-level alerts naming it
	totalAlert int
}

// TestOutage runs the real binary with its three external sinks — history
// in MariaDB, market data in Redis, events to a Kafka-protocol broker
// (kfake, in process) — each behind a TCP proxy the test controls
// (testenv.Proxy), under the concurrent load of TestKill9 (deposits,
// withdrawals, orders, cancels). The services themselves are never
// stopped: MariaDB and Redis are shared by every test package, which go
// test runs in parallel. An outage is simulated at the proxy instead: it
// closes every open connection to the service and closes each new one as
// soon as it is accepted; "start again" is the proxy forwarding again.
// Alerts go to Redis directly (not through a proxy), to the list
// alert:message of database 14; market data is in database 13.
//
// It cuts MariaDB, then Redis, then Kafka, then all three at once,
// BOURSE_OUTAGE_ROUNDS times (default 1; `make outage` runs 10). Each
// outage lasts BOURSE_OUTAGE_DURATION (default 2s); the MariaDB, Redis and
// "all three" outages last longer if need be, until every cut follower has
// failed at least once. The Kafka publisher absorbs an outage of a few
// seconds with its own retries (10 per batch, with metadata refreshes:
// 22-30 s here) without failing, so the Kafka-only outage shows that
// case and the "all three" outage, as long as that, the failure and its
// alert. With BOURSE_OUTAGE_MODE=hang the proxies Hang instead of Cut — a
// silent partition: connections stay open and nothing moves until the
// restore — and no follower is required to fail (a client without a read
// timeout just waits); everything else is checked the same. The test
// checks that
//
//   - matching continues: writes are acknowledged during every outage;
//   - the cut followers fail (server.state errors grow; the Kafka-only
//     outage may pass without) and each failure reaches the alert list,
//     naming the follower;
//   - after the restore every follower catches up with the journal;
//   - at the end, with the load stopped, nothing is lost or duplicated:
//     every acknowledged balance.update answers "repeat update", every
//     applied one is in balance history exactly once, the deal ids of user
//     deals, market.deals and the Kafka deals topic are the same set (Kafka
//     repeats only exact re-sends), k-line volume = deal amounts, assets
//     are conserved (checkAfterRestart and checkFollowers of TestKill9);
//   - /metrics' bourse_follower_errors_total agrees with server.state.
func TestOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the real binary with MariaDB, Redis and Kafka")
	}
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("BOURSE_OUTAGE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	outage := 2 * time.Second
	if v, err := time.ParseDuration(os.Getenv("BOURSE_OUTAGE_DURATION")); err == nil && v > 0 {
		outage = v
	}
	dsn := testenv.MySQLDatabase(t)
	redisAddr := testenv.RedisAddr(t)

	mcfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	mysqlProxy := testenv.StartProxy(t, mcfg.Addr)
	redisProxy := testenv.StartProxy(t, redisAddr)
	kafkaAddr, kafkaProxy := startKafkaBehindProxy(t)
	flushRedis(t, redisAddr, outageMarketDB)
	alerts := flushRedis(t, redisAddr, outageAlertDB)

	s := startBinary(t,
		"-history", testenv.WithAddr(t, dsn, mysqlProxy.Addr()),
		"-redis", fmt.Sprintf("redis://%s/%d", redisProxy.Addr(), outageMarketDB),
		"-kafka", kafkaAddr,
		"-alert-redis", fmt.Sprintf("redis://%s/%d", redisAddr, outageAlertDB))
	t.Cleanup(func() { // before the server stops (cleanups run last first): let it drain
		for _, p := range []*testenv.Proxy{mysqlProxy, redisProxy, kafkaProxy} {
			p.Restore()
		}
	})
	phases := []outagePhase{
		{"mysql", []*testenv.Proxy{mysqlProxy}, []string{"history"}, true},
		{"redis", []*testenv.Proxy{redisProxy}, []string{"marketdata"}, true},
		{"kafka", []*testenv.Proxy{kafkaProxy}, []string{"events"}, false},
		{"all", []*testenv.Proxy{mysqlProxy, redisProxy, kafkaProxy}, []string{"history", "marketdata", "events"}, true},
	}

	// Paced (~100 writes/s) so that a long run stays within the 10,000
	// recent deals per market that market.deals keeps (checkFollowers).
	load := newKillLoad(30 * time.Millisecond)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			load.worker(s.url, uint64(1000+w), stop)
		}(w)
	}
	stopLoad := func() {
		if stop != nil {
			close(stop)
			wg.Wait()
			stop = nil
		}
	}
	defer stopLoad()

	waitFollowers(t, s)
	var results []outageResult
	for round := 0; round < rounds; round++ {
		for _, ph := range phases {
			time.Sleep(300 * time.Millisecond) // traffic reaches the sinks first
			results = append(results, cutAndRestore(t, s, load, alerts, ph, outage))
			r := results[len(results)-1]
			t.Logf("round %d %-5s: %d acks during a %s outage, first errors after %v, errors %v, alerts %v, backlog %d records, caught up in %s",
				round, r.phase, r.acks, r.length.Round(time.Millisecond), r.firstError, r.errors, r.alerts, r.backlog, r.catchUp.Round(time.Millisecond))
		}
	}
	stopLoad()

	// Nothing lost or duplicated.
	checkAfterRestart(t, s, load, 0) // on the live node: settles every update's fate
	checkFollowers(t, s, load, kafkaAddr)
	st := followerState(t, s)
	metrics := followerErrorMetrics(t, s)
	for name, f := range st.Followers {
		if metrics[name] != f.Errors {
			t.Errorf("follower %s: /metrics counts %d errors, server.state %d", name, metrics[name], f.Errors)
		}
	}
	summarizeOutages(t, results, load.acks, mysqlProxy, redisProxy, kafkaProxy)
}

// cutAndRestore runs one outage of ph and measures it.
func cutAndRestore(t *testing.T, s *server, load *killLoad, alerts *redis.Client, ph outagePhase, outage time.Duration) outageResult {
	t.Helper()
	ctx := context.Background()
	r := outageResult{phase: ph.name, errors: map[string]int{}, alerts: map[string]int{}, firstError: map[string]time.Duration{}}
	before := followerState(t, s)
	alertsBefore, err := alerts.LLen(ctx, "alert:message").Result()
	if err != nil {
		t.Fatalf("alert list: %v", err)
	}
	load.mu.Lock()
	acks := load.acks
	load.mu.Unlock()

	for _, p := range ph.proxies {
		if outageHang {
			p.Hang()
		} else {
			p.Cut()
		}
	}
	cut := time.Now()
	// The outage lasts outage, and if ph.mustFail (and the proxies cut)
	// until every cut follower has failed: a sink's client may absorb a
	// short outage by retrying (the Kafka publisher retries a batch 10
	// times).
	for {
		during := followerState(t, s)
		failed := true
		var errs []string
		for _, name := range ph.followers {
			f, ok := during.Followers[name]
			if !ok {
				t.Fatalf("server.state lists no follower %q: %+v", name, during.Followers)
			}
			if f.Errors > before.Followers[name].Errors {
				if _, seen := r.firstError[name]; !seen {
					r.firstError[name] = time.Since(cut)
				}
				errs = append(errs, name)
			} else {
				failed = false
			}
		}
		if time.Since(cut) >= outage && (failed || !ph.mustFail || outageHang) {
			for _, name := range ph.followers {
				r.errors[name] = int(during.Followers[name].Errors - before.Followers[name].Errors)
			}
			r.failed = errs
			break
		}
		if time.Since(cut) > 90*time.Second {
			t.Fatalf("%s outage: after 90 s some of %v reported no error: %+v", ph.name, ph.followers, during.Followers)
		}
		time.Sleep(20 * time.Millisecond)
	}
	load.mu.Lock()
	r.acks = load.acks - acks
	load.mu.Unlock()
	for _, p := range ph.proxies {
		p.Restore()
	}
	restored := time.Now()
	r.length = restored.Sub(cut)
	at := followerState(t, s)

	if r.acks == 0 {
		t.Errorf("%s outage: no write was acknowledged in %s: matching stopped", ph.name, r.length)
	}
	for _, name := range ph.followers {
		r.backlog = max(r.backlog, at.LSN-min(at.LSN, at.Followers[name].Cursor))
	}
	// Catch-up: every cut follower holds the LSN of the restore.
	for deadline := restored.Add(60 * time.Second); ; {
		cur := followerState(t, s)
		done := true
		for _, name := range ph.followers {
			done = done && cur.Followers[name].Cursor >= at.LSN
		}
		if done {
			r.catchUp = time.Since(restored)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s outage: followers %v did not reach LSN %d within 60s of the restore: %+v", ph.name, ph.followers, at.LSN, cur.Followers)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The alert path: error-level records naming each cut follower reach
	// the Redis list (pushed asynchronously: wait a little).
	for deadline := time.Now().Add(10 * time.Second); ; {
		list, err := alerts.LRange(ctx, "alert:message", alertsBefore, -1).Result()
		if err != nil {
			t.Fatalf("alert list: %v", err)
		}
		r.totalAlert = len(list)
		missing := false
		for _, name := range r.failed {
			n := 0
			for _, a := range list {
				if strings.Contains(a, "journal follower") && strings.Contains(a, " follower="+name+" ") {
					n++
				}
			}
			r.alerts[name] = n
			missing = missing || n == 0
		}
		if !missing {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s outage: followers %v failed, but the alerts since the cut do not name each: %q", ph.name, r.failed, list)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

// followerStatus is server.state's answer.
type followerStatus struct {
	LSN       uint64 `json:"lsn"`
	Followers map[string]struct {
		Cursor uint64 `json:"cursor"`
		Lag    uint64 `json:"lag"`
		Errors int64  `json:"errors"`
	} `json:"followers"`
}

func followerState(t *testing.T, s *server) followerStatus {
	t.Helper()
	res, code, ok := rpc(http.DefaultClient, s.url, "server.state")
	if !ok || code != 0 {
		t.Fatalf("server.state: code %d ok %v", code, ok)
	}
	var st followerStatus
	if err := json.Unmarshal(res, &st); err != nil {
		t.Fatalf("server.state %s: %v", res, err)
	}
	return st
}

var followerErrorsLine = regexp.MustCompile(`^bourse_follower_errors_total\{follower="([^"]+)"\} (\d+)$`)

// followerErrorMetrics reads bourse_follower_errors_total from /metrics.
func followerErrorMetrics(t *testing.T, s *server) map[string]int64 {
	t.Helper()
	resp, err := http.Get(s.url + "metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := followerErrorsLine.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
		}
	}
	if len(out) == 0 {
		t.Fatal("/metrics has no bourse_follower_errors_total")
	}
	return out
}

// flushRedis empties database db of the Redis at addr now and when the test
// ends, and returns a client of it.
func flushRedis(t *testing.T, addr string, db int) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("redis %s db %d: %v", addr, db, err)
	}
	t.Cleanup(func() {
		c.FlushDB(context.Background())
		c.Close()
	})
	return c
}

// advertisedListener is kfake's listener reporting the proxy's address, so
// that the broker advertises the proxy in its metadata and clients
// reconnect through it too.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

// startKafkaBehindProxy is startKafka with the broker behind a proxy: it
// returns the address clients use (the proxy's) and the proxy.
func startKafkaBehindProxy(t *testing.T) (string, *testenv.Proxy) {
	t.Helper()
	var p *testenv.Proxy
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "balances", "orders", "deals"),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			if p != nil {
				return nil, fmt.Errorf("kfake: one broker only")
			}
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			if p, err = testenv.NewProxy(ln.Addr().String()); err != nil {
				ln.Close()
				return nil, err
			}
			addr, err := net.ResolveTCPAddr("tcp", p.Addr())
			if err != nil {
				ln.Close()
				p.Close()
				return nil, err
			}
			return advertisedListener{Listener: ln, addr: addr}, nil
		}))
	if err != nil {
		if p != nil {
			p.Close()
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		p.Close()
	})
	if got := c.ListenAddrs()[0]; got != p.Addr() {
		t.Fatalf("kfake advertises %s, not its proxy %s", got, p.Addr())
	}
	return p.Addr(), p
}

// summarizeOutages logs the figures RELIABILITY.md records.
func summarizeOutages(t *testing.T, results []outageResult, acks int, proxies ...*testenv.Proxy) {
	t.Helper()
	byPhase := map[string][]outageResult{}
	var names []string
	for _, r := range results {
		if byPhase[r.phase] == nil {
			names = append(names, r.phase)
		}
		byPhase[r.phase] = append(byPhase[r.phase], r)
	}
	t.Logf("outages survived: %d; writes acknowledged in all: %d", len(results), acks)
	for _, name := range names {
		rs := byPhase[name]
		var ackSum int
		var backlogMax uint64
		var ups, lengths, firsts []time.Duration
		errs, alerts := 0, 0
		for _, r := range rs {
			lengths = append(lengths, r.length)
			for _, d := range r.firstError {
				firsts = append(firsts, d)
			}
			ackSum += r.acks
			backlogMax = max(backlogMax, r.backlog)
			ups = append(ups, r.catchUp)
			for _, n := range r.errors {
				errs += n
			}
			for _, n := range r.alerts {
				alerts += n
			}
		}
		t.Logf("  %-5s ×%d: outage %s; first follower error after %s; acks during outages min/mean %d/%d; backlog max %d records; catch-up %s; follower errors %d, follower alerts %d",
			name, len(rs), spread(lengths), spread(firsts), minAcks(rs), ackSum/len(rs), backlogMax, spread(ups), errs, alerts)
	}
	for i, p := range proxies {
		t.Logf("  proxy %d (%s): %+v", i, p.Target(), p.Stats())
	}
}

// spread formats durations as "median (min–max)".
func spread(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("median %s (%s–%s)", r(ds[len(ds)/2]), r(ds[0]), r(ds[len(ds)-1]))
}

func minAcks(rs []outageResult) int {
	m := rs[0].acks
	for _, r := range rs[1:] {
		m = min(m, r.acks)
	}
	return m
}
