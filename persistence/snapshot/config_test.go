package snapshot

import (
	"reflect"
	"testing"
)

// TestConfigSection: the configuration a snapshot carries round-trips, and
// a snapshot without one (written before it existed) still decodes.
func TestConfigSection(t *testing.T) {
	for _, cfg := range [][]byte{nil, {9, 1, 2, 3}} {
		f := sample(7)
		f.Config = cfg
		data := f.Encode()
		got, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("Decode(Encode(f)) = %+v; want %+v", got, f)
		}
		if _, err := Decode(data[:len(data)-5]); err == nil {
			t.Fatal("a truncated snapshot decoded")
		}
	}
}
