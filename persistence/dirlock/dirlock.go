// Package dirlock gives one process at a time a data directory: an
// exclusive flock(2) on the file LOCK inside it, held while the process
// runs. The kernel releases it when the process ends, however it ends
// (kill -9 included), so a stale LOCK file never blocks a restart.
//
// The holder writes its pid into LOCK, for the message a refused process
// prints. The lock is on the open file, not the process: a second Lock of
// the same directory fails even within one process.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Name is the lock file inside a locked directory.
const Name = "LOCK"

// ErrLocked is wrapped by the error of Lock when another holder has the
// directory.
var ErrLocked = errors.New("data directory in use")

// Lock is a held directory lock.
type Lock struct {
	f   *os.File
	dir string
}

// Acquire creates dir if needed and locks it exclusively, without waiting:
// when another process (or another Lock in this one) holds it, the error
// wraps ErrLocked and names the directory and the holder's pid.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, Name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock(f, syscall.LOCK_EX); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is in use by another process%s (lock %s): stop it first, or use another -data-dir",
				ErrLocked, dir, holder(path), path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is only informative: a failure to record it is not fatal.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, dir: dir}, nil
}

// Holder reports whether a process holds dir's lock now, and its pid (0 if
// unknown). It changes nothing: it creates no file and takes the lock only
// for the instant of the test (shared), so it never blocks the holder. A
// directory without a LOCK file is not held.
func Holder(dir string) (held bool, pid int) {
	path := filepath.Join(dir, Name)
	f, err := os.Open(path)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_SH); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK), readPid(path)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, 0
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

func holder(path string) string {
	if pid := readPid(path); pid > 0 {
		return fmt.Sprintf(" (pid %d)", pid)
	}
	return ""
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Release unlocks the directory (closing the file releases the flock). The
// LOCK file stays: removing it would race with a process locking it.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
