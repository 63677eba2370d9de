package netguard

// MinReserve is the fewest file descriptors FitLimits keeps for the
// process's own files: journal segments, snapshots, the history and market
// data stores, outgoing connections (MySQL, Redis, Kafka, auth_url), the
// connections being refused, and the runtime's own.
const MinReserve = 128

// Reserve is how many descriptors FitLimits keeps out of nofile for the
// process's own files: an eighth of them, at least MinReserve.
func Reserve(nofile uint64) uint64 { return max(MinReserve, nofile/8) }

// FitLimits returns the connection limits lowered, each in proportion, so
// that their sum plus Reserve(nofile) is at most nofile (the process's
// RLIMIT_NOFILE, from FileLimit); a limit is never lowered below 1. A zero
// limit means no limit: it is left as it is and not counted. It reports
// whether it lowered any. nofile 0 means unknown: nothing is lowered.
func FitLimits(nofile uint64, limits ...int) ([]int, bool) {
	out := append([]int(nil), limits...)
	if nofile == 0 {
		return out, false
	}
	var sum uint64
	for _, l := range limits {
		if l > 0 {
			sum += uint64(l)
		}
	}
	room := uint64(0)
	if r := Reserve(nofile); nofile > r {
		room = nofile - r
	}
	if sum <= room {
		return out, false
	}
	for i, l := range limits {
		if l > 0 {
			out[i] = max(1, int(uint64(l)*room/sum))
		}
	}
	return out, true
}
