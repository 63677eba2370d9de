package marketdata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/redis/go-redis/v9"
)

// Redis layout (docs/protocol.md "Redis layout"), every key behind Options.KeyPrefix:
//
//	k:<market>:1s|1m|1h|1d  hash   field: bucket start, Unix seconds;
//	                               value: ["open","close","high","low","volume","deal"]
//	k:<market>:deals        list   {"id","time","price","amount","type"}, newest at the head
//	k:<market>:last         string last price at money_prec, not stripped ("8000.00")
//	k:lsn                   string the last journal record applied
//	k:journal               string the journal mark k:lsn belongs to (journal.Identity.Mark)
//
// Decimals are plain (docs/protocol.md D2): prices at money_prec, volume at
// stock_prec, deal at the money asset's prec_save, trailing zeros stripped
// except in k:<market>:last.

// ErrConflict is returned by Apply when k:lsn no longer holds the cursor
// the store wrote last: another writer, or a Redis that was emptied or
// restored. Nothing was written; the next Cursor reloads the state from
// Redis and the feed resumes from the cursor found there.
var ErrConflict = errors.New("marketdata: k:lsn changed under the store (another writer?); reloading")

// keys names a store's Redis keys.
type keys struct {
	prefix  string
	kline   [][numRes]string // by market, resolution
	deals   []string
	last    []string
	lsn     string
	journal string
}

func newKeys(prefix string, cfg *config.Config) *keys {
	k := &keys{prefix: prefix, lsn: prefix + "k:lsn", journal: prefix + "k:journal"}
	for _, m := range cfg.Markets {
		var kl [numRes]string
		for r := Sec; r < numRes; r++ {
			kl[r] = prefix + "k:" + m.Name + ":" + r.String()
		}
		k.kline = append(k.kline, kl)
		k.deals = append(k.deals, prefix+"k:"+m.Name+":deals")
		k.last = append(k.last, prefix+"k:"+m.Name+":last")
	}
	return k
}

// all lists every key of the layout.
func (k *keys) all() []string {
	out := []string{k.lsn, k.journal}
	for i := range k.deals {
		out = append(out, k.kline[i][:]...)
		out = append(out, k.deals[i], k.last[i])
	}
	return out
}

// parseBucket reads a bucket's hash value; like viabtc it accepts five
// elements (no deal: 0). Decimals are truncated to the market's
// precisions.
func parseBucket(v string, m *config.Market) (c messages.Candle, err error) {
	var a []string
	if err := json.Unmarshal([]byte(v), &a); err != nil || len(a) < 5 {
		return c, fmt.Errorf("bucket %q: not an array of at least 5 strings", v)
	}
	prices := []*int64{&c.Open, &c.Close, &c.High, &c.Low}
	for i, p := range prices {
		var neg bool
		if *p, neg, err = fixed.ParseInt64(a[i], m.MoneyPrec); err != nil || neg {
			return c, fmt.Errorf("bucket %q: bad price %q", v, a[i])
		}
	}
	var neg bool
	if c.Volume, neg, err = fixed.Parse(a[4], m.StockPrec); err != nil || neg {
		return c, fmt.Errorf("bucket %q: bad volume %q", v, a[4])
	}
	if len(a) > 5 {
		if c.Deal, neg, err = fixed.Parse(a[5], m.MoneyAsset.PrecSave); err != nil || neg {
			return c, fmt.Errorf("bucket %q: bad deal %q", v, a[5])
		}
	}
	return c, nil
}

// parseTime reads what wire.AppendTime wrote (any JSON number of seconds,
// truncated to microseconds).
func parseTime(n json.Number) (int64, error) {
	u, neg, err := fixed.Parse(string(n), 6)
	if err != nil || !u.IsUint64() || u.Uint64() > 1<<62 {
		return 0, fmt.Errorf("bad time %q", n)
	}
	if neg {
		return -int64(u.Uint64()), nil
	}
	return int64(u.Uint64()), nil
}

