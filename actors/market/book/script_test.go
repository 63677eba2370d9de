package book_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/actors/market/book"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/coretest"
	"github.com/bourse-exchange/bourse/messages"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scripts (review the diff!)")

// TestScripts runs testdata/*.txt. A script is a sequence of blocks:
//
//	command key=value ...
//	----
//	expected output
//
// separated by blank lines; lines starting with # are comments. Commands run
// through the shared engine glue (coretest.Engine: shard reserves, book
// executes, every shard applies the events) and the invariants are checked
// after each one. Commands:
//
//	config name=default|custom [shards=N]     fresh engine (default: default, 4 shards)
//	deposit|withdraw user= asset= amount= [id=]
//	update user= asset= business= id= change=
//	put_limit [market=] user= side=buy|sell amount= price= [fee=taker/maker]
//	put_market [market=] user= side=buy|sell amount= [fee=taker]
//	cancel [market=] user= order=SEQ
//	depth [market=] [limit=] [interval=]
//	book [market=] side= [offset=] [limit=]
//	pending [market=] user= [offset=] [limit=]
//	balance user= [asset=]
//	summary [market=]
//
// Order ids are printed and given as the market's sequence number (#SEQ);
// times are the command's position in the script. After a command that
// changes balances, the balances it changed are printed (available/frozen).
// With -rewrite the expected outputs are regenerated.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type block struct {
	comments []string // lines before the command
	cmd      string
	cmdLine  int
	want     []string
}

func parseScript(t *testing.T, path string) (blocks []block, trailer []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pending []string
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			pending = append(pending, l)
			continue
		}
		b := block{comments: pending, cmd: l, cmdLine: i + 1}
		pending = nil
		if i+1 < len(lines) && lines[i+1] == "----" {
			i += 2
			for ; i < len(lines) && lines[i] != ""; i++ {
				b.want = append(b.want, lines[i])
			}
			i-- // the blank line, if any, is the next block's
		}
		blocks = append(blocks, b)
	}
	return blocks, pending
}

