package journal

// Discard is a backend that keeps nothing: LSNs advance and records are
// dropped. For benchmarks of the actors without storage and for tests that
// need no durability; never for a node that acknowledges real work.
type Discard struct{ last uint64 }

// Write implements the writer's Backend.
func (d *Discard) Write(records []Record) error {
	if n := len(records); n > 0 {
		d.last = records[n-1].LSN
	}
	return nil
}

// Sync implements the writer's Backend.
func (d *Discard) Sync() error { return nil }

// LastLSN implements the writer's Backend.
func (d *Discard) LastLSN() uint64 { return d.last }

// Close implements the writer's Backend.
func (d *Discard) Close() error { return nil }
