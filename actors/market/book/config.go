package book

import "github.com/bourse-exchange/bourse/messages"

// Config is what the book needs to know of its market: precisions and
// assets, copied out of the validated configuration
// (actors.BookConfig).
type Config struct {
	Market    messages.MarketID
	Stock     messages.AssetID
	Money     messages.AssetID
	StockPrec int // amounts
	MoneyPrec int // prices
	FeePrec   int // fee rates
	StockSave int // prec_save of the stock asset
	MoneySave int // prec_save of the money asset
	MinAmount int64
	// MaxOpenOrders, when positive, is how many orders one user may have
	// resting in this market: a limit order whose remainder would rest
	// beyond it is refused with code 8 (nothing changes). It is not part
	// of the state: changing it never changes a replay.
	MaxOpenOrders int
	// STP is the market's self-trade prevention mode, for orders that do
	// not choose one (STPDefault here: none, as viabtc). Decisions only:
	// not part of the state.
	STP messages.STP
}

// IDShift is how many low bits of an order or deal id hold the market.
const IDShift = 10

func (c *Config) id(seq uint64) uint64 { return seq<<IDShift | uint64(c.Market) }
