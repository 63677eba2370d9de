package messages

import "github.com/holiman/uint256"

// Market data: viabtc's marketprice methods (docs/protocol.md "Market data"),
// answered by the market data follower (persistence/marketdata) from what
// it derived from the durable journal. The commands carry the caller's
// clock (Now, Unix seconds) so that an answer depends only on the data and
// the command. Every answer is an *ErrorReply with ErrInvalidArgument for a
// market that is not configured or a parameter outside its range.
//
// Units: prices at the market's money_prec; Volume (Σ deal amounts) at
// stock_prec; Deal (Σ deal money, Trade.Deal) at the money asset's
// prec_save.

// MarketLast asks a market's last deal price; answered with
// *MarketLastReply.
type MarketLast struct {
	Market MarketID
}

// MarketDeals asks a market's recent deals, newest first: at most Limit
// (1..10000), only those with an id above LastID. Answered with
// *MarketDealsReply.
type MarketDeals struct {
	Market MarketID
	Limit  int
	LastID uint64
}

// MarketKline asks candles of Interval seconds from Start to End (Unix
// seconds; End is clamped to Now, then Start ≤ End is required; the
// allowed intervals and the alignment of each are those of docs/protocol.md "K-line intervals").
// Answered with *MarketKlineReply.
type MarketKline struct {
	Market   MarketID
	Start    int64
	End      int64
	Interval int64
	Now      int64
}

// MarketStatus asks open, close, high, low, volume and deal over the
// Period seconds (1..sec_max) before Now (docs/protocol.md "Status"). Answered with
// *MarketStatusReply.
type MarketStatus struct {
	Market MarketID
	Period int64
	Now    int64
}

// MarketStatusToday asks today's (configured time zone) open, high, low and
// last, with volume and deal over the 24 hours before Now (docs/protocol.md "Status").
// Answered with *MarketStatusTodayReply.
type MarketStatusToday struct {
	Market MarketID
	Now    int64
}

func (*MarketLast) command()        {}
func (*MarketDeals) command()       {}
func (*MarketKline) command()       {}
func (*MarketStatus) command()      {}
func (*MarketStatusToday) command() {}

func (*MarketLast) marketDataCommand()        {}
func (*MarketDeals) marketDataCommand()       {}
func (*MarketKline) marketDataCommand()       {}
func (*MarketStatus) marketDataCommand()      {}
func (*MarketStatusToday) marketDataCommand() {}

// MarketLastReply answers MarketLast: Price 0 means the market never
// traded.
type MarketLastReply struct {
	Price int64
}

// MarketDeal is one recent deal. Side is the taker's side (Ask: "sell").
type MarketDeal struct {
	ID     uint64
	Time   int64 // Unix µs
	Side   Side
	Price  int64 // money_prec
	Amount int64 // stock_prec
}

// MarketDealsReply answers MarketDeals, newest first.
type MarketDealsReply struct {
	Deals []MarketDeal
}

// Candle is one k-line bucket: the deals whose time falls in the bucket
// starting at Time (Unix seconds), or, for a bucket without deals after an
// earlier one, a flat candle at the previous close with zero Volume and
// Deal.
type Candle struct {
	Time                   int64
	Open, Close, High, Low int64 // money_prec
	Volume                 uint256.Int
	Deal                   uint256.Int
}

// MarketKlineReply answers MarketKline, oldest candle first.
type MarketKlineReply struct {
	Candles []Candle
}

// MarketStatusReply answers MarketStatus. Last is the market's last price;
// the other prices are 0 when no deal fell in the period.
type MarketStatusReply struct {
	Period                       int64
	Last, Open, Close, High, Low int64
	Volume, Deal                 uint256.Int
}

// MarketStatusTodayReply answers MarketStatusToday. Open, High, Low and
// Last come from today's day bucket; without one all four are the close of
// the latest day bucket of the previous 30 days, else 0. Volume and Deal
// cover the 24 hours before the command's Now.
type MarketStatusTodayReply struct {
	Open, Last, High, Low int64
	Volume, Deal          uint256.Int
}

func (*MarketLastReply) reply()        {}
func (*MarketDealsReply) reply()       {}
func (*MarketKlineReply) reply()       {}
func (*MarketStatusReply) reply()      {}
func (*MarketStatusTodayReply) reply() {}
