//go:build unix

package netguard

import "syscall"

// FileLimit returns the process's soft RLIMIT_NOFILE, the most file
// descriptors it may have open (0: unknown or unlimited).
func FileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	if n := uint64(r.Cur); n < 1<<62 { // RLIM_INFINITY is all ones
		return n
	}
	return 0
}
