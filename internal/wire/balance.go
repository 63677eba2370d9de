package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Asset is what the encodings need to know of an asset.
type Asset struct {
	Name string
	Save int // prec_save: the ledger's units
	Show int // prec_show: what balance.query prints and balance.update accepts
}

// AppendBalance appends one member of balance.query's result:
// "NAME":{"available":"…","freeze":"…"}, stripped at prec_show (the
// ledger's units rescaled, truncated).
func AppendBalance(b []byte, a *Asset, bal *messages.Balance) []byte {
	b = AppendString(b, a.Name)
	b = append(b, `:{"available":`...)
	v := fixed.Rescale(&bal.Available, a.Save, a.Show)
	b = AppendAmount(b, &v, a.Show)
	b = append(b, `,"freeze":`...)
	v = fixed.Rescale(&bal.Frozen, a.Save, a.Show)
	b = AppendAmount(b, &v, a.Show)
	return append(b, '}')
}

// AppendAssetSummary appends one element of asset.summary's result;
// total is available + frozen.
func AppendAssetSummary(b []byte, a *Asset, row *messages.AssetSummaryRow, total *uint256.Int) []byte {
	b = append(b, `{"name":`...)
	b = AppendString(b, a.Name)
	b = append(b, `,"total_balance":`...)
	b = AppendAmount(b, total, a.Save)
	b = append(b, `,"available_count":`...)
	b = strconv.AppendInt(b, int64(row.AvailableCount), 10)
	b = append(b, `,"available_balance":`...)
	b = AppendAmount(b, &row.Available, a.Save)
	b = append(b, `,"freeze_count":`...)
	b = strconv.AppendInt(b, int64(row.FrozenCount), 10)
	b = append(b, `,"freeze_balance":`...)
	b = AppendAmount(b, &row.Frozen, a.Save)
	return append(b, '}')
}

// BalanceChange is one balance.update change as the balances topic
// carries it.
type BalanceChange struct {
	Time     int64 // Unix µs
	User     uint32
	Business string
	Change   *uint256.Int // magnitude, at a.Save
	Negative bool
}

// AppendBalanceChange appends a balances topic message: [time, user_id,
// asset, business, change]. The change is raw (every fractional digit
// printed) at the asset's prec_show, the precision balance.update
// accepts, or at prec_save when the value has more digits than prec_show
// (never truncated).
func AppendBalanceChange(b []byte, a *Asset, c *BalanceChange) []byte {
	change, scale := c.Change, a.Save
	var q uint256.Int
	if a.Show < a.Save {
		var r uint256.Int
		q.DivMod(c.Change, fixed.Pow10(a.Save-a.Show), &r)
		if r.IsZero() {
			change, scale = &q, a.Show
		}
	}
	b = append(b, '[')
	b = AppendTime(b, c.Time)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(c.User), 10)
	b = append(b, ',')
	b = AppendString(b, a.Name)
	b = append(b, ',')
	b = AppendString(b, c.Business)
	b = append(b, ',', '"')
	if c.Negative && !change.IsZero() {
		b = append(b, '-')
	}
	b = AppendRaw(b, change, scale)
	return append(b, '"', ']')
}

// AppendPage starts a history page: {"offset":O,"limit":L,"records":[.
// The caller appends the records and "]}".
func AppendPage(b []byte, offset, limit int) []byte {
	b = append(b, `{"offset":`...)
	b = strconv.AppendInt(b, int64(offset), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	return append(b, `,"records":[`...)
}

// AppendBalanceRecord appends one record of balance.history: {"time",
// "asset", "business", "change", "balance", "detail"}.
func AppendBalanceRecord(b []byte, rec *messages.BalanceRecord) []byte {
	b = append(b, `{"time":`...)
	b = AppendTime(b, rec.Time)
	b = append(b, `,"asset":`...)
	b = AppendString(b, rec.Asset)
	b = append(b, `,"business":`...)
	b = AppendString(b, rec.Business)
	b = append(b, `,"change":`...)
	b = AppendString(b, rec.Change)
	b = append(b, `,"balance":`...)
	b = AppendString(b, rec.Balance)
	b = append(b, `,"detail":`...)
	b = appendDetail(b, rec.Detail)
	return append(b, '}')
}

// appendDetail appends a stored detail when it is a JSON object, else {}
// (as viabtc's readhistory).
func appendDetail(b []byte, detail []byte) []byte {
	d := bytes.TrimSpace(detail)
	if len(d) == 0 || d[0] != '{' || !utf8.Valid(d) || !json.Valid(d) {
		return append(b, "{}"...)
	}
	return append(b, d...)
}

// AppendDealRecord appends one deal record of order.deals: {"time",
// "user", "id", "role", "price", "amount", "deal", "fee",
// "deal_order_id"}; withUser (market.user_deals) adds "side" after "id"
// and "market" at the end.
func AppendDealRecord(b []byte, d *messages.DealRecord, withUser bool) []byte {
	b = append(b, `{"time":`...)
	b = AppendTime(b, d.Time)
	b = append(b, `,"user":`...)
	b = strconv.AppendUint(b, uint64(d.User), 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendUint(b, d.ID, 10)
	if withUser {
		b = append(b, `,"side":`...)
		b = strconv.AppendUint(b, uint64(d.Side), 10)
	}
	b = append(b, `,"role":`...)
	b = strconv.AppendUint(b, uint64(d.Role), 10)
	for _, f := range [...]struct{ key, v string }{
		{`,"price":`, d.Price}, {`,"amount":`, d.Amount}, {`,"deal":`, d.Deal}, {`,"fee":`, d.Fee},
	} {
		b = append(b, f.key...)
		b = AppendString(b, f.v)
	}
	b = append(b, `,"deal_order_id":`...)
	b = strconv.AppendUint(b, d.DealOrderID, 10)
	if withUser {
		b = append(b, `,"market":`...)
		b = AppendString(b, d.Market)
	}
	return append(b, '}')
}
