package book

// Halted reports whether the market is halted (market.halt): it refuses new
// orders with messages.ErrMarketHalted until resumed.
func (b *Book) Halted() bool { return b.halted }

// SetHalted restores the halted state (from a snapshot).
func (b *Book) SetHalted(halted bool) { b.halted = halted }
