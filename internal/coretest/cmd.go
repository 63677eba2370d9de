package coretest

import (
	"fmt"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// Op is a command kind.
type Op uint8

// Command kinds.
const (
	OpUpdate    Op = iota // balance.update (deposit or withdraw)
	OpPutLimit            // order.put_limit
	OpPutMarket           // order.put_market
	OpCancel              // order.cancel
	OpDepth               // order.depth
	OpBook                // order.book
	OpPending             // order.pending
	OpSummary             // market.summary

	OpCancelAll   // order.cancel_all (Side 0: both sides)
	OpAmend       // order.amend (Amount: the new total amount)
	OpCancelAfter // order.cancel_all_after (Timeout)
	OpTick        // the runtime's tick at Time: due dead-man's switches fire in every market
	OpDetail      // order.pending_detail (by OrderID, or by User and ClientID)
)

var opNames = [...]string{"update", "put_limit", "put_market", "cancel", "depth", "book", "pending", "summary",
	"cancel_all", "amend", "cancel_after", "tick", "detail"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Cmd is one command as an edge receives it: decimals are strings, parsed by
// each implementation at the precision the protocol gives them.
type Cmd struct {
	Op     Op
	Time   int64             `json:",omitempty"`
	User   uint32            `json:",omitempty"`
	Market messages.MarketID `json:",omitempty"`
	Side   messages.Side     `json:",omitempty"`

	// OpUpdate
	Asset      messages.AssetID `json:",omitempty"`
	Business   string           `json:",omitempty"`
	BusinessID uint64           `json:",omitempty"`
	Change     string           `json:",omitempty"` // signed, at prec_show

	// OpPutLimit, OpPutMarket; Amount also OpAmend
	Amount   string `json:",omitempty"`
	Price    string `json:",omitempty"`
	TakerFee string `json:",omitempty"`
	MakerFee string `json:",omitempty"`

	// Order options (zero values: viabtc's behaviour). TIF and PostOnly
	// are OpPutLimit's; StopPrice ("" none; else money_prec, which must be
	// positive: code 1 otherwise, as the edge answers) makes a stop order.
	TIF       messages.TimeInForce `json:",omitempty"`
	PostOnly  bool                 `json:",omitempty"`
	STP       messages.STP         `json:",omitempty"`
	StopPrice string               `json:",omitempty"`

	// OpCancel, OpAmend, OpDetail name the order by OrderID, or by the
	// user's ClientID when that is not empty; OpPutLimit and OpPutMarket
	// give the new order ClientID.
	OrderID  uint64 `json:",omitempty"`
	ClientID string `json:",omitempty"`

	// OpCancelAfter, microseconds (0 disarms)
	Timeout int64 `json:",omitempty"`

	// OpDepth
	Interval string `json:",omitempty"`

	// OpDepth, OpBook, OpPending
	Offset int `json:",omitempty"`
	Limit  int `json:",omitempty"`
}

func (c *Cmd) String() string {
	switch c.Op {
	case OpUpdate:
		return fmt.Sprintf("t=%d update user=%d asset=%d %s/%d change=%s", c.Time, c.User, c.Asset, c.Business, c.BusinessID, c.Change)
	case OpPutLimit:
		return fmt.Sprintf("t=%d put_limit m=%d user=%d %s amount=%s price=%s fee=%s/%s%s", c.Time, c.Market, c.User, SideName(c.Side), c.Amount, c.Price, c.TakerFee, c.MakerFee, c.options())
	case OpPutMarket:
		return fmt.Sprintf("t=%d put_market m=%d user=%d %s amount=%s fee=%s%s", c.Time, c.Market, c.User, SideName(c.Side), c.Amount, c.TakerFee, c.options())
	case OpCancel:
		return fmt.Sprintf("t=%d cancel m=%d user=%d %s", c.Time, c.Market, c.User, c.target())
	case OpCancelAll:
		return fmt.Sprintf("t=%d cancel_all m=%d user=%d side=%d", c.Time, c.Market, c.User, c.Side)
	case OpAmend:
		return fmt.Sprintf("t=%d amend m=%d user=%d %s amount=%s", c.Time, c.Market, c.User, c.target(), c.Amount)
	case OpCancelAfter:
		return fmt.Sprintf("t=%d cancel_after m=%d user=%d timeout=%d", c.Time, c.Market, c.User, c.Timeout)
	case OpTick:
		return fmt.Sprintf("t=%d tick", c.Time)
	case OpDetail:
		return fmt.Sprintf("detail m=%d user=%d %s", c.Market, c.User, c.target())
	case OpDepth:
		return fmt.Sprintf("depth m=%d limit=%d interval=%s", c.Market, c.Limit, c.Interval)
	case OpBook:
		return fmt.Sprintf("book m=%d %s offset=%d limit=%d", c.Market, SideName(c.Side), c.Offset, c.Limit)
	case OpPending:
		return fmt.Sprintf("pending m=%d user=%d offset=%d limit=%d", c.Market, c.User, c.Offset, c.Limit)
	case OpSummary:
		return fmt.Sprintf("summary m=%d", c.Market)
	}
	return c.Op.String()
}

// target names the order a cancel, amend or detail is about.
func (c *Cmd) target() string {
	if c.ClientID != "" {
		return fmt.Sprintf("client_id=%q", c.ClientID)
	}
	return fmt.Sprintf("order=%d (#%d)", c.OrderID, Seq(c.OrderID))
}

// options renders the order options that are set.
func (c *Cmd) options() string {
	var s string
	if c.TIF != messages.GTC {
		s += " tif=" + c.TIF.String()
	}
	if c.PostOnly {
		s += " post_only"
	}
	if c.STP != messages.STPDefault {
		s += fmt.Sprintf(" stp=%d", c.STP)
	}
	if c.StopPrice != "" {
		s += " stop=" + c.StopPrice
	}
	if c.ClientID != "" {
		s += fmt.Sprintf(" client_id=%q", c.ClientID)
	}
	return s
}

// Result is what the engine answered.
type Result struct {
	Err      *messages.Error
	Events   []messages.Event
	Order    messages.Order // order commands
	Asks     []messages.DepthLevel
	Bids     []messages.DepthLevel
	Total    int              // book, pending
	Orders   []messages.Order // book, pending
	Summary  messages.MarketSummaryReply
	Count    int             // cancel_all: orders cancelled
	Detail   *messages.Order // detail: the open order, or nil
	Deadline int64           // cancel_after: the user's deadline after the command
}

// parseUnits parses a non-negative decimal at prec into int64 units as the
// edge does: syntax, range or a negative value is code 1.
func parseUnits(s string, prec int) (int64, *messages.Error) {
	v, neg, err := fixed.ParseInt64(s, prec)
	if err != nil || neg {
		return 0, messages.ErrInvalidArgument
	}
	return v, nil
}

// parseStop parses a stop price: "" is none (0); otherwise it must be a
// positive decimal at prec (code 1).
func parseStop(s string, prec int) (int64, *messages.Error) {
	if s == "" {
		return 0, nil
	}
	v, err := parseUnits(s, prec)
	if err == nil && v == 0 {
		err = messages.ErrInvalidArgument
	}
	return v, err
}

// Message parses c as an edge would into the command the exchange
// receives, or returns the code-1 error the edge answers. OpTick is no
// command: nil, nil. The market must exist (cfg.Markets[c.Market]).
func (c *Cmd) Message(cfg *config.Config) (messages.Command, *messages.Error) {
	bc := actors.BookConfig(cfg.Markets[c.Market])
	var err *messages.Error
	switch c.Op {
	case OpUpdate:
		return c.update(cfg)
	case OpPutLimit:
		return c.putLimit(&bc)
	case OpPutMarket:
		return c.putMarket(&bc)
	case OpCancel:
		return &messages.Cancel{User: c.User, Market: c.Market, OrderID: c.OrderID, ClientID: c.ClientID, Time: c.Time}, nil
	case OpCancelAll:
		return &messages.CancelAll{User: c.User, Market: c.Market, Side: c.Side, Time: c.Time}, nil
	case OpAmend:
		cmd := &messages.Amend{User: c.User, Market: c.Market, OrderID: c.OrderID, ClientID: c.ClientID, Time: c.Time}
		cmd.Amount, err = parseUnits(c.Amount, bc.StockPrec)
		return cmd, err
	case OpCancelAfter:
		return &messages.CancelAfter{User: c.User, Market: c.Market, Timeout: c.Timeout, Time: c.Time}, nil
	case OpDetail:
		return &messages.OrderPendingDetail{User: c.User, Market: c.Market, OrderID: c.OrderID, ClientID: c.ClientID}, nil
	case OpDepth:
		cmd := &messages.OrderDepth{Market: c.Market, Limit: c.Limit}
		cmd.Interval, err = parseUnits(c.Interval, bc.MoneyPrec)
		return cmd, err
	case OpBook:
		return &messages.OrderBook{Market: c.Market, Side: c.Side, Offset: c.Offset, Limit: c.Limit}, nil
	case OpPending:
		return &messages.OrderPending{User: c.User, Market: c.Market, Offset: c.Offset, Limit: c.Limit}, nil
	case OpSummary:
		return &messages.MarketSummary{Market: c.Market}, nil
	}
	return nil, nil
}

func (c *Cmd) update(cfg *config.Config) (messages.Command, *messages.Error) {
	if int(c.Asset) >= len(cfg.Assets) {
		return nil, messages.ErrInvalidArgument
	}
	a := cfg.Assets[c.Asset]
	u, neg, err := fixed.Parse(c.Change, a.Show())
	if err != nil {
		return nil, messages.ErrInvalidArgument
	}
	return &messages.BalanceUpdate{
		User: c.User, Asset: c.Asset, Business: c.Business, BusinessID: c.BusinessID,
		Change: fixed.Rescale(&u, a.Show(), a.PrecSave), Negative: neg, Detail: []byte("{}"), Time: c.Time,
	}, nil
}

func (c *Cmd) putLimit(bc *book.Config) (messages.Command, *messages.Error) {
	cmd := &messages.PutLimit{User: c.User, Market: c.Market, Side: c.Side, Source: "test", Time: c.Time}
	var err *messages.Error
	if cmd.Amount, err = parseUnits(c.Amount, bc.StockPrec); err != nil {
		return nil, err
	}
	if cmd.Price, err = parseUnits(c.Price, bc.MoneyPrec); err != nil {
		return nil, err
	}
	if cmd.TakerFee, err = parseUnits(c.TakerFee, bc.FeePrec); err != nil {
		return nil, err
	}
	if cmd.MakerFee, err = parseUnits(c.MakerFee, bc.FeePrec); err != nil {
		return nil, err
	}
	if cmd.StopPrice, err = parseStop(c.StopPrice, bc.MoneyPrec); err != nil {
		return nil, err
	}
	cmd.TIF, cmd.PostOnly, cmd.STP, cmd.ClientID = c.TIF, c.PostOnly, c.STP, c.ClientID
	return cmd, nil
}

func (c *Cmd) putMarket(bc *book.Config) (messages.Command, *messages.Error) {
	cmd := &messages.PutMarket{User: c.User, Market: c.Market, Side: c.Side, Source: "test", Time: c.Time}
	prec := bc.StockPrec
	if c.Side == messages.Bid {
		prec = bc.MoneyPrec // a market buy's amount is money (docs/protocol.md D8)
	}
	var err *messages.Error
	if cmd.Amount, err = parseUnits(c.Amount, prec); err != nil {
		return nil, err
	}
	if cmd.TakerFee, err = parseUnits(c.TakerFee, bc.FeePrec); err != nil {
		return nil, err
	}
	if cmd.StopPrice, err = parseStop(c.StopPrice, bc.MoneyPrec); err != nil {
		return nil, err
	}
	if c.TIF != messages.GTC || c.PostOnly {
		return nil, messages.ErrInvalidArgument // not options of a market order
	}
	cmd.STP, cmd.ClientID = c.STP, c.ClientID
	return cmd, nil
}

// Do runs c as edge + shard + market would and returns the answer.
func (e *Engine) Do(c *Cmd) Result {
	var r Result
	if int(c.Market) >= len(e.Books) {
		r.Err = messages.ErrInvalidArgument
		return r
	}
	b := e.Books[c.Market]
	if c.Op == OpTick {
		r.Events = e.Tick(c.Time)
		return r
	}
	msg, err := c.Message(e.Cfg)
	if err != nil {
		r.Err = err
		return r
	}
	switch m := msg.(type) {
	case *messages.BalanceUpdate:
		ev, uerr := e.Update(m)
		if r.Err = uerr; ev != nil {
			r.Events = []messages.Event{ev}
		}
	case *messages.PutLimit:
		r.Events, r.Order, r.Err = e.PutLimit(m)
	case *messages.PutMarket:
		r.Events, r.Order, r.Err = e.PutMarket(m)
	case *messages.Cancel:
		r.Events, r.Order, r.Err = e.Cancel(m)
	case *messages.CancelAll:
		r.Events, r.Err = e.CancelAll(m)
		r.Count = len(r.Events)
	case *messages.Amend:
		r.Events, r.Order, r.Err = e.Amend(m)
	case *messages.CancelAfter:
		r.Events, r.Err = e.CancelAfter(m)
		if r.Err == nil {
			r.Deadline = b.Deadline(c.User)
		}
	case *messages.OrderPendingDetail:
		if c.ClientID != "" {
			r.Detail = b.OrderByClientID(c.User, c.ClientID)
		} else {
			r.Detail = b.Order(c.OrderID)
		}
	case *messages.OrderDepth:
		r.Asks, r.Bids = b.Depth(m.Limit, m.Interval)
	case *messages.OrderBook:
		if c.Side != messages.Ask && c.Side != messages.Bid {
			r.Err = messages.ErrInvalidArgument
			return r
		}
		r.Total, r.Orders = b.Orders(c.Side, c.Offset, c.Limit)
	case *messages.OrderPending:
		r.Total, r.Orders = b.Pending(c.User, c.Offset, c.Limit)
	case *messages.MarketSummary:
		r.Summary = b.Summary()
	}
	return r
}
