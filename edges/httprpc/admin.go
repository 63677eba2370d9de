package httprpc

import "github.com/bourse-exchange/bourse/messages"

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