func runScript(t *testing.T, path string) {
	blocks, trailer := parseScript(t, path)
	s := &script{t: t}
	s.reset("default", 4)
	var out strings.Builder
	failed := false
	for i := range blocks {
		b := &blocks[i]
		s.line = fmt.Sprintf("%s:%d", path, b.cmdLine)
		s.now++
		got := s.run(b.cmd)
		if err := s.eng.Check(); err != nil {
			t.Fatalf("%s: %s: invariant broken: %v", s.line, b.cmd, err)
		}
		for _, c := range b.comments {
			out.WriteString(c + "\n")
		}
		out.WriteString(b.cmd + "\n----\n")
		for _, l := range got {
			out.WriteString(l + "\n")
		}
		if !*rewrite && !slices.Equal(got, b.want) {
			failed = true
			t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", s.line, b.cmd, strings.Join(got, "\n"), strings.Join(b.want, "\n"))
		}
	}
	for _, c := range trailer {
		out.WriteString(c + "\n")
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if failed {
		t.Logf("rerun with -rewrite to regenerate %s, then review the diff", path)
	}
}

type script struct {
	t    *testing.T
	line string
	eng  *coretest.Engine
	cfg  *config.Config
	now  int64
	biz  uint64
}

func (s *script) reset(name string, shards int) {
	switch name {
	case "default":
		s.cfg = coretest.DefaultConfig()
	case "custom":
		s.cfg = coretest.MustConfig(customConfig)
	default:
		s.t.Fatalf("%s: unknown config %q", s.line, name)
	}
	s.eng = coretest.NewEngine(s.cfg, shards, true)
}

type args struct {
	s    *script
	cmd  string
	kv   map[string]string
	used map[string]bool
}

func (a *args) str(k, def string) string {
	a.used[k] = true
	if v, ok := a.kv[k]; ok {
		return v
	}
	if def == "" {
		a.s.t.Fatalf("%s: %s needs %s=", a.s.line, a.cmd, k)
	}
	return def
}

func (a *args) int(k string, def int) int {
	v, err := strconv.Atoi(a.str(k, strconv.Itoa(def)))
	if err != nil {
		a.s.t.Fatalf("%s: %s=%s: %v", a.s.line, k, a.kv[k], err)
	}
	return v
}

func (a *args) user() uint32 { return uint32(a.int("user", -1)) }

func (a *args) side() messages.Side {
	switch v := a.str("side", ""); v {
	case "sell", "ask":
		return messages.Ask
	case "buy", "bid":
		return messages.Bid
	default:
		n, _ := strconv.Atoi(v)
		return messages.Side(n)
	}
}

func (a *args) market() messages.MarketID {
	name := a.str("market", a.s.cfg.Markets[0].Name)
	m := a.s.cfg.Market(name)
	if m == nil {
		a.s.t.Fatalf("%s: unknown market %q", a.s.line, name)
	}
	return m.ID
}

func (a *args) asset() messages.AssetID {
	name := a.str("asset", "")
	as := a.s.cfg.Asset(name)
	if as == nil {
		a.s.t.Fatalf("%s: unknown asset %q", a.s.line, name)
	}
	return as.ID
}

type acct struct {
	user  uint32
	asset messages.AssetID
}

func (s *script) balances() map[acct]messages.Balance {
	m := make(map[acct]messages.Balance)
	for _, sh := range s.eng.Shards {
		sh.Each(func(u uint32, bals []messages.Balance) {
			for a, b := range bals {
				m[acct{u, messages.AssetID(a)}] = b
			}
		})
	}
	return m
}

func (s *script) fmtBalance(k acct, b messages.Balance) string {
	a := s.cfg.Assets[k.asset]
	return fmt.Sprintf("u%d %s available=%s frozen=%s", k.user, a.Name,
		fixed.Format(&b.Available, a.PrecSave), fixed.Format(&b.Frozen, a.PrecSave))
}

func errLine(e *messages.Error) string { return fmt.Sprintf("error: %d %s", e.Code, e.Message) }

func (s *script) run(line string) []string {
	fields := strings.Fields(line)
	a := &args{s: s, cmd: fields[0], kv: make(map[string]string), used: make(map[string]bool)}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			s.t.Fatalf("%s: argument %q is not key=value", s.line, f)
		}
		a.kv[k] = v
	}
	before := s.balances()
	var out []string
	c := &coretest.Cmd{Time: s.now}
	switch a.cmd {
	case "config":
		s.reset(a.str("name", "default"), a.int("shards", 4))
		before = s.balances()
		out = append(out, "ok")
	case "deposit", "withdraw", "update":
		c.Op = coretest.OpUpdate
		c.User, c.Asset = a.user(), a.asset()
		switch a.cmd {
		case "update":
			c.Business, c.Change = a.str("business", ""), a.str("change", "")
			c.BusinessID = uint64(a.int("id", -1))
		default:
			s.biz++
			c.Business = a.cmd
			c.BusinessID = uint64(a.int("id", int(s.biz)))
			c.Change = a.str("amount", "")
			if a.cmd == "withdraw" {
				c.Change = "-" + c.Change
			}
		}
		r := s.eng.Do(c)
		if r.Err != nil {
			out = append(out, errLine(r.Err))
		} else {
			out = append(out, "ok")
		}
	case "put_limit", "put_market", "cancel":
		c.Market, c.User = a.market(), a.user()
		switch a.cmd {
		case "put_limit":
			c.Op, c.Side = coretest.OpPutLimit, a.side()
			c.Amount, c.Price = a.str("amount", ""), a.str("price", "")
			c.TakerFee, c.MakerFee, _ = strings.Cut(a.str("fee", "0/0"), "/")
			if c.MakerFee == "" {
				c.MakerFee = "0"
			}
		case "put_market":
			c.Op, c.Side = coretest.OpPutMarket, a.side()
			c.Amount, c.TakerFee = a.str("amount", ""), a.str("fee", "0")
		case "cancel":
			c.Op = coretest.OpCancel
			c.OrderID = uint64(a.int("order", -1))<<book.IDShift | uint64(c.Market)
		}
		r := s.eng.Do(c)
		if r.Err != nil {
			out = append(out, errLine(r.Err))
			break
		}
		for _, ev := range r.Events {
			out = append(out, coretest.FormatEvent(s.cfg, ev))
		}
		out = append(out, "reply: "+coretest.FormatOrder(s.cfg, &r.Order))
	case "depth":
		c.Op, c.Market = coretest.OpDepth, a.market()
		c.Limit, c.Interval = a.int("limit", 100), a.str("interval", "0")
		r := s.eng.Do(c)
		if r.Err != nil {
			out = append(out, errLine(r.Err))
			break
		}
		bc := s.eng.Books[c.Market].Config()
		for _, side := range []struct {
			name   string
			levels []messages.DepthLevel
		}{{"asks", r.Asks}, {"bids", r.Bids}} {
			l := side.name + ":"
			for _, lv := range side.levels {
				l += fmt.Sprintf(" %s x %s,", fixed.FormatInt(lv.Price, bc.MoneyPrec), fixed.FormatInt(lv.Amount, bc.StockPrec))
			}
			out = append(out, strings.TrimSuffix(l, ","))
		}
	case "book", "pending":
		c.Market = a.market()
		c.Offset, c.Limit = a.int("offset", 0), a.int("limit", 100)
		if a.cmd == "book" {
			c.Op, c.Side = coretest.OpBook, a.side()
		} else {
			c.Op, c.User = coretest.OpPending, a.user()
		}
		r := s.eng.Do(c)
		if r.Err != nil {
			out = append(out, errLine(r.Err))
			break
		}
		out = append(out, fmt.Sprintf("total=%d", r.Total))
		for i := range r.Orders {
			out = append(out, coretest.FormatOrder(s.cfg, &r.Orders[i]))
		}
	case "summary":
		c.Op, c.Market = coretest.OpSummary, a.market()
		sm := s.eng.Do(c).Summary
		bc := s.eng.Books[c.Market].Config()
		out = append(out,
			fmt.Sprintf("asks: count=%d amount=%s", sm.AskCount, fixed.FormatInt(sm.AskAmount, bc.StockPrec)),
			fmt.Sprintf("bids: count=%d amount=%s", sm.BidCount, fixed.FormatInt(sm.BidAmount, bc.StockPrec)))
	case "balance":
		u := a.user()
		assets := s.cfg.Assets
		if _, ok := a.kv["asset"]; ok {
			assets = []*config.Asset{s.cfg.Assets[a.asset()]}
		}
		for _, as := range assets {
			out = append(out, s.fmtBalance(acct{u, as.ID}, s.eng.Balance(u, as.ID)))
		}
	default:
		s.t.Fatalf("%s: unknown command %q", s.line, a.cmd)
	}
	for k := range a.kv {
		if !a.used[k] {
			s.t.Fatalf("%s: %s does not take %s=", s.line, a.cmd, k)
		}
	}
	// the balances the command changed
	after := s.balances()
	var changed []acct
	for k, b := range after {
		if before[k] != b {
			changed = append(changed, k)
		}
	}
	slices.SortFunc(changed, func(x, y acct) int {
		if x.user != y.user {
			return int(x.user) - int(y.user)
		}
		return int(x.asset) - int(y.asset)
	})
	if len(changed) > 0 {
		out = append(out, "balances:")
		for _, k := range changed {
			out = append(out, "  "+s.fmtBalance(k, after[k]))
		}
	}
	return out
}
