// Package config loads and validates Bourse's configuration file.
//
// One YAML file declares assets, markets, the fee account, the number of
// balance shards and the edges' limits. The default file, bourse.yaml, is
// embedded in the binary and used when no -config is given. Load validates
// everything at start-up and names the offending field in its error; after
// that a *Config is immutable and shared by all actors.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/messages"
	"go.yaml.in/yaml/v3"
)

// Default is the embedded default configuration file.
//
//go:embed bourse.yaml
var Default []byte

// Asset is one configured asset.
type Asset struct {
	Name     string `yaml:"name"`
	PrecSave int    `yaml:"prec_save"`
	PrecShow *int   `yaml:"prec_show"` // nil: PrecSave

	ID messages.AssetID `yaml:"-"`
}

// Show returns the display/input precision.
func (a *Asset) Show() int {
	if a.PrecShow == nil {
		return a.PrecSave
	}
	return *a.PrecShow
}

// Market is one configured market.
type Market struct {
	Name      string  `yaml:"name"`
	Stock     string  `yaml:"stock"`
	Money     string  `yaml:"money"`
	StockPrec int     `yaml:"stock_prec"`
	MoneyPrec int     `yaml:"money_prec"`
	FeePrec   *int    `yaml:"fee_prec"`   // nil: 4
	MinAmount *string `yaml:"min_amount"` // nil: "0.01"
	// MaxOpenOrders bounds one user's open orders in this market (a limit
	// order that would rest, or a stop order, beyond it gets code 8); 0 or
	// absent: DefaultMaxOpenOrders; -1: no limit.
	MaxOpenOrders int `yaml:"max_open_orders"`
	// STP is the self-trade prevention mode of orders that choose none:
	// none (default, as viabtc), cancel_taker, cancel_maker or
	// cancel_both.
	STP string `yaml:"stp"`
	// MakerFee and TakerFee are the fee rates of the orders a websocket
	// connection places for its own user (the client never chooses its
	// fee there; HTTP callers pass theirs): decimals from 0 to less than
	// 1 with at most fee_prec decimals; absent: DefaultFeeRate. Market
	// rules, like min_amount: durable (durable.go), the file seeds them
	// and market.update changes them; an order keeps the rates it was
	// placed with.
	MakerFee *string `yaml:"maker_fee"`
	TakerFee *string `yaml:"taker_fee"`

	ID messages.MarketID `yaml:"-"`
	// Resolved at load.
	StockAsset *Asset       `yaml:"-"`
	MoneyAsset *Asset       `yaml:"-"`
	Fee        int          `yaml:"-"` // fee_prec
	MinUnits   int64        `yaml:"-"` // min_amount at stock_prec
	STPMode    messages.STP `yaml:"-"` // stp
	MakerUnits int64        `yaml:"-"` // maker_fee at fee_prec
	TakerUnits int64        `yaml:"-"` // taker_fee at fee_prec
	// Tuning is tuning.market with tuning.markets[name] over it.
	Tuning MarketTuning `yaml:"-"`
}

// Snapshot configures the snapshot follower.
type Snapshot struct {
	Interval       time.Duration `yaml:"interval"`
	Keep           int           `yaml:"keep"`
	MaxFollowerLag uint64        `yaml:"max_follower_lag"`
}

// HTTP configures the JSON-RPC edge.
type HTTP struct {
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
	Timeout      time.Duration `yaml:"timeout"`
	// MaxConns is how many connections the HTTP listener keeps open at
	// once (idle keep-alive ones included); one more is answered HTTP 503
	// and closed at once (internal/netguard). cmd/bourse lowers it to fit
	// RLIMIT_NOFILE. 0: no limit. Default 1024.
	MaxConns int `yaml:"max_conns"`
}

// Journal chooses the journal backend (cmd/bourse; -journal overrides it).
type Journal struct {
	// DSN of a MySQL/MariaDB journal table (persistence/journal
	// ParseMySQLDSN); empty: segment files under the data directory.
	DSN string `yaml:"dsn"`
}

// History configures the history store (order, deal and balance history,
// persistence/history).
type History struct {
	// DSN of a MySQL/MariaDB database (go-sql-driver/mysql DSN, optionally
	// prefixed with mysql://); empty: SQLite at <data-dir>/history.db.
	DSN string `yaml:"dsn"`
}

