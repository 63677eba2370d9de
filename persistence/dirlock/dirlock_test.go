package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if held, _ := Holder(dir); held {
		t.Fatal("a missing directory is held")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Holder created %s", dir)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if held, pid := Holder(dir); !held || pid != os.Getpid() {
		t.Fatalf("Holder = %v, %d; want true, %d", held, pid, os.Getpid())
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Acquire = %v; want ErrLocked naming %s and pid %d", err, dir, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, _ := Holder(dir); held {
		t.Fatal("held after Release")
	}
	l, err = Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l.Release()
}
