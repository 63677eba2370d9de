package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/persistence/derive"
	"github.com/jmoiron/sqlx"
)

// Columns written by Apply, in order.
var (
	orderColumns = []string{"id", "create_time", "finish_time", "user_id", "market", "source", "t", "side",
		"price", "amount", "taker_fee", "maker_fee", "deal_stock", "deal_money", "deal_fee", "lsn",
		"client_id", "stop_price", "triggered", "time_in_force", "post_only", "stp"}
	dealColumns = []string{"time", "user_id", "deal_id", "order_id", "deal_order_id", "market", "side", "role",
		"price", "amount", "deal", "fee", "deal_fee", "lsn"}
	balanceColumns = []string{"time", "user_id", "asset", "business", "change", "balance", "detail", "lsn"}
)

// insert is the text of a multi-row INSERT for up to max rows; the
// statement for n rows is a prefix of it. The statements actually sent are
// prepared once on the writer's connection and reused by every transaction
// (stmt): parsing a 500-row INSERT again for every chunk cost the SQLite
// writer a sixth of its CPU.
type insert struct {
	text      string
	head, row int // lengths of "INSERT … VALUES " and "(?,…,?)"
	cols      int
	max       int
	prepared  map[int]*sql.Stmt // by row count; guarded by Store.applyMu
}

func newInsert(verb, table string, cols []string, max int) insert {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = q(c)
	}
	head := verb + q(table) + " (" + strings.Join(quoted, ", ") + ") VALUES "
	row := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	var b strings.Builder
	b.Grow(len(head) + max*(len(row)+1))
	b.WriteString(head)
	b.WriteString(row)
	for i := 1; i < max; i++ {
		b.WriteByte(',')
		b.WriteString(row)
	}
	return insert{text: b.String(), head: len(head), row: len(row), cols: len(cols), max: max, prepared: map[int]*sql.Stmt{}}
}

// rows returns the statement for n rows (1 ≤ n ≤ max).
func (in *insert) rows(n int) string { return in.text[:in.head+n*(in.row+1)-1] }