// parseDeal reads one entry of the deals list.
func parseDeal(v string, m *config.Market) (d messages.MarketDeal, err error) {
	var o struct {
		ID     uint64      `json:"id"`
		Time   json.Number `json:"time"`
		Price  string      `json:"price"`
		Amount string      `json:"amount"`
		Type   string      `json:"type"`
	}
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if err := dec.Decode(&o); err != nil {
		return d, fmt.Errorf("deal %q: %v", v, err)
	}
	d.ID = o.ID
	if d.Time, err = parseTime(o.Time); err != nil {
		return d, fmt.Errorf("deal %q: %v", v, err)
	}
	var neg bool
	if d.Price, neg, err = fixed.ParseInt64(o.Price, m.MoneyPrec); err != nil || neg || d.Price == 0 {
		return d, fmt.Errorf("deal %q: bad price", v)
	}
	if d.Amount, neg, err = fixed.ParseInt64(o.Amount, m.StockPrec); err != nil || neg {
		return d, fmt.Errorf("deal %q: bad amount", v)
	}
	switch o.Type {
	case "sell":
		d.Side = messages.Ask
	case "buy":
		d.Side = messages.Bid
	default:
		return d, fmt.Errorf("deal %q: bad type", v)
	}
	return d, nil
}

// load reads the whole state from Redis into a new model: bucket series,
// deals (up to the model's limit), last prices and the cursor k:lsn (0
// when absent). Buckets past their retention at now are dropped from the
// model and recorded in ch, so that the next write removes them from
// Redis too.
func load(ctx context.Context, rdb redis.Cmdable, k *keys, cfg *config.Config, now int64, ch *changes) (*Model, error) {
	m := NewModel(cfg)
	lsn, err := getLSN(ctx, rdb, k.lsn)
	if err != nil {
		return nil, err
	}
	m.lsn = lsn
	switch mark, err := rdb.Get(ctx, k.journal).Result(); {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return nil, err
	default:
		m.mark = mark
	}
	for id, cm := range cfg.Markets {
		mk := m.markets[id]
		for r := Sec; r < numRes; r++ {
			h, err := rdb.HGetAll(ctx, k.kline[id][r]).Result()
			if err != nil {
				return nil, err
			}
			s := make(series, 0, len(h))
			for f, v := range h {
				t, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("marketdata: %s field %q: not a time", k.kline[id][r], f)
				}
				c, err := parseBucket(v, cm)
				if err != nil {
					return nil, fmt.Errorf("marketdata: %s field %s: %w", k.kline[id][r], f, err)
				}
				c.Time = t
				s = append(s, c)
			}
			slices.SortFunc(s, func(a, b messages.Candle) int { return cmpInt(a.Time, b.Time) })
			mk.series[r] = s
		}
		list, err := rdb.LRange(ctx, k.deals[id], 0, int64(m.dealsMax)-1).Result()
		if err != nil {
			return nil, err
		}
		mk.deals = make([]messages.MarketDeal, len(list))
		for i, v := range list {
			d, err := parseDeal(v, cm)
			if err != nil {
				return nil, fmt.Errorf("marketdata: %s: %w", k.deals[id], err)
			}
			mk.deals[len(list)-1-i] = d
		}
		last, err := rdb.Get(ctx, k.last[id]).Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, err
		default:
			v, neg, err := fixed.ParseInt64(last, cm.MoneyPrec)
			if err != nil || neg {
				return nil, fmt.Errorf("marketdata: %s: bad price %q", k.last[id], last)
			}
			mk.last = v
		}
	}
	m.trim(now, ch)
	return m, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// getLSN reads k:lsn (0 when absent).
func getLSN(ctx context.Context, rdb redis.Cmdable, key string) (uint64, error) {
	v, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	lsn, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("marketdata: %s = %q: not an LSN", key, v)
	}
	return lsn, nil
}

