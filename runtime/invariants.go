package runtime

import (
	"fmt"

	"github.com/bourse-exchange/bourse/messages"
	"github.com/holiman/uint256"
)

// Check verifies the money invariants of a state and returns one line per
// violation (none: all hold):
//   - conservation: for each asset, Σ(available + frozen) over all accounts,
//     fee account included, = Σ deposits − Σ withdrawals;
//   - reservations: for each user and asset, frozen = what the user's resting
//     orders reserve.
//
// It reads the state's own configuration (Config): assets and markets the
// journal added — at run time or by an earlier file — count, whatever file
// the caller loaded.
func (s *State) Check() []string {
	var bad []string
	cfg := s.Config()
	n := len(cfg.Assets)
	total := make([]uint256.Int, n)
	frozen := map[[2]uint64]*uint256.Int{}
	for _, l := range s.Ledgers {
		l.EachSorted(func(user uint32, bal []messages.Balance) {
			for a := range bal {
				total[a].Add(&total[a], &bal[a].Available)
				total[a].Add(&total[a], &bal[a].Frozen)
				if !bal[a].Frozen.IsZero() {
					f := bal[a].Frozen
					frozen[[2]uint64{uint64(user), uint64(a)}] = &f
				}
			}
		})
	}
	for a := 0; a < n; a++ {
		var want uint256.Int
		if want.Sub(&s.Deposits[a], &s.Withdrawals[a]); !want.Eq(&total[a]) {
			bad = append(bad, fmt.Sprintf("conservation: %s: balances %s != deposits - withdrawals %s (units of 1e-%d)",
				cfg.Assets[a].Name, total[a].Dec(), want.Dec(), cfg.Assets[a].PrecSave))
		}
	}
	reserved := map[[2]uint64]*uint256.Int{}
	for _, b := range s.Books {
		c := b.Config()
		b.EachOrder(func(o *messages.Order) {
			asset, r := c.Reservation(o.Type, o.Side, o.Left, o.Price)
			k := [2]uint64{uint64(o.User), uint64(asset)}
			if reserved[k] == nil {
				reserved[k] = new(uint256.Int)
			}
			reserved[k].Add(reserved[k], &r)
		})
	}
	for k, f := range frozen {
		if r := reserved[k]; r == nil || !r.Eq(f) {
			bad = append(bad, fmt.Sprintf("reservations: user %d %s: frozen %s != resting orders' %v", k[0], cfg.Assets[k[1]].Name, f.Dec(), r))
		}
	}
	for k, r := range reserved {
		if frozen[k] == nil && !r.IsZero() {
			bad = append(bad, fmt.Sprintf("reservations: user %d %s: frozen 0 != resting orders' %s", k[0], cfg.Assets[k[1]].Name, r.Dec()))
		}
	}
	return bad
}
