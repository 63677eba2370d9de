package snapshot

import (
	"github.com/bourse-exchange/bourse/messages/codec"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/holiman/uint256"
)

func sample(lsn uint64) *File {
	return &File{
		LSN: lsn, Fingerprint: [32]byte{1, 2, 3},
		Deposits:    []uint256.Int{*uint256.NewInt(5), *uint256.NewInt(0)},
		Withdrawals: []uint256.Int{*uint256.NewInt(1), *uint256.NewInt(0)},
		Books:       [][]byte{{1, 2}, {}},
		Ledgers:     [][]byte{{9}, {8, 7}, {}},
		Version:     codec.Version,
	}
}

func TestEncodeDecode(t *testing.T) {
	f := sample(42)
	data := f.Encode()
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("Decode(Encode(f)) = %+v; want %+v", got, f)
	}
	for i := range data {
		bad := append([]byte(nil), data...)
		bad[i] ^= 0x40
		if _, err := Decode(bad); err == nil {
			t.Fatalf("a flipped byte at %d went unnoticed", i)
		}
	}
	if _, err := Decode(data[:len(data)-1]); err == nil {
		t.Fatal("a truncated snapshot decoded")
	}
}

func TestWriteLatestPrune(t *testing.T) {
	dir := t.TempDir()
	fp := sample(0).Fingerprint
	for _, lsn := range []uint64{10, 20, 30} {
		if _, err := Write(dir, sample(lsn)); err != nil {
			t.Fatal(err)
		}
	}
	// The newest is damaged: Latest falls back to the one before and says why.
	newest := filepath.Join(dir, Name(30))
	data, _ := os.ReadFile(newest)
	data[len(data)/2] ^= 1
	os.WriteFile(newest, data, 0o644)
	f, skipped, err := Latest(dir, SameFingerprint(fp))
	if err != nil || f == nil || f.LSN != 20 || len(skipped) != 1 {
		t.Fatalf("Latest = %v, skipped %v, err %v; want LSN 20 with one skipped", f, skipped, err)
	}
	if f, _, _ := Latest(dir, SameFingerprint([32]byte{9})); f != nil {
		t.Fatalf("Latest with another fingerprint = LSN %d; want none", f.LSN)
	}
	if f, _, _ := LatestUpTo(dir, SameFingerprint(fp), 19); f == nil || f.LSN != 10 {
		t.Fatalf("LatestUpTo(19) = %v; want LSN 10", f)
	}
	if f, _ := OldestAfter(dir, SameFingerprint(fp), 10); f == nil || f.LSN != 20 {
		t.Fatalf("OldestAfter(10) = %v; want LSN 20", f)
	}
	for _, lsn := range []uint64{40, 50} {
		if _, err := Write(dir, sample(lsn)); err != nil {
			t.Fatal(err)
		}
	}
	// A follower at cursor 25 holds snapshot 20 (the newest at or before
	// its cursor) beyond the two newest.
	oldest, err := Prune(dir, 2, 25)
	if err != nil || oldest != 20 {
		t.Fatalf("Prune(hold 25) = %d, %v; want 20", oldest, err)
	}
	if lsns, _ := List(dir); !reflect.DeepEqual(lsns, []uint64{50, 40, 20}) {
		t.Fatalf("after Prune(hold 25): %v", lsns)
	}
	oldest, err = Prune(dir, 2, 0)
	if err != nil || oldest != 40 {
		t.Fatalf("Prune = %d, %v; want 40", oldest, err)
	}
	lsns, _ := List(dir)
	if !reflect.DeepEqual(lsns, []uint64{50, 40}) {
		t.Fatalf("after Prune: %v", lsns)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}
