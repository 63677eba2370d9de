package book

// Grow prepares an empty book for a restore of n resting orders: its order
// and user indexes are made with room for them. It is a capacity hint only;
// the state is unchanged.
func (b *Book) Grow(n int) {
	if n <= 0 {
		return
	}
	if len(b.orders) == 0 {
		b.orders = make(map[uint64]*order, n)
	}
	if len(b.byUser) == 0 {
		b.byUser = make(map[uint32]*userOrders, n)
	}
}
