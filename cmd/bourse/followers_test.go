package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/shopspring/decimal"
	"github.com/twmb/franz-go/pkg/kfake"
)

// killUsers are the accounts the kill load touches: its users and the fee
// account.
var killUsers = func() []int {
	u := []int{0}
	for i := 1; i <= 12; i++ {
		u = append(u, i)
	}
	return u
}()

// startKafka runs an in-process Kafka-protocol broker for the binary to
// publish to; it outlives the binary's restarts.
func startKafka(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "balances", "orders", "deals"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// waitFollowers waits until every journal follower of s has stored the
// journal's last record.
func waitFollowers(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, code, ok := rpc(http.DefaultClient, s.url, "server.state")
		if !ok || code != 0 {
			t.Fatalf("server.state: code %d ok %v", code, ok)
		}
		var st struct {
			LSN       uint64 `json:"lsn"`
			Followers map[string]struct {
				Cursor uint64 `json:"cursor"`
				Lag    uint64 `json:"lag"`
			} `json:"followers"`
		}
		json.Unmarshal(res, &st)
		done := len(st.Followers) > 0
		for _, f := range st.Followers {
			done = done && f.Cursor == st.LSN
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("followers did not catch up with LSN %d: %s", st.LSN, res)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// page calls a paged readhistory method (params, then offset and limit
// appended) until a page comes back short, and returns every record.
func page(t *testing.T, s *server, method string, params ...any) []json.RawMessage {
	t.Helper()
	var all []json.RawMessage
	for off := 0; ; off += 100 {
		res, code, ok := rpc(http.DefaultClient, s.url, method, append(append([]any{}, params...), off, 100)...)
		if !ok || code != 0 {
			t.Fatalf("%s %v offset %d: code %d ok %v", method, params, off, code, ok)
		}
		var p struct {
			Records []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(res, &p); err != nil {
			t.Fatalf("%s: %v in %s", method, err, res)
		}
		all = append(all, p.Records...)
		if len(p.Records) < 100 {
			return all
		}
	}
}

// checkFollowers checks, after the kill rounds, what the followers stored
// against each other and against what the load knows was applied:
//
//   - balance history: every applied balance.update appears exactly once
//     (by its business id), no other; per account and asset the changes
//     sum to the newest row's balance;
//   - deals: every deal appears in exactly two user-deal rows (one per
//     side), and the deal ids in user deals, market.deals and the Kafka
//     deals topic are the same set; the day k-lines' volume is the sum of
//     the deals' amounts;
//   - Kafka: a message is repeated only as an exact re-send of its LSN.
func checkFollowers(t *testing.T, s *server, l *killLoad, kafka string) {
	t.Helper()
	waitFollowers(t, s)
	l.mu.Lock()
	applied := map[uint64]*update{}
	for _, u := range l.confirmed {
		applied[u.id] = u
	}
	l.mu.Unlock()

	// Balance history.
	seen := map[uint64]bool{}
	rows := 0
	for _, user := range killUsers[1:] { // balance.history refuses user 0 (viabtc)
		for _, asset := range []string{"BTC", "ETH", "USDT"} {
			recs := page(t, s, "balance.history", user, asset, "", 0, 0)
			rows += len(recs)
			sum := decimal.Zero
			var newest decimal.Decimal
			for i, raw := range recs {
				var r struct {
					Business string          `json:"business"`
					Change   decimal.Decimal `json:"change"`
					Balance  decimal.Decimal `json:"balance"`
					Detail   struct {
						ID uint64 `json:"id"`
					} `json:"detail"`
				}
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatalf("balance.history record %s: %v", raw, err)
				}
				if i == 0 {
					newest = r.Balance
				}
				sum = sum.Add(r.Change)
				if r.Business == "trade" {
					continue
				}
				u := applied[r.Detail.ID]
				switch {
				case u == nil:
					t.Errorf("balance history has %s %d (user %d %s) which was never applied", r.Business, r.Detail.ID, user, asset)
				case seen[r.Detail.ID]:
					t.Errorf("balance history has %s %d twice", r.Business, r.Detail.ID)
				case u.user != user || u.asset != asset || !u.change.Equal(r.Change):
					t.Errorf("balance history row of update %d: user %d %s %s; sent user %d %s %s", r.Detail.ID, user, asset, r.Change, u.user, u.asset, u.change)
				}
				seen[r.Detail.ID] = true
			}
			if len(recs) > 0 && !sum.Equal(newest) {
				t.Errorf("user %d %s: history changes sum to %s; newest balance %s", user, asset, sum, newest)
			}
		}
	}
	for id, u := range applied {
		if !seen[id] {
			t.Errorf("applied %s %d of user %d is missing from balance history", u.business, id, u.user)
		}
	}

	// Deals, three ways.
	userDeals := map[int64]int{}
	marketDeals := map[int64]bool{}
	for _, m := range killMarkets {
		for _, user := range killUsers[1:] {
			for _, raw := range page(t, s, "market.user_deals", user, m.name) {
				var r struct {
					ID int64 `json:"id"`
				}
				json.Unmarshal(raw, &r)
				userDeals[r.ID]++
			}
		}
		res, code, _ := rpc(http.DefaultClient, s.url, "market.deals", m.name, 10000, 0)
		if code != 0 {
			t.Fatalf("market.deals %s: code %d", m.name, code)
		}
		var deals []struct {
			ID     int64           `json:"id"`
			Amount decimal.Decimal `json:"amount"`
		}
		json.Unmarshal(res, &deals)
		if len(deals) >= 10000 {
			t.Fatalf("%s: %d deals: more than market.deals keeps; shorten the test", m.name, len(deals))
		}
		volume := decimal.Zero
		for _, d := range deals {
			if marketDeals[d.ID] {
				t.Errorf("market.deals %s lists deal %d twice", m.name, d.ID)
			}
			marketDeals[d.ID] = true
			volume = volume.Add(d.Amount)
		}
		res, code, _ = rpc(http.DefaultClient, s.url, "market.kline", m.name, 1, time.Now().Unix()+86400, 86400)
		if code != 0 {
			t.Fatalf("market.kline %s: code %d", m.name, code)
		}
		var klines [][]any
		json.Unmarshal(res, &klines)
		kvol := decimal.Zero
		for _, k := range klines {
			if len(k) != 8 {
				t.Fatalf("k-line %v: want 8 elements", k)
			}
			v, _ := decimal.NewFromString(fmt.Sprint(k[5]))
			kvol = kvol.Add(v)
		}
		if !kvol.Equal(volume) {
			t.Errorf("%s: day k-lines' volume %s; the deals' amounts sum to %s", m.name, kvol, volume)
		}
	}
	for id, n := range userDeals {
		if n != 2 {
			t.Errorf("deal %d has %d user-deal rows; want 2", id, n)
		}
		if !marketDeals[id] {
			t.Errorf("deal %d is in user deals, not in market.deals", id)
		}
	}
	for id := range marketDeals {
		if userDeals[id] == 0 {
			t.Errorf("deal %d is in market.deals, not in user deals", id)
		}
	}

	// Kafka.
	kafkaDeals := consumeDeals(t, kafka)
	for id := range marketDeals {
		if !kafkaDeals[id] {
			t.Errorf("deal %d was never published to Kafka", id)
		}
	}
	for id := range kafkaDeals {
		if !marketDeals[id] {
			t.Errorf("Kafka has deal %d which market data does not", id)
		}
	}
	if len(applied) == 0 || len(marketDeals) == 0 || rows == 0 {
		t.Fatalf("nothing to check: %d updates applied, %d deals, %d history rows", len(applied), len(marketDeals), rows)
	}
	t.Logf("followers: %d balance history rows, %d deals (%d in Kafka), %d updates", rows, len(marketDeals), len(kafkaDeals), len(applied))
}

// consumeDeals reads the whole deals topic and returns the deal ids. A
// message repeated must be an exact re-send: same LSN, same bytes.
func consumeDeals(t *testing.T, addr string) map[int64]bool {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := c.Partitions("deals")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	byLSN := map[string][]byte{}
	for _, p := range parts {
		end, err := client.GetOffset("deals", p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := c.ConsumePartition("deals", p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for msg := range pc.Messages() {
			var lsn string
			for _, h := range msg.Headers {
				if string(h.Key) == "lsn" {
					lsn = string(h.Value)
				}
			}
			var deal []any
			dec := json.NewDecoder(bytes.NewReader(msg.Value))
			dec.UseNumber()
			if err := dec.Decode(&deal); err != nil || len(deal) != 14 {
				t.Fatalf("deals message %s: %v", msg.Value, err)
			}
			id, err := strconv.ParseInt(fmt.Sprint(deal[11]), 10, 64)
			if err != nil {
				t.Fatalf("deals message %s: deal id %q", msg.Value, deal[11])
			}
			k := lsn + "/" + fmt.Sprint(id)
			if prev, ok := byLSN[k]; ok && string(prev) != string(msg.Value) {
				t.Errorf("deal %d at LSN %s published twice with different contents", id, lsn)
			}
			if ids[id] && byLSN[k] == nil {
				t.Errorf("deal %d published under two LSNs", id)
			}
			byLSN[k] = msg.Value
			ids[id] = true
			if msg.Offset+1 >= end {
				break
			}
		}
		pc.Close()
	}
	return ids
}
