package httprpc

import (
	"bytes"

	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// The balance and asset methods (docs/protocol.md "HTTP methods"),
// answered by the balance shards or from configuration.

// balance.query [user_id, asset…] (docs/protocol.md). user_id 0 (the fee account) is
// allowed.
func (c *call) balanceQuery() error {
	p := c.params
	if len(p) < 1 {
		return errCount("at least 1 param", p, "user_id", "asset…")
	}
	user, ok := argUser(p[0], true)
	if !ok {
		return errUserIDZero
	}
	var assets []messages.AssetID
	if len(p) > 1 {
		seen := newNameSet(len(c.cfg.Assets))
		for _, raw := range p[1:] {
			a, ok := argAsset(c.cfg, raw)
			if !ok {
				return errAsset
			}
			if seen.add(int(a.ID)) {
				assets = append(assets, a.ID)
			}
		}
	}
	rep, err := c.do(&messages.BalanceQuery{User: user, Assets: assets})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.BalanceQueryReply)
	if !ok || r == nil || len(r.Assets) != len(r.Balances) {
		return errInternal
	}
	b := append(c.out, '{')
	for i, id := range r.Assets {
		if int(id) >= len(c.cfg.Assets) {
			return errInternal
		}
		if i > 0 {
			b = append(b, ',')
		}
		a := c.cfg.Assets[id].Wire()
		b = wire.AppendBalance(b, &a, &r.Balances[i])
	}
	c.out = append(b, '}')
	return nil
}

// balance.update [user_id, asset, business, business_id, change, detail]
// (docs/protocol.md). change is parsed at prec_show and sent at prec_save.
func (c *call) balanceUpdate() error {
	p := c.params
	if len(p) != 6 {
		return errCount("6 params", p, "user_id", "asset", "business", "business_id", "change", "detail")
	}
	user, ok := argUser(p[0], false)
	if !ok {
		return errUserID
	}
	a, ok := argAsset(c.cfg, p[1])
	if !ok {
		return errAsset
	}
	business, ok := argString(p[2], MaxBusinessLen)
	if !ok {
		return errBusiness
	}
	businessID, ok := argUint(p[3], ^uint64(0))
	if !ok {
		return errBusinessID
	}
	change, neg, ok := argChange(p[4], a)
	if !ok {
		return errChange(a)
	}
	detail, ok := argDetail(p[5])
	if !ok {
		return errDetail
	}
	rep, err := c.do(&messages.BalanceUpdate{
		User:       user,
		Asset:      a.ID,
		Business:   business,
		BusinessID: businessID,
		Change:     change,
		Negative:   neg,
		Detail:     bytes.Clone(detail),
		Time:       now(),
	})
	if err != nil {
		return err
	}
	return c.status(rep)
}

// status appends {"status":"success"} for a *messages.StatusReply.
func (c *call) status(rep messages.Reply) error {
	if r, ok := rep.(*messages.StatusReply); !ok || r == nil {
		return errInternal
	}
	c.out = append(c.out, `{"status":"success"}`...)
	return nil
}

// asset.list (docs/protocol.md): params ignored, answered from configuration.
func (c *call) assetList() error {
	c.out = append(c.out, c.s.assetListOf(c.cfg)...)
	return nil
}

// asset.summary [] or [asset…] (docs/protocol.md): one AssetSummary; the exchange sums
// the shards.
func (c *call) assetSummary() error {
	var assets []messages.AssetID
	if len(c.params) > 0 {
		seen := newNameSet(len(c.cfg.Assets))
		for _, raw := range c.params {
			a, ok := argAsset(c.cfg, raw)
			if !ok {
				return errAsset
			}
			if seen.add(int(a.ID)) {
				assets = append(assets, a.ID)
			}
		}
	}
	rep, err := c.do(&messages.AssetSummary{Assets: assets})
	if err != nil {
		return err
	}
	r, ok := rep.(*messages.AssetSummaryReply)
	if !ok || r == nil {
		return errInternal
	}
	b := append(c.out, '[')
	for i := range r.Rows {
		row := &r.Rows[i]
		if int(row.Asset) >= len(c.cfg.Assets) {
			return errInternal
		}
		a := c.cfg.Assets[row.Asset].Wire()
		var total uint256.Int
		if _, overflow := total.AddOverflow(&row.Available, &row.Frozen); overflow {
			return errInternal
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendAssetSummary(b, &a, row, &total)
	}
	c.out = append(b, ']')
	return nil
}
