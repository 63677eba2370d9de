package events_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/events"
	"github.com/bourse-exchange/bourse/runtime"
)

// optionsScenario plays, on BTCUSDT of testConfig (stock_prec 6,
// money_prec 2), a session with the order options and returns the ids of
// its orders by name:
//
//	a1     user 2 sells 1 @ 103, client id "a-1", post-only, STP
//	       cancel_maker: rests; then amended to 0.4
//	stop   user 1's stop-limit buy 0.5 @ 102, stop 101, client id
//	       "stop-1": held; triggered by the trade at 101 below, rests
//	       (nothing to buy at 102); amended to 0.3 by client id; cancelled
//	       by client id
//	ask3   user 3 sells 0.2 @ 101: rests, then filled by ioc
//	ioc    user 4 buys 0.2 @ 101, IOC: fills at 101
//	smkt   user 3's stop-market sell 0.1, stop 100: held; triggered by
//	       the trade at 100 below, sells to bid1's remainder
//	bid1   user 1 buys 0.3 @ 100: rests; filled 0.1 by ask5, 0.1 by smkt
//	ask5   user 3 sells 0.1 @ 100: fills against bid1
func optionsScenario(t *testing.T, n *runtime.Node) map[string]uint64 {
	t.Helper()
	now := int64(1_700_000_000_000_000)
	do := func(cmd messages.Command) messages.Reply {
		t.Helper()
		now += 1_000_000
		r, err := n.Router.Do(context.Background(), cmd)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		if e, ok := r.(*messages.ErrorReply); ok {
			t.Fatalf("%T %+v: %v", cmd, cmd, e.Err)
		}
		return r
	}
	cfg := n.Config
	deposit := func(user uint32, asset string, units int64) {
		a := cfg.Asset(asset)
		do(&messages.BalanceUpdate{User: user, Asset: a.ID, Business: "deposit", BusinessID: uint64(user),
			Change: fixed.FromInt64(units, 0, a.PrecSave), Time: now})
	}
	deposit(1, "USDT", 10000)
	deposit(2, "BTC", 10)
	deposit(3, "BTC", 10)
	deposit(4, "USDT", 10000)
	m := cfg.Market("BTCUSDT").ID
	ids := map[string]uint64{}
	limit := func(name string, c *messages.PutLimit) {
		c.Market, c.TakerFee, c.MakerFee, c.Source, c.Time = m, 20, 10, "t", now
		ids[name] = do(c).(*messages.OrderReply).Order.ID
	}
	limit("a1", &messages.PutLimit{User: 2, Side: messages.Ask, Amount: 1_000_000, Price: 10300,
		ClientID: "a-1", PostOnly: true, STP: messages.STPCancelMaker})
	limit("stop", &messages.PutLimit{User: 1, Side: messages.Bid, Amount: 500_000, Price: 10200,
		ClientID: "stop-1", StopPrice: 10100})
	limit("ask3", &messages.PutLimit{User: 3, Side: messages.Ask, Amount: 200_000, Price: 10100})
	limit("ioc", &messages.PutLimit{User: 4, Side: messages.Bid, Amount: 200_000, Price: 10100, TIF: messages.IOC})
	do(&messages.Amend{User: 2, Market: m, ClientID: "a-1", Amount: 400_000, Time: now})
	do(&messages.Amend{User: 1, Market: m, ClientID: "stop-1", Amount: 300_000, Time: now})
	do(&messages.Cancel{User: 1, Market: m, ClientID: "stop-1", Time: now})
	ids["smkt"] = do(&messages.PutMarket{User: 3, Market: m, Side: messages.Ask, Amount: 100_000, TakerFee: 20,
		Source: "t", StopPrice: 10000, Time: now}).(*messages.OrderReply).Order.ID
	limit("bid1", &messages.PutLimit{User: 1, Side: messages.Bid, Amount: 300_000, Price: 10000})
	limit("ask5", &messages.PutLimit{User: 3, Side: messages.Ask, Amount: 100_000, Price: 10000})
	return ids
}

