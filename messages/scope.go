package messages

// Scope is what one event touches: the market whose book it changes and
// the users whose balances (or idempotency keys) it changes. The methods
// below are the one place that says so for every event type; replay,
// recovery, actor rebuilds and the market's settlement all route by them.
type Scope struct {
	Market MarketID
	Book   bool // the event changes Market's book
	// Fee: the fee account's balances change too (a trade).
	Fee   bool
	n     uint8
	users [2]uint32
}

// Users returns the users whose balances the event changes, the fee
// account aside (Fee).
func (s *Scope) Users() []uint32 { return s.users[:s.n] }

// Shards returns, in shards[:k], the balance shards (of n, user % n) that
// own a user the event touches, the fee account included, each once.
func (s *Scope) Shards(n, feeUser uint32) (shards [3]int, k int) {
	add := func(u uint32) {
		i := int(u % n)
		for _, j := range shards[:k] {
			if j == i {
				return
			}
		}
		shards[k] = i
		k++
	}
	for _, u := range s.users[:s.n] {
		add(u)
	}
	if s.Fee {
		add(feeUser)
	}
	return shards, k
}

func book(m MarketID) Scope { return Scope{Market: m, Book: true} }

func bookAnd(m MarketID, user uint32) Scope {
	return Scope{Market: m, Book: true, n: 1, users: [2]uint32{user}}
}

// Scope implements Event: the user's balance.
func (e *BalanceUpdated) Scope() Scope { return Scope{n: 1, users: [2]uint32{e.User}} }

// Scope implements Event: the book and the owner's reservation.
func (e *OrderPlaced) Scope() Scope { return bookAnd(e.Order.Market, e.Order.User) }

// Scope implements Event: the book, both sides' balances and the fee
// account's.
func (e *Trade) Scope() Scope {
	return Scope{Market: e.Market, Book: true, Fee: true, n: 2, users: [2]uint32{e.AskUser, e.BidUser}}
}

// Scope implements Event: the book only.
func (e *OrderRested) Scope() Scope { return book(e.Market) }

// Scope implements Event: the book and the released funds' owner.
func (e *OrderFinished) Scope() Scope { return bookAnd(e.Market, e.User) }

// Scope implements Event: the book only.
func (e *StopTriggered) Scope() Scope { return book(e.Market) }

// Scope implements Event: the book and the released funds' owner.
func (e *OrderAmended) Scope() Scope { return bookAnd(e.Market, e.User) }

// Scope implements Event: the book only (the switch is kept there).
func (e *CancelAfterSet) Scope() Scope { return book(e.Market) }

// Scope implements Event: the book only.
func (e *MarketHalted) Scope() Scope { return book(e.Market) }

// Scope implements Event: no book and no balance.
func (e *ConfigSet) Scope() Scope { return Scope{} }
