package httprpc

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
)

// The operator's methods: journaled like orders, behind the same bearer
// token as the rest of this API (SECURITY.md).

func (c *call) marketHalt() error   { return c.halt(true) }
func (c *call) marketResume() error { return c.halt(false) }

// market.halt [market] and market.resume [market]: a halted market refuses
// new orders with code 16 "market halted"; cancels, amends and dead-man's
// switches still work. Answers {"status":"success"}, also when the market
// already was halted (resumed); then nothing is journaled.
func (c *call) halt(halt bool) error {
	if len(c.params) != 1 {
		return errCount("1 param", c.params, "market")
	}
	m, ok := argMarket(c.cfg, c.params[0])
	if !ok {
		return errMarket
	}
	rep, err := c.do(&messages.MarketHalt{Market: m.ID, Halt: halt, Time: now()})
	if err != nil {
		return err
	}
	return c.status(rep)
}

// The run-time configuration changes (runtime/configure.go): the edge
// checks each param's JSON type, the node every rule of the configuration
// file (internal/config) against the configuration in force, answering code
// 1 with the parameter and the rule, and journals the change before it
// answers {"status":"success"}.

// Names listed at run time: letters, digits and _ - . only (they appear in
// keys of the followers' stores and in Kafka messages).
func argListName(raw []byte, max int) (string, bool) {
	s, ok := argString(raw, max)
	if !ok || s == "" {
		return "", false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return "", false
		}
	}
	return s, true
}

func errName(max int) *messages.Error {
	return badParam("name", "must be a string of 1 to "+strconv.Itoa(max)+" ASCII letters, digits or _ - .")
}

// argPrec parses a precision: a JSON integer from 0 to 255 (the node
// checks the rule of each).
func argPrec(raw []byte) (int, bool) {
	v, ok := argUint(raw, 255)
	return int(v), ok
}

func errPrec(param string) *messages.Error {
	return badParam(param, "must be an integer ≥ 0")
}

// asset.add [name, prec_save, prec_show?] (Bourse): lists an asset; its
// prec_show is prec_save when left out.
func (c *call) assetAdd() error {
	p := c.params
	if len(p) != 2 && len(p) != 3 {
		return errCount("2 or 3 params", p, "name", "prec_save", "prec_show?")
	}
	name, ok := argListName(p[0], config.MaxAssetName)
	if !ok {
		return errName(config.MaxAssetName)
	}
	cmd := &messages.AssetAdd{Name: name, PrecShow: -1}
	if cmd.PrecSave, ok = argPrec(p[1]); !ok {
		return errPrec("prec_save")
	}
	if len(p) == 3 {
		if cmd.PrecShow, ok = argPrec(p[2]); !ok {
			return errPrec("prec_show")
		}
	}
	return c.change(cmd)
}

// market.add [name, stock, money, stock_prec, money_prec, fee_prec,
// min_amount, max_open_orders?, stp?, maker_fee?, taker_fee?] (Bourse):
// lists a market of two listed assets; max_open_orders is 1000, stp none
// and the fee rates 0 when left out.
func (c *call) marketAdd() error {
	p := c.params
	if len(p) < 7 || len(p) > 11 {
		return errCount("7 to 11 params", p, "name", "stock", "money", "stock_prec", "money_prec", "fee_prec", "min_amount",
			"max_open_orders?", "stp?", "maker_fee?", "taker_fee?")
	}
	name, ok := argListName(p[0], config.MaxMarketName)
	if !ok {
		return errName(config.MaxMarketName)
	}
	cmd := &messages.MarketAdd{Name: name}
	if cmd.Stock, ok = argString(p[1], config.MaxAssetName); !ok || c.cfg.Asset(cmd.Stock) == nil {
		return badParam("stock", "must be the name of a listed asset (asset.list; case-sensitive)")
	}
	if cmd.Money, ok = argString(p[2], config.MaxAssetName); !ok || c.cfg.Asset(cmd.Money) == nil {
		return badParam("money", "must be the name of a listed asset (asset.list; case-sensitive)")
	}
	for i, f := range []struct {
		param string
		v     *int
	}{{"stock_prec", &cmd.StockPrec}, {"money_prec", &cmd.MoneyPrec}, {"fee_prec", &cmd.FeePrec}} {
		if *f.v, ok = argPrec(p[3+i]); !ok {
			return errPrec(f.param)
		}
	}
	if cmd.MinAmount, ok = argString(p[6], 64); !ok || cmd.MinAmount == "" {
		return errMinAmount
	}
	if len(p) > 7 {
		if cmd.MaxOpenOrders, ok = argMaxOpen(p[7]); !ok {
			return errMaxOpen
		}
	}
	if len(p) > 8 {
		if cmd.STP, ok = argSTP(p[8]); !ok {
			return errSTP
		}
	}
	for i, f := range []*string{&cmd.MakerFee, &cmd.TakerFee} {
		if len(p) > 9+i {
			if *f, ok = argFeeDefault(p[9+i]); !ok {
				return errFeeDefault([]string{"maker_fee", "taker_fee"}[i])
			}
		}
	}
	return c.change(cmd)
}