// batch is one write to Redis: the changed state as of LSN, built from the
// model under its lock and sent without it.
type batch struct {
	lsn   uint64
	mark  string
	hset  map[string][]any // key → field, value, field, value…
	hdel  map[string][]string
	lpush map[string][]any // key → values, oldest first
	set   []string         // key, value, key, value…
}

// buildBatch turns ch into the commands that bring Redis to m's state.
func buildBatch(m *Model, k *keys, ch *changes) *batch {
	b := &batch{lsn: m.lsn, mark: m.mark, hset: map[string][]any{}, hdel: map[string][]string{}, lpush: map[string][]any{}}
	var buf []byte
	for key := range ch.buckets {
		s := m.markets[key.market].series[key.res]
		name := k.kline[key.market][key.res]
		field := strconv.FormatInt(key.time, 10)
		if i := s.search(key.time); i < len(s) && s[i].Time == key.time {
			wm := m.cfg.Markets[key.market].Wire()
			buf = wire.AppendBucket(buf[:0], &wm, &s[i])
			b.hset[name] = append(b.hset[name], field, string(buf))
		} else {
			b.hdel[name] = append(b.hdel[name], field)
		}
	}
	for id, ds := range ch.deals {
		if len(ds) > m.dealsMax {
			ds = ds[len(ds)-m.dealsMax:]
		}
		vals := make([]any, len(ds))
		wm := m.cfg.Markets[id].Wire()
		for i := range ds {
			buf = wire.AppendMarketDeal(buf[:0], &wm, &ds[i])
			vals[i] = string(buf)
		}
		b.lpush[k.deals[id]] = vals
	}
	for id := range ch.last {
		b.set = append(b.set, k.last[id], wire.FormatPrice(m.markets[id].last, m.cfg.Markets[id].MoneyPrec))
	}
	return b
}

// write sends b in one MULTI/EXEC, provided k:lsn still holds prev (WATCH).
// It returns ErrConflict when it does not; nothing is written then.
func (b *batch) write(ctx context.Context, rdb *redis.Client, k *keys, prev uint64, dealsMax int) error {
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := getLSN(ctx, tx, k.lsn)
		if err != nil {
			return err
		}
		if cur != prev {
			return ErrConflict
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for key, fv := range b.hset {
				p.HSet(ctx, key, fv...)
			}
			for key, fs := range b.hdel {
				p.HDel(ctx, key, fs...)
			}
			for key, vals := range b.lpush {
				p.LPush(ctx, key, vals...)
				p.LTrim(ctx, key, 0, int64(dealsMax)-1)
			}
			for i := 0; i < len(b.set); i += 2 {
				p.Set(ctx, b.set[i], b.set[i+1], 0)
			}
			p.Set(ctx, k.lsn, strconv.FormatUint(b.lsn, 10), 0)
			if b.mark != "" {
				p.Set(ctx, k.journal, b.mark, 0)
			}
			return nil
		})
		return err
	}, k.lsn)
	if errors.Is(err, redis.TxFailedErr) {
		return ErrConflict
	}
	return err
}

// parseRedisAddr makes client options from "host:port" or a redis:// (or
// rediss://) URL.
func parseRedisAddr(addr string) (*redis.Options, error) {
	if strings.Contains(addr, "://") {
		o, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("marketdata: redis %q: %w", addr, err)
		}
		return o, nil
	}
	return &redis.Options{Addr: addr}, nil
}

// claim sets k:journal to mark — after deleting every key of the layout
// when wipe is set — in one MULTI/EXEC, provided k:lsn still holds prev
// (else ErrConflict).
func claim(ctx context.Context, rdb *redis.Client, k *keys, prev uint64, mark string, wipe bool) error {
	err := rdb.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := getLSN(ctx, tx, k.lsn)
		if err != nil {
			return err
		}
		if cur != prev {
			return ErrConflict
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if wipe {
				p.Del(ctx, k.all()...)
			}
			p.Set(ctx, k.journal, mark, 0)
			return nil
		})
		return err
	}, k.lsn)
	if errors.Is(err, redis.TxFailedErr) {
		return ErrConflict
	}
	return err
}
