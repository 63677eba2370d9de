package coretest

import (
	"fmt"
	"strings"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// SideName is "sell" for an ask and "buy" for a bid.
func SideName(s messages.Side) string {
	switch s {
	case messages.Ask:
		return "sell"
	case messages.Bid:
		return "buy"
	}
	return fmt.Sprintf("side(%d)", s)
}

func typeName(t messages.OrderType) string {
	if t == messages.Market {
		return "market"
	}
	return "limit"
}

// Seq is an order or deal id without its market bits: the market's own
// counter, as scripts print and accept it ("#3").
func Seq(id uint64) uint64 { return id >> book.IDShift }

func (e *Engine) bookCfg(m messages.MarketID) *book.Config { return e.Books[m].Config() }

// FormatOrder renders an order in the units of its market.
func FormatOrder(cfg *config.Config, o *messages.Order) string {
	c := actors.BookConfig(cfg.Markets[o.Market])
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s user=%d", Seq(o.ID), typeName(o.Type), SideName(o.Side), o.User)
	if o.Type == messages.Limit {
		fmt.Fprintf(&b, " price=%s", fixed.FormatInt(o.Price, c.MoneyPrec))
	}
	if o.Type == messages.Market && o.Side == messages.Bid {
		// a market buy's amount is money; what it did not spend is Frozen.
		fmt.Fprintf(&b, " amount=%s unspent=%s", fixed.FormatInt(o.Amount, c.MoneyPrec), fixed.Format(&o.Frozen, c.MoneySave))
	} else {
		fmt.Fprintf(&b, " amount=%s left=%s", fixed.FormatInt(o.Amount, c.StockPrec), fixed.FormatInt(o.Left, c.StockPrec))
	}
	feeSave := c.MoneySave
	if o.Side == messages.Bid {
		feeSave = c.StockSave
	}
	fmt.Fprintf(&b, " deal_stock=%s deal_money=%s deal_fee=%s", fixed.FormatInt(o.DealStock, c.StockPrec),
		fixed.Format(&o.DealMoney, c.MoneySave), fixed.Format(&o.DealFee, feeSave))
	fmt.Fprintf(&b, " fee=%s/%s", fixed.FormatInt(o.TakerFee, c.FeePrec), fixed.FormatInt(o.MakerFee, c.FeePrec))
	if o.Type == messages.Limit {
		fa, fp := cfg.Assets[c.Stock], c.StockSave
		if o.Side == messages.Bid {
			fa, fp = cfg.Assets[c.Money], c.MoneySave
		}
		fmt.Fprintf(&b, " frozen=%s %s", fixed.Format(&o.Frozen, fp), fa.Name)
	}
	fmt.Fprintf(&b, " t=%d/%d", o.CTime, o.MTime)
	if o.StopPrice != 0 {
		fmt.Fprintf(&b, " stop=%s", fixed.FormatInt(o.StopPrice, c.MoneyPrec))
		if o.Triggered {
			b.WriteString(" triggered")
		}
	}
	if o.TIF != messages.GTC {
		fmt.Fprintf(&b, " tif=%s", o.TIF)
	}
	if o.PostOnly {
		b.WriteString(" post_only")
	}
	if o.STP != messages.STPDefault {
		fmt.Fprintf(&b, " stp=%s", o.STP)
	}
	if o.ClientID != "" {
		fmt.Fprintf(&b, " client_id=%s", o.ClientID)
	}
	if o.Source != "" {
		fmt.Fprintf(&b, " source=%s", o.Source)
	}
	return b.String()
}

// FormatEvent renders one event.
func FormatEvent(cfg *config.Config, ev messages.Event) string {
	amt := func(u *uint256.Int, a messages.AssetID) string {
		return fixed.Format(u, cfg.Assets[a].PrecSave)
	}
	switch e := ev.(type) {
	case *messages.BalanceUpdated:
		sign := "+"
		if e.Negative {
			sign = "-"
		}
		return fmt.Sprintf("balance_updated user=%d %s %s%s %s/%d", e.User, cfg.Assets[e.Asset].Name, sign, amt(&e.Change, e.Asset), e.Business, e.BusinessID)
	case *messages.OrderPlaced:
		return fmt.Sprintf("placed #%d %s %s user=%d frozen=%s %s", Seq(e.Order.ID), typeName(e.Order.Type),
			SideName(e.Order.Side), e.Order.User, amt(&e.Order.Frozen, e.FrozenAsset), cfg.Assets[e.FrozenAsset].Name)
	case *messages.Trade:
		c := actors.BookConfig(cfg.Markets[e.Market])
		return fmt.Sprintf("trade deal#%d %s %s@%s ask=#%d/u%d bid=#%d/u%d deal=%s ask_fee=%s bid_fee=%s bid_frozen=%s",
			Seq(e.DealID), SideName(e.TakerSide), fixed.FormatInt(e.Amount, c.StockPrec), fixed.FormatInt(e.Price, c.MoneyPrec),
			Seq(e.AskOrder), e.AskUser, Seq(e.BidOrder), e.BidUser,
			amt(&e.Deal, e.Money), amt(&e.AskFee, e.Money), amt(&e.BidFee, e.Stock), amt(&e.BidFrozen, e.Money))
	case *messages.OrderRested:
		return fmt.Sprintf("rested #%d", Seq(e.OrderID))
	case *messages.OrderFinished:
		s := fmt.Sprintf("finished #%d user=%d release=%s %s", Seq(e.OrderID), e.User, amt(&e.Release, e.Asset), cfg.Assets[e.Asset].Name)
		if e.Cancelled {
			s += " cancelled"
		}
		return s
	case *messages.StopTriggered:
		c := actors.BookConfig(cfg.Markets[e.Market])
		return fmt.Sprintf("triggered #%d last=%s", Seq(e.OrderID), fixed.FormatInt(e.Price, c.MoneyPrec))
	case *messages.OrderAmended:
		c := actors.BookConfig(cfg.Markets[e.Market])
		return fmt.Sprintf("amended #%d user=%d amount=%s left=%s release=%s %s", Seq(e.OrderID), e.User,
			fixed.FormatInt(e.Amount, c.StockPrec), fixed.FormatInt(e.Left, c.StockPrec), amt(&e.Release, e.Asset), cfg.Assets[e.Asset].Name)
	case *messages.CancelAfterSet:
		if e.Deadline == 0 {
			return fmt.Sprintf("switch m=%d user=%d off", e.Market, e.User)
		}
		return fmt.Sprintf("switch m=%d user=%d deadline=%d", e.Market, e.User, e.Deadline)
	}
	return fmt.Sprintf("%T", ev)
}

// FormatEvents renders events one per line.
func FormatEvents(cfg *config.Config, evs []messages.Event) string {
	lines := make([]string, len(evs))
	for i, ev := range evs {
		lines[i] = FormatEvent(cfg, ev)
	}
	return strings.Join(lines, "\n")
}
