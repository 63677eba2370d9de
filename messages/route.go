package messages

// Owner says which actor owns, and answers, a routed command.
type Owner uint8

// Owners.
const (
	ToShard  Owner = iota + 1 // the balance shard of Route.User
	ToMarket                  // the actor of Route.Market
)

// Route is where a command goes: its owner, and the user or market that
// picks the actor. HasMarket: the command names a market, which must exist
// (an order goes to the user's shard first, but names its market).
type Route struct {
	Owner     Owner
	User      uint32
	Market    MarketID
	HasMarket bool
}

// Routed is a command the router (actors/router.go) sends to the one actor
// that owns it, after giving it the address its answer goes to. This is
// the one place that says where each such command goes.
type Routed interface {
	Command
	Route() Route
	SetReplyTo(Address)
}

func (c *BalanceQuery) Route() Route  { return Route{Owner: ToShard, User: c.User} }
func (c *BalanceUpdate) Route() Route { return Route{Owner: ToShard, User: c.User} }
func (c *PutLimit) Route() Route {
	return Route{Owner: ToShard, User: c.User, Market: c.Market, HasMarket: true}
}
func (c *PutMarket) Route() Route {
	return Route{Owner: ToShard, User: c.User, Market: c.Market, HasMarket: true}
}
func (c *Cancel) Route() Route             { return marketRoute(c.Market) }
func (c *CancelAll) Route() Route          { return marketRoute(c.Market) }
func (c *Amend) Route() Route              { return marketRoute(c.Market) }
func (c *CancelAfter) Route() Route        { return marketRoute(c.Market) }
func (c *MarketHalt) Route() Route         { return marketRoute(c.Market) }
func (c *OrderBook) Route() Route          { return marketRoute(c.Market) }
func (c *OrderDepth) Route() Route         { return marketRoute(c.Market) }
func (c *OrderPending) Route() Route       { return marketRoute(c.Market) }
func (c *OrderPendingDetail) Route() Route { return marketRoute(c.Market) }
func (c *MarketSummary) Route() Route      { return marketRoute(c.Market) }

func marketRoute(m MarketID) Route { return Route{Owner: ToMarket, Market: m, HasMarket: true} }

func (c *BalanceQuery) SetReplyTo(a Address)       { c.ReplyTo = a }
func (c *BalanceUpdate) SetReplyTo(a Address)      { c.ReplyTo = a }
func (c *PutLimit) SetReplyTo(a Address)           { c.ReplyTo = a }
func (c *PutMarket) SetReplyTo(a Address)          { c.ReplyTo = a }
func (c *Cancel) SetReplyTo(a Address)             { c.ReplyTo = a }
func (c *CancelAll) SetReplyTo(a Address)          { c.ReplyTo = a }
func (c *Amend) SetReplyTo(a Address)              { c.ReplyTo = a }
func (c *CancelAfter) SetReplyTo(a Address)        { c.ReplyTo = a }
func (c *MarketHalt) SetReplyTo(a Address)         { c.ReplyTo = a }
func (c *OrderBook) SetReplyTo(a Address)          { c.ReplyTo = a }
func (c *OrderDepth) SetReplyTo(a Address)         { c.ReplyTo = a }
func (c *OrderPending) SetReplyTo(a Address)       { c.ReplyTo = a }
func (c *OrderPendingDetail) SetReplyTo(a Address) { c.ReplyTo = a }
func (c *MarketSummary) SetReplyTo(a Address)      { c.ReplyTo = a }
