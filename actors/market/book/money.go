package book

import (
	"math/bits"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// dealMoney is price × amount at the money asset's prec_save.
func (c *Config) dealMoney(price, amount int64) uint256.Int {
	d := fixed.Mul64(price, amount)
	return rescale(&d, c.StockPrec+c.MoneyPrec, c.MoneySave)
}

// stockSave is a stock amount at the stock asset's prec_save.
func (c *Config) stockSave(amount int64) uint256.Int {
	u := uint256.Int{uint64(amount), 0, 0, 0}
	return rescale(&u, c.StockPrec, c.StockSave)
}

// askFee is the seller's fee: deal money × rate, truncated to prec_save.
func (c *Config) askFee(price, amount, rate int64) uint256.Int {
	if rate == 0 {
		return uint256.Int{}
	}
	d := fixed.Mul64(price, amount)
	d.Mul(&d, uint256.NewInt(uint64(rate)))
	return rescale(&d, c.StockPrec+c.MoneyPrec+c.FeePrec, c.MoneySave)
}

// bidFee is the buyer's fee: amount × rate in stock (exact at prec_save).
func (c *Config) bidFee(amount, rate int64) uint256.Int {
	if rate == 0 {
		return uint256.Int{}
	}
	d := fixed.Mul64(amount, rate)
	return rescale(&d, c.StockPrec+c.FeePrec, c.StockSave)
}

// Reservation is what placing an order moves from available to frozen, at the
// asset's prec_save: an ask reserves its stock amount; a limit bid reserves
// price × amount; a market bid reserves its money amount. The balance shard
// and the book compute it with this one function.
func (c *Config) Reservation(typ messages.OrderType, side messages.Side, amount, price int64) (messages.AssetID, uint256.Int) {
	switch {
	case side == messages.Ask:
		return c.Stock, c.stockSave(amount)
	case typ == messages.Limit:
		return c.Money, c.dealMoney(price, amount)
	default:
		return c.Money, fixed.FromInt64(amount, c.MoneyPrec, c.MoneySave)
	}
}

// CheckLimit validates a limit order's arguments (code 1). The shard runs it
// before reserving funds; the book runs it again in decide.
func (c *Config) CheckLimit(cmd *messages.PutLimit) *messages.Error {
	if err := c.checkCommon(cmd.User, cmd.Side, cmd.Amount, cmd.TakerFee, cmd.Source); err != nil {
		return err
	}
	if cmd.Price <= 0 || cmd.MakerFee < 0 || cmd.MakerFee >= c.feeOne() {
		return messages.ErrInvalidArgument
	}
	if cmd.TIF != messages.GTC || cmd.PostOnly || cmd.STP != messages.STPDefault || cmd.ClientID != "" || cmd.StopPrice != 0 {
		if cmd.TIF > messages.FOK || (cmd.PostOnly && cmd.TIF != messages.GTC) {
			return messages.ErrInvalidArgument
		}
		return checkOptions(cmd.STP, cmd.ClientID, cmd.StopPrice)
	}
	return nil
}

// CheckMinAmount reports code 11 for a limit order below min_amount.
func (c *Config) CheckMinAmount(amount int64) *messages.Error {
	if amount < c.MinAmount {
		return messages.ErrAmountTooSmall
	}
	return nil
}

// CheckMarket validates a market order's arguments (code 1).
func (c *Config) CheckMarket(cmd *messages.PutMarket) *messages.Error {
	if err := c.checkCommon(cmd.User, cmd.Side, cmd.Amount, cmd.TakerFee, cmd.Source); err != nil {
		return err
	}
	if cmd.STP != messages.STPDefault || cmd.ClientID != "" || cmd.StopPrice != 0 {
		return checkOptions(cmd.STP, cmd.ClientID, cmd.StopPrice)
	}
	return nil
}

// MaxClientID is the longest client order id, in bytes.
const MaxClientID = 32

// ValidClientID reports whether id may be a client order id: 1 to
// MaxClientID bytes of ASCII letters, digits and . _ : -
func ValidClientID(id string) bool {
	if len(id) == 0 || len(id) > MaxClientID {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkOptions(stp messages.STP, clientID string, stopPrice int64) *messages.Error {
	if stp > messages.STPCancelBoth || stopPrice < 0 || (clientID != "" && !ValidClientID(clientID)) {
		return messages.ErrInvalidArgument
	}
	return nil
}

// MaxSource is the longest accepted order source, in bytes (docs/protocol.md D16).
const MaxSource = 30

func (c *Config) checkCommon(user uint32, side messages.Side, amount, takerFee int64, source string) *messages.Error {
	if user == 0 || (side != messages.Ask && side != messages.Bid) || amount <= 0 ||
		takerFee < 0 || takerFee >= c.feeOne() || len(source) > MaxSource {
		return messages.ErrInvalidArgument
	}
	return nil
}

// feeOne is a fee rate of 1 in fee_prec units (fee_prec ≤ 18 by config).
func (c *Config) feeOne() int64 { return int64(fixed.Pow10(c.FeePrec).Uint64()) }

// rescale is fixed.Rescale, with 128-bit arithmetic when u < 2^128 and the
// power of ten fits in 64 bits: the common case, as deal values are
// products of two int64 (askFee's product of three falls back).
func rescale(u *uint256.Int, from, to int) uint256.Int {
	if u[2]|u[3] == 0 {
		switch {
		case to == from:
			return *u
		case to < from && from-to <= 19:
			d := fixed.Pow10(from - to)[0]
			q1, r := bits.Div64(0, u[1], d)
			q0, _ := bits.Div64(r, u[0], d)
			return uint256.Int{q0, q1, 0, 0}
		case to > from && to-from <= 19:
			m := fixed.Pow10(to - from)[0]
			h0, l0 := bits.Mul64(u[0], m)
			h1, l1 := bits.Mul64(u[1], m)
			mid, carry := bits.Add64(h0, l1, 0)
			return uint256.Int{l0, mid, h1 + carry, 0}
		}
	}
	return fixed.Rescale(u, from, to)
}
