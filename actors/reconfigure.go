package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/messages"
)

// Messages of the node's run-time configuration changes (asset.add,
// market.add, market.update; runtime/configure.go).

// MarketRules changes a market's trading rules (market.update). The
// market's actor journals Spec, the whole new configuration, as one step
// of its own and gives its book Config's rules (min_amount,
// max_open_orders, stp) at that point, in order with the market's orders;
// the answer (*messages.StatusReply, or code 3 while the journal is failed)
// goes through the journal like any step's.
type MarketRules struct {
	ReplyTo *actor.PID
	Spec    *messages.ConfigSet
	Config  book.Config
}

// ShardConfig gives a balance shard the configuration in force once a
// ConfigSet is durable: the number of assets (its ledger grows to it) and
// every market's book configuration, by which it checks and reserves for
// orders. The shard answers with the same message.
type ShardConfig struct {
	Assets  int
	Markets []book.Config
}
