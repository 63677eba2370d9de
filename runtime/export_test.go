package runtime

import pj "github.com/bourse-exchange/bourse/persistence/journal"

// ReplayOn applies records to s the way Recover does, on workers
// goroutines, and returns the first error.
func ReplayOn(s *State, workers int, records []pj.Record) error {
	rp := s.newReplayer(workers)
	defer rp.Wait()
	for _, r := range records {
		if err := rp.Apply(r); err != nil {
			return err
		}
	}
	return nil
}

// SetDeriveWindow sets how many derived records the feed's derive stage
// keeps (DeriveWindow): tests make followers fall behind it.
func (f *Feed) SetDeriveWindow(n int) {
	f.stage.mu.Lock()
	f.stage.window = n
	f.stage.mu.Unlock()
}