// orderEvent is the part of an orders message the scenario checks.
type orderEvent struct {
	event                              string // "1" PUT, "2" UPDATE, "3" FINISH
	amount, left, dealStock            string
	clientID, stop, triggered, tif, pc string // "" when absent; pc: post_only and stp
}

// optionsWant is what the orders topic must carry for each order of
// optionsScenario, in order.
var optionsWant = map[string][]orderEvent{
	"a1": {
		{event: "1", amount: "1", left: "1", dealStock: "0", clientID: "a-1", pc: "true cancel_maker"},
		{event: "2", amount: "0.4", left: "0.4", dealStock: "0", clientID: "a-1", pc: "true cancel_maker"},
	},
	"stop": {
		{event: "1", amount: "0.5", left: "0.5", dealStock: "0", clientID: "stop-1", stop: "101", triggered: "false"},
		{event: "2", amount: "0.5", left: "0.5", dealStock: "0", clientID: "stop-1", stop: "101", triggered: "true"}, // triggered; rests without a trade: no second UPDATE
		{event: "2", amount: "0.3", left: "0.3", dealStock: "0", clientID: "stop-1", stop: "101", triggered: "true"}, // amended
		{event: "3", amount: "0.3", left: "0.3", dealStock: "0", clientID: "stop-1", stop: "101", triggered: "true"}, // cancelled
	},
	"ask3": {
		{event: "1", amount: "0.2", left: "0.2", dealStock: "0"},
		{event: "3", amount: "0.2", left: "0", dealStock: "0.2"},
	},
	"ioc": {
		{event: "3", amount: "0.2", left: "0", dealStock: "0.2", tif: "IOC"},
	},
	"smkt": {
		{event: "1", amount: "0.1", left: "0.1", dealStock: "0", stop: "100", triggered: "false"},
		{event: "2", amount: "0.1", left: "0.1", dealStock: "0", stop: "100", triggered: "true"},
		{event: "3", amount: "0.1", left: "0", dealStock: "0.1", stop: "100", triggered: "true"},
	},
	"bid1": {
		{event: "1", amount: "0.3", left: "0.3", dealStock: "0"},
		{event: "2", amount: "0.3", left: "0.2", dealStock: "0.1"},
		{event: "2", amount: "0.3", left: "0.1", dealStock: "0.2"},
	},
	"ask5": {
		{event: "3", amount: "0.1", left: "0", dealStock: "0.1"},
	},
}

// optionsSequence is the order of all the scenario's orders messages: a
// command's own first (ioc fills ask3), then those of the stop orders its
// trades triggered (stop, then smkt after ask5 and bid1).
var optionsSequence = []string{"a1 1", "stop 1", "ask3 1", "ask3 3", "ioc 3", "stop 2", "a1 2", "stop 2",
	"stop 3", "smkt 1", "bid1 1", "bid1 2", "ask5 3", "smkt 2", "bid1 2", "smkt 3"}

