package httprpc

import (
	"strconv"

	"github.com/bourse-exchange/bourse/actors"
	"github.com/bourse-exchange/bourse/internal/wire"
)

// server.state [] (Bourse's own): {"lsn": N, "hash": "<sha256 hex>",
// "followers": {name: {"cursor", "lag", "errors"}}}: the journal's last
// committed LSN, the state hash (exact on a quiescent node) and, on a node
// running journal followers, where each stands.
func (c *call) serverState() error {
	if len(c.params) != 0 {
		return errCount("no params", c.params)
	}
	sr, ok := c.s.ex.(actors.StateReporter)
	if !ok {
		return errInternal
	}
	lsn, hash, err := sr.State(c.ctx)
	if err != nil {
		return timeoutError{err}
	}
	c.out = append(c.out, `{"lsn":`...)
	c.out = strconv.AppendUint(c.out, lsn, 10)
	c.out = append(c.out, `,"hash":"`...)
	c.out = append(c.out, hash...)
	c.out = append(c.out, '"')
	if fr, ok := c.s.ex.(actors.FollowerReporter); ok {
		c.out = append(c.out, `,"followers":{`...)
		for i, f := range fr.Followers() {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.out = wire.AppendString(c.out, f.Name)
			c.out = append(c.out, `:{"cursor":`...)
			c.out = strconv.AppendUint(c.out, f.Cursor, 10)
			c.out = append(c.out, `,"lag":`...)
			c.out = strconv.AppendUint(c.out, f.Lag, 10)
			c.out = append(c.out, `,"errors":`...)
			c.out = strconv.AppendInt(c.out, f.Errors, 10)
			c.out = append(c.out, '}')
		}
		c.out = append(c.out, '}')
	}
	c.out = append(c.out, '}')
	return nil
}