// market.update [market, rules] (Bourse): changes a market's trading rules
// — an object of min_amount, max_open_orders, stp, maker_fee and
// taker_fee, each optional.
func (c *call) marketUpdate() error {
	p := c.params
	if len(p) != 2 {
		return errCount("2 params", p, "market", "rules")
	}
	m, ok := argMarket(c.cfg, p[0])
	if !ok {
		return errMarket
	}
	cmd := &messages.MarketUpdate{Market: m.ID}
	var fields map[string]json.RawMessage
	const keys = `"min_amount", "max_open_orders", "stp", "maker_fee", "taker_fee"`
	if len(p[1]) == 0 || p[1][0] != '{' || json.Unmarshal(p[1], &fields) != nil {
		return badParam("rules", "must be an object of "+keys)
	}
	for _, key := range slices.Sorted(maps.Keys(fields)) { // the first bad key in a fixed order
		v := fields[key]
		if string(v) == "null" {
			continue
		}
		switch key {
		case "min_amount":
			s, ok := argString(v, 64)
			if !ok || s == "" {
				return errMinAmount
			}
			cmd.MinAmount = &s
		case "max_open_orders":
			n, ok := argMaxOpen(v)
			if !ok {
				return errMaxOpen
			}
			cmd.MaxOpenOrders = &n
		case "stp":
			s, ok := argSTP(v)
			if !ok {
				return errSTP
			}
			cmd.STP = &s
		case "maker_fee", "taker_fee":
			s, ok := argFeeDefault(v)
			if !ok {
				return errFeeDefault(key)
			}
			if key == "maker_fee" {
				cmd.MakerFee = &s
			} else {
				cmd.TakerFee = &s
			}
		default:
			return badParam("rules", "has an unknown key "+strconv.Quote(key)+"; known: "+keys)
		}
	}
	return c.change(cmd)
}

var (
	errMinAmount = badParam("min_amount", "must be a decimal string ≥ 0 at the market's stock_prec")
	errMaxOpen   = badParam("max_open_orders", "must be an integer ≥ 1, or -1 for no limit")
	errSTP       = badParam("stp", `must be "none", "cancel_taker", "cancel_maker" or "cancel_both"`)
)

// errFeeDefault is the refusal of a market's maker_fee or taker_fee (param)
// that is not a string; the node checks the rest of the rule (config).
func errFeeDefault(param string) *messages.Error {
	return badParam(param, "must be a decimal string ≥ 0 and < 1 with at most the market's fee_prec decimals")
}

// argFeeDefault parses a market's maker_fee or taker_fee: a non-empty
// decimal string the node checks further (config).
func argFeeDefault(raw []byte) (string, bool) {
	s, ok := argString(raw, 64)
	return s, ok && s != ""
}

// argMaxOpen parses max_open_orders: ≥ 1, or -1 for no limit.
func argMaxOpen(raw []byte) (int, bool) {
	v, ok := argInt64(raw)
	if !ok || v == 0 || v < -1 || v > math.MaxInt32 {
		return 0, false
	}
	return int(v), true
}

// argSTP parses a market's default self-trade prevention mode.
func argSTP(raw []byte) (string, bool) {
	s, ok := argString(raw, 12)
	if !ok {
		return "", false
	}
	mode, ok := config.ParseSTP(s)
	return s, ok && mode != messages.STPDefault
}

// change sends a configuration change and answers its status.
func (c *call) change(cmd messages.ConfigCommand) error {
	rep, err := c.do(cmd)
	if err != nil {
		return err
	}
	return c.status(rep)
}
