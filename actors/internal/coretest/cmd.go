package coretest

import (
	"fmt"

	"github.com/bourse-exchange/bourse/actors/fixed"
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
)

var opNames = [...]string{"update", "put_limit", "put_market", "cancel", "depth", "book", "pending", "summary"}

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
	Time   int64
	User   uint32
	Market messages.MarketID
	Side   messages.Side

	// OpUpdate
	Asset      messages.AssetID
	Business   string
	BusinessID uint64
	Change     string // signed, at prec_show

	// OpPutLimit, OpPutMarket
	Amount, Price, TakerFee, MakerFee string

	// OpCancel
	OrderID uint64

	// OpDepth
	Interval string

	// OpDepth, OpBook, OpPending
	Offset, Limit int
}

func (c *Cmd) String() string {
	switch c.Op {
	case OpUpdate:
		return fmt.Sprintf("t=%d update user=%d asset=%d %s/%d change=%s", c.Time, c.User, c.Asset, c.Business, c.BusinessID, c.Change)
	case OpPutLimit:
		return fmt.Sprintf("t=%d put_limit m=%d user=%d %s amount=%s price=%s fee=%s/%s", c.Time, c.Market, c.User, SideName(c.Side), c.Amount, c.Price, c.TakerFee, c.MakerFee)
	case OpPutMarket:
		return fmt.Sprintf("t=%d put_market m=%d user=%d %s amount=%s fee=%s", c.Time, c.Market, c.User, SideName(c.Side), c.Amount, c.TakerFee)
	case OpCancel:
		return fmt.Sprintf("t=%d cancel m=%d user=%d order=%d (#%d)", c.Time, c.Market, c.User, c.OrderID, Seq(c.OrderID))
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

// Result is what the engine answered.
type Result struct {
	Err     *messages.Error
	Events  []messages.Event
	Order   messages.Order // order commands
	Asks    []messages.DepthLevel
	Bids    []messages.DepthLevel
	Total   int              // book, pending
	Orders  []messages.Order // book, pending
	Summary messages.MarketSummaryReply
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

// Do runs c as edge + shard + market would and returns the answer.
func (e *Engine) Do(c *Cmd) Result {
	var r Result
	if int(c.Market) >= len(e.Books) {
		r.Err = messages.ErrInvalidArgument
		return r
	}
	b := e.Books[c.Market]
	bc := b.Config()
	switch c.Op {
	case OpUpdate:
		if int(c.Asset) >= len(e.Cfg.Assets) {
			r.Err = messages.ErrInvalidArgument
			return r
		}
		a := e.Cfg.Assets[c.Asset]
		u, neg, err := fixed.Parse(c.Change, a.Show())
		if err != nil {
			r.Err = messages.ErrInvalidArgument
			return r
		}
		change := fixed.Rescale(&u, a.Show(), a.PrecSave)
		ev, uerr := e.Update(&messages.BalanceUpdate{
			User: c.User, Asset: c.Asset, Business: c.Business, BusinessID: c.BusinessID,
			Change: change, Negative: neg, Detail: []byte("{}"), Time: c.Time,
		})
		if r.Err = uerr; ev != nil {
			r.Events = []messages.Event{ev}
		}
	case OpPutLimit:
		cmd := &messages.PutLimit{User: c.User, Market: c.Market, Side: c.Side, Source: "test", Time: c.Time}
		if cmd.Amount, r.Err = parseUnits(c.Amount, bc.StockPrec); r.Err != nil {
			return r
		}
		if cmd.Price, r.Err = parseUnits(c.Price, bc.MoneyPrec); r.Err != nil {
			return r
		}
		if cmd.TakerFee, r.Err = parseUnits(c.TakerFee, bc.FeePrec); r.Err != nil {
			return r
		}
		if cmd.MakerFee, r.Err = parseUnits(c.MakerFee, bc.FeePrec); r.Err != nil {
			return r
		}
		r.Events, r.Order, r.Err = e.PutLimit(cmd)
	case OpPutMarket:
		cmd := &messages.PutMarket{User: c.User, Market: c.Market, Side: c.Side, Source: "test", Time: c.Time}
		prec := bc.StockPrec
		if c.Side == messages.Bid {
			prec = bc.MoneyPrec // PROTOCOL D8
		}
		if cmd.Amount, r.Err = parseUnits(c.Amount, prec); r.Err != nil {
			return r
		}
		if cmd.TakerFee, r.Err = parseUnits(c.TakerFee, bc.FeePrec); r.Err != nil {
			return r
		}
		r.Events, r.Order, r.Err = e.PutMarket(cmd)
	case OpCancel:
		r.Events, r.Order, r.Err = e.Cancel(&messages.Cancel{User: c.User, Market: c.Market, OrderID: c.OrderID, Time: c.Time})
	case OpDepth:
		iv, err := parseUnits(c.Interval, bc.MoneyPrec)
		if err != nil {
			r.Err = err
			return r
		}
		r.Asks, r.Bids = b.Depth(c.Limit, iv)
	case OpBook:
		if c.Side != messages.Ask && c.Side != messages.Bid {
			r.Err = messages.ErrInvalidArgument
			return r
		}
		r.Total, r.Orders = b.Orders(c.Side, c.Offset, c.Limit)
	case OpPending:
		r.Total, r.Orders = b.Pending(c.User, c.Offset, c.Limit)
	case OpSummary:
		r.Summary = b.Summary()
	}
	return r
}
