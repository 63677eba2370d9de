package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/bourse-exchange/bourse/messages"
)

// Query implements actors.Querier for the history commands
// (messages.BalanceHistory, FinishedOrders, FinishedOrderDetail,
// OrderDeals, UserDeals). It answers an *messages.ErrorReply with
// ErrInvalidArgument for a field out of range, ErrUnavailable when
// Options.MaxPending queries are already running or waiting (or the store
// is closed), ErrInternal when the database fails; and returns an error
// only when ctx ends first. Safe for concurrent use.
func (s *Store) Query(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	if e := check(cmd); e != nil {
		return &messages.ErrorReply{Err: e}, nil
	}
	if s.closed.Load() {
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	if s.pending.Add(1) > s.maxPending {
		s.pending.Add(-1)
		return &messages.ErrorReply{Err: messages.ErrUnavailable}, nil
	}
	defer s.pending.Add(-1)
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	rep, err := s.run(ctx, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.log.Error("history: query failed", "store", s.where, "command", fmt.Sprintf("%T", cmd), "err", err)
		return &messages.ErrorReply{Err: messages.ErrInternal}, nil
	}
	return rep, nil
}

// check validates a command's fields (messages/history.go states the
// ranges); nil means valid.
func check(cmd messages.Command) *messages.Error {
	page := func(offset, limit int) bool { return offset >= 0 && limit >= 1 && limit <= messages.HistoryMaxLimit }
	times := func(start, end int64) bool { return start >= 0 && end >= 0 && (end == 0 || start <= end) }
	ok := false
	switch c := cmd.(type) {
	case *messages.BalanceHistory:
		ok = c != nil && c.User != 0 && times(c.Start, c.End) && page(c.Offset, c.Limit)
	case *messages.FinishedOrders:
		ok = c != nil && c.User != 0 && c.Side <= messages.Bid && times(c.Start, c.End) && page(c.Offset, c.Limit)
	case *messages.FinishedOrderDetail:
		ok = c != nil && c.OrderID != 0
	case *messages.OrderDeals:
		ok = c != nil && c.OrderID != 0 && page(c.Offset, c.Limit)
	case *messages.UserDeals:
		ok = c != nil && c.User != 0 && page(c.Offset, c.Limit)
	default:
		return messages.ErrInternal // not a history command: a routing bug
	}
	if !ok {
		return messages.ErrInvalidArgument
	}
	return nil
}

// micros converts a filter time in Unix seconds to the columns' Unix
// microseconds, saturating.
func micros(sec int64) int64 {
	if sec > math.MaxInt64/1_000_000 {
		return math.MaxInt64
	}
	return sec * 1_000_000
}

func (s *Store) run(ctx context.Context, cmd messages.Command) (messages.Reply, error) {
	switch c := cmd.(type) {
	case *messages.BalanceHistory:
		return s.balanceHistory(ctx, c)
	case *messages.FinishedOrders:
		return s.finishedOrders(ctx, c)
	case *messages.FinishedOrderDetail:
		return s.finishedOrderDetail(ctx, c)
	case *messages.OrderDeals:
		text, args := s.orderDealsSQL(c)
		return s.deals(ctx, text, args, c.Limit)
	case *messages.UserDeals:
		text, args := s.userDealsSQL(c)
		return s.deals(ctx, text, args, c.Limit)
	}
	return nil, fmt.Errorf("history: %T is not a history command", cmd)
}

func (s *Store) balanceHistory(ctx context.Context, c *messages.BalanceHistory) (messages.Reply, error) {
	text, args := s.balanceSQL(c)
	rows, err := s.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rep := &messages.BalanceHistoryReply{Records: make([]messages.BalanceRecord, 0, c.Limit)}
	for rows.Next() {
		var r messages.BalanceRecord
		if err := rows.Scan(&r.Time, &r.Asset, &r.Business, &r.Change, &r.Balance, &r.Detail); err != nil {
			return nil, err
		}
		rep.Records = append(rep.Records, r)
	}
	return rep, rows.Err()
}

// The queries' texts and arguments. Every query is served by an index
// whose order is the result's (TestQueryPlans).

func (s *Store) balanceSQL(c *messages.BalanceHistory) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT `time`, `asset`, `business`, `change`, `balance`, `detail` FROM " + q(s.t.balances) + " WHERE `user_id` = ?")
	args := []any{c.User}
	if c.Asset != "" {
		b.WriteString(" AND `asset` = ?")
		args = append(args, c.Asset)
	}
	if c.Business != "" {
		b.WriteString(" AND `business` = ?")
		args = append(args, c.Business)
	}
	args = timeFilter(&b, args, "`time`", c.Start, c.End)
	b.WriteString(" ORDER BY `id` DESC LIMIT ? OFFSET ?")
	return b.String(), append(args, c.Limit, c.Offset)
}