// chunk is how many of n pending rows one statement takes: max, else the
// largest power of two ≤ n — so at most about log2(max) statement sizes
// are ever prepared per table.
func (in *insert) chunk(n int) int {
	if n >= in.max {
		return in.max
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// prepare prepares the statements of every size chunk returns on db —
// before any transaction, since the writer has one connection, which a
// transaction holds. A transaction's statement is then its connection's
// (sql.Tx.StmtContext), prepared again only on a new connection.
func (in *insert) prepare(ctx context.Context, db *sqlx.DB) error {
	for n := in.max; ; n = in.chunk(n - 1) {
		st, err := db.PrepareContext(ctx, in.rows(n))
		if err != nil {
			return fmt.Errorf("prepare the INSERT of %d rows: %w", n, err)
		}
		in.prepared[n] = st
		if n == 1 {
			return nil
		}
	}
}

// close closes the prepared statements.
func (in *insert) close() error {
	var errs []error
	for n, st := range in.prepared {
		errs = append(errs, st.Close())
		delete(in.prepared, n)
	}
	return errors.Join(errs...)
}

type inserts struct{ orders, deals, balances insert }

func newInserts(d *dialect, t tables, max int) inserts {
	return inserts{
		orders:   newInsert(d.insert, t.orders, orderColumns, max),
		deals:    newInsert(d.insert, t.deals, dealColumns, max),
		balances: newInsert(d.insert, t.balances, balanceColumns, max),
	}
}

func (in *inserts) prepare(ctx context.Context, db *sqlx.DB) error {
	for _, i := range []*insert{&in.orders, &in.deals, &in.balances} {
		if err := i.prepare(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

func (in *inserts) close() error {
	return errors.Join(in.orders.close(), in.deals.close(), in.balances.close())
}

// batch accumulates one table's rows in Apply's transaction and inserts
// them max at a time.
type batch struct {
	ctx  context.Context
	tx   *sqlx.Tx
	in   *insert
	args []any
	n    int // rows inserted so far
}

func (b *batch) add(args ...any) error {
	b.args = append(b.args, args...)
	if len(b.args) == b.in.max*b.in.cols {
		return b.flush()
	}
	return nil
}

// flush inserts the pending rows, in chunks of the prepared sizes.
func (b *batch) flush() error {
	rows := len(b.args) / b.in.cols
	for off := 0; off < rows; {
		n := b.in.chunk(rows - off)
		if _, err := b.tx.StmtContext(b.ctx, b.in.prepared[n]).ExecContext(b.ctx, b.args[off*b.in.cols:(off+n)*b.in.cols]...); err != nil {
			return err
		}
		off += n
	}
	clear(b.args)
	b.args = b.args[:0]
	b.n += rows
	return nil
}

// Apply implements runtime.Follower: it stores the rows of records — the
// finished orders, both sides of every deal, every balance change — and
// records[len-1].LSN as the new cursor, in one transaction. records must
// be contiguous and follow the stored cursor (else ErrNotNext and nothing
// is written; with Options.AllowSkips a gap before the first record is
// accepted and noted). On any error nothing of the batch is kept, unless
// the connection broke during the commit itself: then the server may have
// kept all of it, and the cursor tells.
func (s *Store) Apply(ctx context.Context, records []derive.Record) error {
	if len(records) == 0 {
		return nil
	}
	for i := 1; i < len(records); i++ {
		if records[i].LSN != records[i-1].LSN+1 {
			return fmt.Errorf("%w: record %d follows %d in one batch", ErrNotNext, records[i].LSN, records[i-1].LSN)
		}
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.apply(ctx, records); err != nil {
		if errors.Is(err, ErrNotNext) {
			return err
		}
		return fmt.Errorf("history: %s: apply records %d to %d: %w", s.where, records[0].LSN, records[len(records)-1].LSN, err)
	}
	if s.fault != nil {
		return s.fault("committed")
	}
	return nil
}

func (s *Store) apply(ctx context.Context, records []derive.Record) (err error) {
	tx, err := s.w.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var cursor u64
	if err := tx.QueryRowxContext(ctx, "SELECT `lsn` FROM "+q(s.t.cursor)+" WHERE `name` = ?"+s.d.forUpdate, s.name).Scan(&cursor); err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	first, last := records[0].LSN, records[len(records)-1].LSN
	if first != uint64(cursor)+1 {
		if !s.allowSkips || first <= uint64(cursor) {
			return fmt.Errorf("%w: records %d to %d, cursor %d", ErrNotNext, first, last, cursor)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+q(s.t.skips)+" (`after_lsn`, `next_lsn`, `time`) VALUES (?, ?, ?)",
			s.d.id(uint64(cursor)), s.d.id(first), time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("note skip: %w", err)
		}
		s.log.Warn("history: records skipped by the runtime (the journal no longer held them)",
			"store", s.where, "after", uint64(cursor), "next", first)
	}
	// One argument buffer, split in three so that no batch's appends
	// reach into another's.
	no, nd, nb := s.rows*len(orderColumns), s.rows*len(dealColumns), s.rows*len(balanceColumns)
	if cap(s.args) < no+nd+nb {
		s.args = make([]any, no+nd+nb)
	}
	orders := batch{ctx: ctx, tx: tx, in: &s.inserts.orders, args: s.args[:0:no]}
	deals := batch{ctx: ctx, tx: tx, in: &s.inserts.deals, args: s.args[no : no : no+nd]}
	balances := batch{ctx: ctx, tx: tx, in: &s.inserts.balances, args: s.args[no+nd : no+nd : no+nd+nb]}
	defer clear(s.args)
	for i := range records {
		if err := s.record(&records[i], &orders, &deals, &balances); err != nil {
			return err
		}
	}
	for _, b := range []*batch{&orders, &deals, &balances} {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE "+q(s.t.cursor)+" SET `lsn` = ? WHERE `name` = ?", s.d.id(last), s.name); err != nil {
		return fmt.Errorf("store cursor: %w", err)
	}
	if s.fault != nil {
		if err := s.fault("commit"); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// record adds the rows of one derived record to the batches.
func (s *Store) record(r *derive.Record, orders, deals, balances *batch) error {
	if r.Config != nil {
		s.cfg, s.names = r.Config, newNames(r.Config) // an asset or market listed at run time: its rows follow
	}
	lsn := s.d.id(r.LSN)
	for i := range r.Orders {
		oc := &r.Orders[i]
		if oc.Event != derive.OrderFinish {
			continue
		}
		o := &oc.Order
		if int(o.Market) >= len(s.cfg.Markets) {
			return fmt.Errorf("LSN %d: order %d of market %d, which is not configured", r.LSN, o.ID, o.Market)
		}
		m := s.cfg.Markets[o.Market]
		price, makerFee := "0", "0"
		amountPrec, feeSave := m.StockPrec, m.MoneyAsset.PrecSave
		if o.Type != messages.Market {
			price, makerFee = fixed.FormatInt(o.Price, m.MoneyPrec), fixed.FormatInt(o.MakerFee, m.Fee)
		} else if o.Side == messages.Bid {
			amountPrec = m.MoneyPrec // a market buy's amount is money (docs/protocol.md D8)
		}
		if o.Side == messages.Bid {
			feeSave = m.StockAsset.PrecSave
		}
		if err := orders.add(s.d.id(o.ID), o.CTime, o.MTime, int64(o.User), s.names.markets[o.Market], o.Source, uint8(o.Type), uint8(o.Side),
			price, fixed.FormatInt(o.Amount, amountPrec), fixed.FormatInt(o.TakerFee, m.Fee), makerFee,
			fixed.FormatInt(o.DealStock, m.StockPrec), fixed.Format(&o.DealMoney, m.MoneyAsset.PrecSave),
			fixed.Format(&o.DealFee, feeSave), lsn,
			o.ClientID, fixed.FormatInt(o.StopPrice, m.MoneyPrec), flag(o.Triggered), uint8(o.TIF), flag(o.PostOnly), uint8(o.STP)); err != nil {
			return fmt.Errorf("insert finished orders: %w", err)
		}
	}
	for _, tr := range r.Deals {
		if int(tr.Market) >= len(s.cfg.Markets) {
			return fmt.Errorf("LSN %d: deal %d in market %d, which is not configured", r.LSN, tr.DealID, tr.Market)
		}
		m := s.cfg.Markets[tr.Market]
		price, amount := fixed.FormatInt(tr.Price, m.MoneyPrec), fixed.FormatInt(tr.Amount, m.StockPrec)
		deal := fixed.Format(&tr.Deal, m.MoneyAsset.PrecSave)
		askFee, bidFee := fixed.Format(&tr.AskFee, m.MoneyAsset.PrecSave), fixed.Format(&tr.BidFee, m.StockAsset.PrecSave)
		askRole, bidRole := messages.Maker, messages.Taker
		if tr.TakerSide == messages.Ask {
			askRole, bidRole = messages.Taker, messages.Maker
		}
		if err := deals.add(tr.Time, int64(tr.AskUser), s.d.id(tr.DealID), s.d.id(tr.AskOrder), s.d.id(tr.BidOrder), s.names.markets[tr.Market],
			uint8(messages.Ask), uint8(askRole), price, amount, deal, askFee, bidFee, lsn); err != nil {
			return fmt.Errorf("insert deals: %w", err)
		}
		if err := deals.add(tr.Time, int64(tr.BidUser), s.d.id(tr.DealID), s.d.id(tr.BidOrder), s.d.id(tr.AskOrder), s.names.markets[tr.Market],
			uint8(messages.Bid), uint8(bidRole), price, amount, deal, bidFee, askFee, lsn); err != nil {
			return fmt.Errorf("insert deals: %w", err)
		}
	}
	for i := range r.Balances {
		c := &r.Balances[i]
		if int(c.Asset) >= len(s.cfg.Assets) {
			return fmt.Errorf("LSN %d: balance change of asset %d, which is not configured", r.LSN, c.Asset)
		}
		a := s.cfg.Assets[c.Asset]
		if err := balances.add(c.Time, int64(c.User), s.names.assets[c.Asset], c.Business, fixed.FormatSigned(&c.Change, c.Negative, a.PrecSave),
			fixed.Format(&c.Balance, a.PrecSave), string(c.Detail), lsn); err != nil {
			return fmt.Errorf("insert balance changes: %w", err)
		}
	}
	return nil
}

// names are the configured markets' and assets' names as arguments, boxed
// once rather than for every row.
type names struct{ markets, assets []any }

func newNames(cfg *config.Config) names {
	n := names{markets: make([]any, len(cfg.Markets)), assets: make([]any, len(cfg.Assets))}
	for i, m := range cfg.Markets {
		n.markets[i] = m.Name
	}
	for i, a := range cfg.Assets {
		n.assets[i] = a.Name
	}
	return n
}

// flag is a bool column's value (both backends store 0 or 1).
func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