// MarketData configures k-lines, last prices, recent deals and status
// (persistence/marketdata).
type MarketData struct {
	// Redis address (host:port or a redis:// URL) holding market data;
	// empty: in memory only, rebuilt from the journal at start.
	Redis string `yaml:"redis"`
	// Timezone of day, week and month buckets (docs/protocol.md D10): an IANA
	// name, default UTC.
	Timezone string `yaml:"timezone"`
	// How long 1 s, 1 min and 1 h k-lines are kept (viabtc sec_max,
	// min_max, hour_max); day buckets are kept forever.
	SecMax  time.Duration `yaml:"sec_max"`
	MinMax  time.Duration `yaml:"min_max"`
	HourMax time.Duration `yaml:"hour_max"`
	// Deals is how many recent deals are kept per market.
	Deals int `yaml:"deals"`
	// KlineMax bounds the candles one market.kline answers: a longer
	// range gets its newest KlineMax candles (viabtc: unbounded; a 1 s
	// k-line over sec_max is 604,800 candles). Default 10000.
	KlineMax int `yaml:"kline_max"`

	Location *time.Location `yaml:"-"`
}

// Followers switches the node's journal followers on or off (all on by
// default; cmd/bourse -followers overrides them). A follower switched off
// is neither opened nor fed: its methods answer code 3 (history, market
// data), nothing is published (Kafka), nothing is pushed (the bus feeds
// the websocket edge, which needs it). Its cursor stays where it was, so
// switched on again it catches up from there.
type Followers struct {
	History    bool `yaml:"history"`
	MarketData bool `yaml:"marketdata"`
	Kafka      bool `yaml:"kafka"` // when kafka.brokers is set
	Bus        bool `yaml:"bus"`
}

// Kafka configures the event publisher (persistence/events).
type Kafka struct {
	// Brokers to publish to; empty: the in-process event bus only.
	Brokers []string `yaml:"brokers"`
	Topics  Topics   `yaml:"topics"`
	// Compression: none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
}

// Topics names the three Kafka topics (docs/protocol.md "Kafka events").
type Topics struct {
	Balances string `yaml:"balances"`
	Orders   string `yaml:"orders"`
	Deals    string `yaml:"deals"`
}

// Alert configures the alert sink (viabtc's alertcenter).
type Alert struct {
	// Redis address that error-level log records are pushed to; empty:
	// alerts only go to the log.
	Redis string `yaml:"redis"`
	// Key of the Redis list (RPUSH).
	Key string `yaml:"key"`
	// Host names this node in each alert ("<host>: <message>"); default
	// the machine's host name.
	Host string `yaml:"host"`
}

// Web configures the web console (edges/web): the trader page and the
// operator page /ops, served on a listener of their own.
type Web struct {
	// Addr is the web console's listen address; empty: not served. The
	// -web-addr flag overrides it. Default DefaultWebAddr.
	Addr string `yaml:"addr"`
}

// DefaultWebAddr is web.addr when the configuration does not set it.
const DefaultWebAddr = "127.0.0.1:8070"

// Config is the whole configuration. After Load it is read-only.
type Config struct {
	FeeUserID         uint32        `yaml:"fee_user_id"`
	BalanceShards     int           `yaml:"balance_shards"`
	IdempotencyWindow time.Duration `yaml:"idempotency_window"`
	Assets            []*Asset      `yaml:"assets"`
	Markets           []*Market     `yaml:"markets"`
	HTTP              HTTP          `yaml:"http"`
	Snapshot          Snapshot      `yaml:"snapshot"`
	Journal           Journal       `yaml:"journal"`
	History           History       `yaml:"history"`
	MarketData        MarketData    `yaml:"marketdata"`
	Kafka             Kafka         `yaml:"kafka"`
	Alert             Alert         `yaml:"alert"`
	Followers         Followers     `yaml:"followers"`
	WebSocket         WebSocket     `yaml:"websocket"`
	Web               Web           `yaml:"web"`
	Tuning            Tuning        `yaml:"tuning"`

	assetByName  map[string]*Asset
	marketByName map[string]*Market
}