func (s *Store) finishedOrdersSQL(c *messages.FinishedOrders) (string, []any) {
	var b strings.Builder
	b.WriteString(orderSelect + q(s.t.orders) + " WHERE `user_id` = ? AND `market` = ?")
	args := []any{c.User, c.Market}
	if c.Side != 0 {
		b.WriteString(" AND `side` = ?")
		args = append(args, uint8(c.Side))
	}
	args = timeFilter(&b, args, "`create_time`", c.Start, c.End)
	b.WriteString(" ORDER BY `id` DESC LIMIT ? OFFSET ?")
	return b.String(), append(args, c.Limit, c.Offset)
}

func (s *Store) finishedOrderDetailSQL(c *messages.FinishedOrderDetail) (string, []any) {
	return orderSelect + q(s.t.orders) + " WHERE `id` = ?", []any{s.d.id(c.OrderID)}
}

const dealSelect = "SELECT `time`, `user_id`, `deal_id`, `order_id`, `deal_order_id`, `market`, `side`, `role`, " +
	"`price`, `amount`, `deal`, `fee`, `deal_fee` FROM "

func (s *Store) orderDealsSQL(c *messages.OrderDeals) (string, []any) {
	return dealSelect + q(s.t.deals) + " WHERE `order_id` = ? ORDER BY `id` DESC LIMIT ? OFFSET ?",
		[]any{s.d.id(c.OrderID), c.Limit, c.Offset}
}

func (s *Store) userDealsSQL(c *messages.UserDeals) (string, []any) {
	return dealSelect + q(s.t.deals) + " WHERE `user_id` = ? AND `market` = ? ORDER BY `id` DESC LIMIT ? OFFSET ?",
		[]any{c.User, c.Market, c.Limit, c.Offset}
}

// timeFilter adds start ≤ col < end (seconds; 0 = unbounded).
func timeFilter(b *strings.Builder, args []any, col string, start, end int64) []any {
	if start != 0 {
		b.WriteString(" AND " + col + " >= ?")
		args = append(args, micros(start))
	}
	if end != 0 {
		b.WriteString(" AND " + col + " < ?")
		args = append(args, micros(end))
	}
	return args
}

const orderSelect = "SELECT `id`, `create_time`, `finish_time`, `user_id`, `market`, `source`, `t`, `side`, `price`, `amount`, " +
	"`taker_fee`, `maker_fee`, `deal_stock`, `deal_money`, `deal_fee`, " +
	"`client_id`, `stop_price`, `triggered`, `time_in_force`, `post_only`, `stp` FROM "

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanOrder(sc scanner) (messages.FinishedOrder, error) {
	var (
		o                             messages.FinishedOrder
		id                            u64
		user                          int64
		typ, side                     int64
		ctime, fin                    int64
		triggered, tif, postOnly, stp int64
	)
	err := sc.Scan(&id, &ctime, &fin, &user, &o.Market, &o.Source, &typ, &side, &o.Price, &o.Amount,
		&o.TakerFee, &o.MakerFee, &o.DealStock, &o.DealMoney, &o.DealFee,
		&o.ClientID, &o.StopPrice, &triggered, &tif, &postOnly, &stp)
	o.ID, o.CTime, o.FTime, o.User = uint64(id), ctime, fin, uint32(user)
	o.Type, o.Side = messages.OrderType(typ), messages.Side(side)
	if o.StopPrice == "0" {
		o.StopPrice = "" // not a stop order
	}
	o.Triggered, o.TIF, o.PostOnly, o.STP = triggered != 0, messages.TimeInForce(tif), postOnly != 0, messages.STP(stp)
	return o, err
}

func (s *Store) finishedOrders(ctx context.Context, c *messages.FinishedOrders) (messages.Reply, error) {
	text, args := s.finishedOrdersSQL(c)
	rows, err := s.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rep := &messages.FinishedOrdersReply{Records: make([]messages.FinishedOrder, 0, c.Limit)}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		rep.Records = append(rep.Records, o)
	}
	return rep, rows.Err()
}

func (s *Store) finishedOrderDetail(ctx context.Context, c *messages.FinishedOrderDetail) (messages.Reply, error) {
	text, args := s.finishedOrderDetailSQL(c)
	o, err := scanOrder(s.r.QueryRowContext(ctx, text, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return &messages.FinishedOrderDetailReply{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &messages.FinishedOrderDetailReply{Order: &o}, nil
}

func (s *Store) deals(ctx context.Context, text string, args []any, limit int) (messages.Reply, error) {
	rows, err := s.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rep := &messages.DealHistoryReply{Records: make([]messages.DealRecord, 0, limit)}
	for rows.Next() {
		var (
			d                    messages.DealRecord
			user, side, role     int64
			id, order, dealOrder u64
		)
		if err := rows.Scan(&d.Time, &user, &id, &order, &dealOrder, &d.Market, &side, &role,
			&d.Price, &d.Amount, &d.Deal, &d.Fee, &d.DealFee); err != nil {
			return nil, err
		}
		d.User, d.ID, d.OrderID, d.DealOrderID = uint32(user), uint64(id), uint64(order), uint64(dealOrder)
		d.Side, d.Role = messages.Side(side), messages.Role(role)
		rep.Records = append(rep.Records, d)
	}
	return rep, rows.Err()
}
