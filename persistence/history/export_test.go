package history

// SetFault makes s call f at named points of Apply ("commit": before the
// commit, "committed": after it); an error f returns is Apply's. nil
// removes it. Safe while a follower runs s.
func SetFault(s *Store, f func(point string) error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.fault = f
}