// Limits of the configuration itself.
const (
	MaxAssets      = 1 << 12
	MaxMarkets     = 1 << 10 // order ids embed the market index in 10 bits
	MaxAssetName   = 15
	MaxMarketName  = 30
	MaxPrecision   = 18 // stock_prec, money_prec, fee_prec: units must fit int64
	MaxPrecSave    = 36 // prec_save: balances are uint256
	MaxShards      = 4096
	DefaultFeePrec = 4
)

// DefaultMinAmount is min_amount when a market omits it.
const DefaultMinAmount = "0.01"

// DefaultFeeRate is maker_fee and taker_fee when a market omits them.
const DefaultFeeRate = "0"

// DefaultMaxOpenOrders is max_open_orders when a market omits it (or sets
// 0): a bound on what one command, a cancel of all of a user's orders, has
// to journal.
const DefaultMaxOpenOrders = 1000

// LoadFile reads and validates the file at path; an empty path loads Default.
func LoadFile(path string) (*Config, error) {
	if path == "" {
		return Parse(Default)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a configuration document. Unknown keys are
// errors, so a misspelt key is never silently ignored.
func Parse(b []byte) (*Config, error) {
	c := &Config{
		BalanceShards:     4,
		IdempotencyWindow: 7 * 24 * time.Hour,
		HTTP:              HTTP{MaxBodyBytes: 64 << 10, Timeout: 5 * time.Second, MaxConns: 1024},
		Snapshot:          Snapshot{Interval: 10 * time.Minute, Keep: 2, MaxFollowerLag: 10_000_000},
		MarketData: MarketData{
			Timezone: "UTC", SecMax: 7 * 24 * time.Hour, MinMax: 365 * 24 * time.Hour,
			HourMax: 10 * 365 * 24 * time.Hour, Deals: 10000, KlineMax: 10000,
		},
		Kafka: Kafka{
			Topics:      Topics{Balances: "balances", Orders: "orders", Deals: "deals"},
			Compression: "none",
		},
		Alert:     Alert{Key: "alert:message"},
		Followers: Followers{History: true, MarketData: true, Kafka: true, Bus: true},
		WebSocket: defaultWebSocket(),
		Web:       Web{Addr: DefaultWebAddr},
		Tuning:    defaultTuning(),
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

func (c *Config) validate() error {
	if c.BalanceShards < 1 || c.BalanceShards > MaxShards {
		return fieldErr("balance_shards", "must be between 1 and %d, got %d", MaxShards, c.BalanceShards)
	}
	if c.IdempotencyWindow <= 0 {
		return fieldErr("idempotency_window", "must be positive, got %s", c.IdempotencyWindow)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		return fieldErr("http.max_body_bytes", "must be at least 1024, got %d", c.HTTP.MaxBodyBytes)
	}
	if c.HTTP.Timeout <= 0 {
		return fieldErr("http.timeout", "must be positive, got %s", c.HTTP.Timeout)
	}
	if c.HTTP.MaxConns < 0 {
		return fieldErr("http.max_conns", "must not be negative, got %d", c.HTTP.MaxConns)
	}
	if c.Snapshot.Interval < time.Second {
		return fieldErr("snapshot.interval", "must be at least 1s, got %s", c.Snapshot.Interval)
	}
	if c.Snapshot.Keep < 1 {
		return fieldErr("snapshot.keep", "must be at least 1, got %d", c.Snapshot.Keep)
	}
	if err := c.validateFollowers(); err != nil {
		return err
	}
	if err := c.validateWebSocket(); err != nil {
		return err
	}
	return c.resolve()
}

// resolve checks the assets and markets and gives them their ids, then
// resolves every market's tuning.
func (c *Config) resolve() error {
	if len(c.Assets) == 0 {
		return fieldErr("assets", "at least one asset is required")
	}
	if len(c.Assets) > MaxAssets {
		return fieldErr("assets", "at most %d assets", MaxAssets)
	}
	c.assetByName = make(map[string]*Asset, len(c.Assets))
	for i, a := range c.Assets {
		f := fmt.Sprintf("assets[%d]", i)
		if a == nil {
			return fieldErr(f, "empty entry")
		}
		if a.Name == "" || len(a.Name) > MaxAssetName {
			return fieldErr(f+".name", "must be 1 to %d characters, got %q", MaxAssetName, a.Name)
		}
		if _, dup := c.assetByName[a.Name]; dup {
			return fieldErr(f+".name", "duplicate asset %q", a.Name)
		}
		if a.PrecSave < 0 || a.PrecSave > MaxPrecSave {
			return fieldErr(f+".prec_save", "must be between 0 and %d, got %d", MaxPrecSave, a.PrecSave)
		}
		if s := a.Show(); s < 0 || s > a.PrecSave {
			return fieldErr(f+".prec_show", "must be between 0 and prec_save (%d), got %d", a.PrecSave, s)
		}
		a.ID = messages.AssetID(i)
		c.assetByName[a.Name] = a
	}
	if len(c.Markets) == 0 {
		return fieldErr("markets", "at least one market is required")
	}
	if len(c.Markets) > MaxMarkets {
		return fieldErr("markets", "at most %d markets", MaxMarkets)
	}
	c.marketByName = make(map[string]*Market, len(c.Markets))
	for i, m := range c.Markets {
		if err := c.validateMarket(i, m); err != nil {
			return err
		}
		c.marketByName[m.Name] = m
	}
	return c.validateTuning()
}

func (c *Config) validateMarket(i int, m *Market) error {
	f := fmt.Sprintf("markets[%d]", i)
	if m == nil {
		return fieldErr(f, "empty entry")
	}
	if m.Name == "" || len(m.Name) > MaxMarketName {
		return fieldErr(f+".name", "must be 1 to %d characters, got %q", MaxMarketName, m.Name)
	}
	f = fmt.Sprintf("markets[%d] (%s)", i, m.Name)
	if _, dup := c.marketByName[m.Name]; dup {
		return fieldErr(f+".name", "duplicate market %q", m.Name)
	}
	if m.StockAsset = c.assetByName[m.Stock]; m.StockAsset == nil {
		return fieldErr(f+".stock", "unknown asset %q", m.Stock)
	}
	if m.MoneyAsset = c.assetByName[m.Money]; m.MoneyAsset == nil {
		return fieldErr(f+".money", "unknown asset %q", m.Money)
	}
	if m.Stock == m.Money {
		return fieldErr(f+".money", "must differ from stock (%q)", m.Stock)
	}
	if m.StockPrec < 0 || m.StockPrec > MaxPrecision {
		return fieldErr(f+".stock_prec", "must be between 0 and %d, got %d", MaxPrecision, m.StockPrec)
	}
	if m.MoneyPrec < 0 || m.MoneyPrec > MaxPrecision {
		return fieldErr(f+".money_prec", "must be between 0 and %d, got %d", MaxPrecision, m.MoneyPrec)
	}
	m.Fee = DefaultFeePrec
	if m.FeePrec != nil {
		m.Fee = *m.FeePrec
	}
	if m.Fee < 0 || m.Fee > MaxPrecision {
		return fieldErr(f+".fee_prec", "must be between 0 and %d, got %d", MaxPrecision, m.Fee)
	}
	ms, ss := m.MoneyAsset.PrecSave, m.StockAsset.PrecSave
	if m.StockPrec+m.MoneyPrec > ms {
		return fieldErr(f+".stock_prec", "stock_prec (%d) + money_prec (%d) must be <= prec_save of %s (%d)", m.StockPrec, m.MoneyPrec, m.Money, ms)
	}
	if m.StockPrec+m.Fee > ss {
		return fieldErr(f+".fee_prec", "stock_prec (%d) + fee_prec (%d) must be <= prec_save of %s (%d)", m.StockPrec, m.Fee, m.Stock, ss)
	}
	if m.MoneyPrec+m.Fee > ms {
		return fieldErr(f+".fee_prec", "money_prec (%d) + fee_prec (%d) must be <= prec_save of %s (%d)", m.MoneyPrec, m.Fee, m.Money, ms)
	}
	min := DefaultMinAmount
	if m.MinAmount != nil {
		min = *m.MinAmount
	}
	units, neg, err := fixed.ParseInt64(min, m.StockPrec)
	if err != nil || neg {
		return fieldErr(f+".min_amount", "must be a non-negative decimal, got %q", min)
	}
	m.MinUnits = units
	if m.MaxOpenOrders == 0 {
		m.MaxOpenOrders = DefaultMaxOpenOrders
	} else if m.MaxOpenOrders < -1 {
		return fieldErr(f+".max_open_orders", "must be positive, or -1 for no limit, got %d", m.MaxOpenOrders)
	}
	if err := m.resolveOrderDefaults(f); err != nil {
		return err
	}
	m.ID = messages.MarketID(i)
	return nil
}

// resolveOrderDefaults resolves what an order that does not choose gets:
// stp, and maker_fee and taker_fee (fee_prec resolved before).
func (m *Market) resolveOrderDefaults(f string) error {
	mode, ok := ParseSTP(m.STP)
	if !ok || mode == messages.STPDefault && m.STP != "" {
		return fieldErr(f+".stp", "must be none, cancel_taker, cancel_maker or cancel_both, got %q", m.STP)
	}
	m.STPMode = mode
	var err error
	if m.MakerUnits, err = feeRate(f+".maker_fee", m.MakerFee, m.Fee); err != nil {
		return err
	}
	m.TakerUnits, err = feeRate(f+".taker_fee", m.TakerFee, m.Fee)
	return err
}

// feeRate resolves a market's maker_fee or taker_fee (nil: DefaultFeeRate)
// to units at fee_prec: a plain decimal from 0 to less than 1 that fee_prec
// decimals represent exactly (a rate the file states is never truncated).
func feeRate(field string, rate *string, feePrec int) (int64, error) {
	s := DefaultFeeRate
	if rate != nil {
		s = *rate
	}
	units, neg, err := fixed.ParseInt64(s, feePrec)
	fine, _, fineErr := fixed.ParseInt64(s, MaxPrecision) // < 1, so it fits at 18 decimals
	if err != nil || neg || fineErr != nil || units >= int64(fixed.Pow10(feePrec).Uint64()) ||
		fine != units*int64(fixed.Pow10(MaxPrecision-feePrec).Uint64()) {
		return 0, fieldErr(field, "must be a decimal from 0 to less than 1 with at most fee_prec (%d) decimals, got %q", feePrec, s)
	}
	return units, nil
}

// Asset returns the asset named name, or nil.
func (c *Config) Asset(name string) *Asset { return c.assetByName[name] }

// Market returns the market named name, or nil.
func (c *Config) Market(name string) *Market { return c.marketByName[name] }

// STPNames are the self-trade prevention modes by name (config
// markets[].stp and order.put_limit_ex's "stp"); "" is the default.
var STPNames = map[string]messages.STP{
	"": messages.STPDefault, "none": messages.STPNone, "cancel_taker": messages.STPCancelTaker,
	"cancel_maker": messages.STPCancelMaker, "cancel_both": messages.STPCancelBoth,
}

// ParseSTP reads a self-trade prevention mode by name.
func ParseSTP(name string) (messages.STP, bool) {
	mode, ok := STPNames[name]
	return mode, ok
}

func (c *Config) validateFollowers() error {
	md := &c.MarketData
	loc, err := time.LoadLocation(md.Timezone)
	if err != nil || md.Timezone == "" {
		return fieldErr("marketdata.timezone", "unknown time zone %q", md.Timezone)
	}
	md.Location = loc
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"sec_max", md.SecMax}, {"min_max", md.MinMax}, {"hour_max", md.HourMax}} {
		if d.v < time.Hour {
			return fieldErr("marketdata."+d.name, "must be at least 1h, got %s", d.v)
		}
	}
	if md.Deals < 1 || md.Deals > 1_000_000 {
		return fieldErr("marketdata.deals", "must be between 1 and 1000000, got %d", md.Deals)
	}
	if md.KlineMax < 1 {
		return fieldErr("marketdata.kline_max", "must be at least 1, got %d", md.KlineMax)
	}
	t := c.Kafka.Topics
	if t.Balances == "" || t.Orders == "" || t.Deals == "" {
		return fieldErr("kafka.topics", "balances, orders and deals must all be named")
	}
	switch c.Kafka.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		return fieldErr("kafka.compression", "must be none, gzip, snappy, lz4 or zstd, got %q", c.Kafka.Compression)
	}
	if c.Alert.Key == "" {
		return fieldErr("alert.key", "must not be empty")
	}
	return nil
}