// checkOptionsScenario compares the orders messages values (in the
// topic's order) with optionsWant and optionsSequence.
func checkOptionsScenario(t *testing.T, ids map[string]uint64, values [][]byte) {
	t.Helper()
	byID := map[string][]orderEvent{}
	names := make([]string, 0, len(ids))
	nameOf := map[string]string{}
	for name, id := range ids {
		names = append(names, name)
		nameOf[strconv.FormatUint(id, 10)] = name
	}
	sort.Strings(names)
	var sequence []string
	str := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case json.Number:
			return x.String()
		case bool:
			return strconv.FormatBool(x)
		}
		t.Fatalf("unexpected JSON value %#v", v)
		return ""
	}
	for _, v := range values {
		msg := decode(t, v).(map[string]any)
		o := msg["order"].(map[string]any)
		var pc string
		if o["post_only"] != nil || o["stp"] != nil {
			pc = str(o["post_only"]) + " " + str(o["stp"])
		}
		ev := orderEvent{event: str(msg["event"]), amount: str(o["amount"]), left: str(o["left"]), dealStock: str(o["deal_stock"]),
			clientID: str(o["client_id"]), stop: str(o["stop_price"]), triggered: str(o["triggered"]), tif: str(o["time_in_force"]), pc: pc}
		byID[str(o["id"])] = append(byID[str(o["id"])], ev)
		sequence = append(sequence, nameOf[str(o["id"])]+" "+ev.event)
	}
	if !slices.Equal(sequence, optionsSequence) {
		t.Errorf("orders messages in the order\n%q\nwant\n%q", sequence, optionsSequence)
	}
	for _, name := range names {
		id := ids[name]
		got, want := byID[strconv.FormatUint(id, 10)], optionsWant[name]
		if len(got) != len(want) {
			t.Errorf("%s (order %d): %d messages %+v; want %d %+v", name, id, len(got), got, len(want), want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s (order %d) message %d = %+v; want %+v", name, id, i, got[i], want[i])
			}
		}
	}
	if len(byID) != len(ids) {
		t.Errorf("messages of %d orders; want %d", len(byID), len(ids))
	}
}

// TestOptionsBus: the scenario's orders messages, as bus subscribers get
// them.
func TestOptionsBus(t *testing.T) {
	cfg := testCfg(t)
	n := testnode.Start(t, cfg, runtime.Options{DataDir: t.TempDir(), Journal: journal.Options{Mode: journal.Sync}})
	defer n.Shutdown(context.Background())
	bus := events.NewBus(cfg, 0)
	sub := bus.Subscribe(events.KindOrders, 1<<10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := n.Feed.Follow(ctx, bus, 4, testenv.Quiet())
	ids := optionsScenario(t, n)
	testnode.WaitCursor(t, "publisher", n.Journal.LastLSN(), run.Cursor)
	sub.Close()
	var values [][]byte
	for ev := range sub.Events() {
		for _, m := range ev.Messages {
			if m.Topic == events.Orders {
				values = append(values, m.Value)
			}
		}
	}
	if sub.Err() != nil {
		t.Fatal(sub.Err())
	}
	checkOptionsScenario(t, ids, values)
}

// TestOptionsKafka: the scenario's orders messages, published to Kafka
// (an in-process Kafka-protocol broker) and read back with sarama.
func TestOptionsKafka(t *testing.T) {
	cfg := testCfg(t)
	cluster(t, cfg, 1, 3)
	n := testnode.Start(t, cfg, runtime.Options{DataDir: t.TempDir(), Journal: journal.Options{Mode: journal.Sync}})
	defer n.Shutdown(context.Background())
	p := newPublisher(t, cfg, events.PublisherOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	run := n.Feed.Follow(ctx, p, 4, testenv.Quiet())
	ids := optionsScenario(t, n)
	testnode.WaitCursor(t, "publisher", n.Journal.LastLSN(), run.Cursor)
	cancel()
	n.Feed.Wait(p.Name())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	var orders []got
	for _, m := range consumeAll(t, cfg) {
		if m.topic == events.Orders {
			if m.key != "BTCUSDT" {
				t.Errorf("orders message keyed %q; want the market", m.key)
			}
			orders = append(orders, m)
		}
	}
	// One key, one partition: the offsets are the order.
	sort.Slice(orders, func(i, j int) bool { return orders[i].offset < orders[j].offset })
	var values [][]byte
	for i, m := range orders {
		if i > 0 && m.partition != orders[0].partition {
			t.Fatalf("orders of one market in partitions %d and %d", orders[0].partition, m.partition)
		}
		values = append(values, m.value)
	}
	checkOptionsScenario(t, ids, values)
}
