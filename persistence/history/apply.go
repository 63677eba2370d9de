package history

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bourse-exchange/bourse/actors/fixed"
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
// statement for n rows is a prefix of it.
type insert struct {
	text      string
	head, row int // lengths of "INSERT … VALUES " and "(?,…,?)"
	cols      int
}

func newInsert(table string, cols []string, max int) insert {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = q(c)
	}
	head := "INSERT INTO " + q(table) + " (" + strings.Join(quoted, ", ") + ") VALUES "
	row := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	var b strings.Builder
	b.Grow(len(head) + max*(len(row)+1))
	b.WriteString(head)
	b.WriteString(row)
	for i := 1; i < max; i++ {
		b.WriteByte(',')
		b.WriteString(row)
	}
	return insert{text: b.String(), head: len(head), row: len(row), cols: len(cols)}
}

// rows returns the statement for n rows (1 ≤ n ≤ max).
func (in *insert) rows(n int) string { return in.text[:in.head+n*(in.row+1)-1] }

type inserts struct{ orders, deals, balances insert }

func newInserts(t tables, max int) inserts {
	return inserts{
		orders:   newInsert(t.orders, orderColumns, max),
		deals:    newInsert(t.deals, dealColumns, max),
		balances: newInsert(t.balances, balanceColumns, max),
	}
}

// batch accumulates one table's rows in Apply's transaction and inserts
// them max at a time.
type batch struct {
	ctx  context.Context
	tx   *sqlx.Tx
	in   *insert
	max  int
	args []any
	n    int // rows inserted so far
}

func (b *batch) add(args ...any) error {
	b.args = append(b.args, args...)
	if len(b.args) == b.max*b.in.cols {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	rows := len(b.args) / b.in.cols
	if rows == 0 {
		return nil
	}
	if _, err := b.tx.ExecContext(b.ctx, b.in.rows(rows), b.args...); err != nil {
		return err
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
	orders := batch{ctx: ctx, tx: tx, in: &s.inserts.orders, max: s.rows, args: s.args[:0:no]}
	deals := batch{ctx: ctx, tx: tx, in: &s.inserts.deals, max: s.rows, args: s.args[no : no : no+nd]}
	balances := batch{ctx: ctx, tx: tx, in: &s.inserts.balances, max: s.rows, args: s.args[no+nd : no+nd : no+nd+nb]}
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
		if err := orders.add(s.d.id(o.ID), o.CTime, o.MTime, o.User, m.Name, o.Source, uint8(o.Type), uint8(o.Side),
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
		if err := deals.add(tr.Time, tr.AskUser, s.d.id(tr.DealID), s.d.id(tr.AskOrder), s.d.id(tr.BidOrder), m.Name,
			uint8(messages.Ask), uint8(askRole), price, amount, deal, askFee, bidFee, lsn); err != nil {
			return fmt.Errorf("insert deals: %w", err)
		}
		if err := deals.add(tr.Time, tr.BidUser, s.d.id(tr.DealID), s.d.id(tr.BidOrder), s.d.id(tr.AskOrder), m.Name,
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
		if err := balances.add(c.Time, c.User, a.Name, c.Business, fixed.FormatSigned(&c.Change, c.Negative, a.PrecSave),
			fixed.Format(&c.Balance, a.PrecSave), string(c.Detail), lsn); err != nil {
			return fmt.Errorf("insert balance changes: %w", err)
		}
	}
	return nil
}

// flag is a bool column's value (both backends store 0 or 1).
func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
