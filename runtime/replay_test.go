package runtime_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bourse-exchange/bourse/internal/testnode"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/testenv"
	"github.com/bourse-exchange/bourse/messages"
	"github.com/bourse-exchange/bourse/messages/codec"
	pj "github.com/bourse-exchange/bourse/persistence/journal"
	"github.com/bourse-exchange/bourse/runtime"
)

// startAt starts a node on the journal under dir, or in MySQL at dsn if set.
// Its markets are told the time only by the workload's ticks (Node.Tick),
// so dead-man's switches fire at the same commands in every run.
func startAt(t *testing.T, cfg *config.Config, dir, dsn string, mode journal.Mode) *runtime.Node {
	t.Helper()
	return testnode.Start(t, cfg, runtime.Options{
		DataDir: dir, JournalDSN: dsn, Journal: journal.Options{Mode: mode}, TickInterval: -1,
	})
}

// workload plays seeded commands of the shared generator (testnode.Play)
// through the router, without order options: what the first journal
// version could record.
func workload(t *testing.T, n *runtime.Node, seed uint64, steps int) {
	testnode.Play(t, n, testnode.Workload{Seed: seed, Steps: steps, Plain: true})
}

// fullWorkload plays the generator's full stream: order options, stop orders,
// amends, cancel-alls, dead-man's switches and the ticks that fire them.
func fullWorkload(t *testing.T, n *runtime.Node, seed uint64, steps int) {
	testnode.Play(t, n, testnode.Workload{Seed: seed, Steps: steps})
}

// TestReplayIsExact: live state hash = hash after restart = hash of an
// offline recovery, and the invariants hold, for several seeds, for each
// durability mode and for each journal backend (segment files; MySQL, each
// run in its own table, when BOURSE_TEST_MYSQL_DSN is set).
func TestReplayIsExact(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"files", "mysql"} {
		t.Run(backend, func(t *testing.T) {
			var server string
			if backend == "mysql" {
				server = testenv.MySQLDSN(t)
			}
			for _, mode := range []journal.Mode{journal.Sync, journal.Batch, journal.Async} {
				for seed := uint64(1); seed <= 3; seed++ {
					t.Run(mode.String(), func(t *testing.T) {
						var dsn string
						if server != "" {
							// MySQL commits wait on the server: run the
							// nine side by side, each in its own table.
							t.Parallel()
							dsn = testenv.WithParam(server, "table", testenv.MySQLTable(t, server))
						}
						replayIsExact(t, cfg, t.TempDir(), dsn, mode, seed)
					})
				}
			}
		})
	}
}

func replayIsExact(t *testing.T, cfg *config.Config, dir, dsn string, mode journal.Mode, seed uint64) {
	n := startAt(t, cfg, dir, dsn, mode)
	fullWorkload(t, n, seed, 1500)
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, backend, err := runtime.Recover(cfg, dir, dsn)
	if err != nil {
		t.Fatal(err)
	}
	reached := countOptionEvents(t, backend, s.LastLSN)
	backend.Close()
	if got := s.Hash(); got != live {
		t.Fatalf("seed %d: offline recovery hash %s != live %s", seed, got, live)
	}
	t.Logf("seed %d: %d stops triggered, %d amends, %d dead-man's switch events", seed,
		reached[messages.TypeStopTriggered], reached[messages.TypeOrderAmended], reached[messages.TypeCancelAfterSet])
	for _, typ := range []messages.EventType{messages.TypeStopTriggered, messages.TypeOrderAmended, messages.TypeCancelAfterSet} {
		if reached[typ] == 0 {
			t.Fatalf("seed %d: the journal has no event of type %d: the workload did not reach it (%v)", seed, typ, reached)
		}
	}
	if bad := s.Check(); len(bad) > 0 {
		t.Fatalf("seed %d: invariants: %v", seed, bad)
	}
	n = startAt(t, cfg, dir, dsn, mode)
	again, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again != live {
		t.Fatalf("seed %d: restarted node hash %s != live %s", seed, again, live)
	}
	// Work continues after a restart, with fresh ids.
	fullWorkload(t, n, seed+100, 200)
	n.Shutdown(context.Background())
}

// countOptionEvents counts the events of the order options in the
// journal up to last: stops triggered, amends, dead-man's switches set
// (armed, disarmed or fired).
func countOptionEvents(t *testing.T, b runtime.Backend, last uint64) map[messages.EventType]int {
	t.Helper()
	n := map[messages.EventType]int{}
	err := b.Read(0, last, func(r pj.Record) error {
		for _, ev := range r.Events {
			switch ev.(type) {
			case *messages.StopTriggered, *messages.OrderAmended, *messages.CancelAfterSet:
				n[ev.Type()]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTornTail cuts the journal mid-record: recovery keeps the durable
// prefix, reports the cut, and the node starts.
func TestTornTail(t *testing.T) {
	cfg, _ := config.Parse(config.Default)
	dir := t.TempDir()
	n := startAt(t, cfg, dir, "", journal.Sync)
	fullWorkload(t, n, 9, 300)
	n.Shutdown(context.Background())
	segs, _ := filepath.Glob(filepath.Join(runtime.JournalDir(dir), "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment written")
	}
	last := segs[len(segs)-1]
	fi, _ := os.Stat(last)
	full, _, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	_ = full
	for _, cut := range []int64{1, 5, 13} {
		if err := os.Truncate(last, fi.Size()-cut); err != nil {
			t.Fatal(err)
		}
		s, files, err := runtime.Recover(cfg, dir, "")
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		files.Close()
		if s.Recovery.TornBytes == 0 {
			t.Fatalf("cut %d: torn tail not reported", cut)
		}
		if s.LastLSN >= full.LastLSN {
			t.Fatalf("cut %d: last LSN %d; want < %d", cut, s.LastLSN, full.LastLSN)
		}
		if bad := s.Check(); len(bad) > 0 {
			t.Fatalf("cut %d: invariants after cut: %v", cut, bad)
		}
		fi, _ = os.Stat(last)
	}
	// Corrupt a byte in the (now clean) tail record: same handling.
	data, _ := os.ReadFile(last)
	data[len(data)-2] ^= 0xff
	os.WriteFile(last, data, 0o644)
	s, files, err := runtime.Recover(cfg, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	files.Close()
	if s.Recovery.TornBytes == 0 {
		t.Fatal("corrupt tail record not reported")
	}
	n = startAt(t, cfg, dir, "", journal.Sync)
	workload(t, n, 10, 100)
	n.Shutdown(context.Background())
}

// TestVersion1JournalReplays: a journal written before the order options
// (codec version 1: orders without the option fields, none of the new
// events) recovers to the state it recorded; a node started on it appends
// version-2 records (the options workload) after the version-1 ones, and
// that mixed journal replays exactly too. The version-1 segment is built
// here, byte by byte, from the records of a node that ran the plain
// workload.
func TestVersion1JournalReplays(t *testing.T) {
	cfg, err := config.Parse(config.Default)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	n := startAt(t, cfg, src, "", journal.Sync)
	workload(t, n, 5, 600) // what version 1 could record
	live, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	s, b, err := runtime.Recover(cfg, src, "")
	if err != nil {
		t.Fatal(err)
	}
	var seg []byte
	first := uint64(0)
	err = b.Read(0, s.LastLSN, func(r pj.Record) error {
		if first == 0 {
			first = r.LSN
		}
		seg = appendV1Record(t, seg, r)
		return nil
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}

	dst := t.TempDir()
	if err := os.MkdirAll(runtime.JournalDir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runtime.JournalDir(dst), fmt.Sprintf("%020d.seg", first)), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	s1, b1, err := runtime.Recover(cfg, dst, "")
	if err != nil {
		t.Fatalf("recovering the version-1 journal: %v", err)
	}
	b1.Close()
	if s1.LastLSN != s.LastLSN || s1.Hash() != live {
		t.Fatalf("version-1 journal: LSN %d hash %s; the node that wrote it: LSN %d hash %s", s1.LastLSN, s1.Hash(), s.LastLSN, live)
	}
	if bad := s1.Check(); len(bad) > 0 {
		t.Fatalf("version-1 journal: invariants: %v", bad)
	}

	n = startAt(t, cfg, dst, "", journal.Sync)
	if got, err := n.Router.StateHash(context.Background()); err != nil || got != live {
		t.Fatalf("node on the version-1 journal: hash %s (%v); want %s", got, err, live)
	}
	fullWorkload(t, n, 6, 600)
	live2, err := n.Router.StateHash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	versions := segmentVersions(t, runtime.JournalDir(dst))
	if versions[1] == 0 || versions[2] == 0 {
		t.Fatalf("records by version %v: want both 1 and 2", versions)
	}
	s2, b2, err := runtime.Recover(cfg, dst, "")
	if err != nil {
		t.Fatalf("recovering the mixed journal: %v", err)
	}
	reached := countOptionEvents(t, b2, s2.LastLSN)
	b2.Close()
	if s2.Hash() != live2 {
		t.Fatalf("mixed journal (records by version %v): recovered hash %s; live %s", versions, s2.Hash(), live2)
	}
	if bad := s2.Check(); len(bad) > 0 {
		t.Fatalf("mixed journal: invariants: %v", bad)
	}
	if reached[messages.TypeStopTriggered] == 0 {
		t.Fatalf("the version-2 part has no stop trigger (%v)", reached)
	}
}

// appendV1Record frames record r as the version-1 journal did: a header
// (body length, CRC-32C of the body, little-endian) and the body: version
// 1, the LSN, the event count and each event with a 3-byte uvarint length.
// Version 1 encoded an order without the option fields after Source, and
// the other events as version 2 does.
func appendV1Record(t *testing.T, b []byte, r pj.Record) []byte {
	t.Helper()
	// A version-1 journal has no ConfigSet (the node's first record holds
	// one): its record stays, empty.
	events := slices.DeleteFunc(slices.Clone(r.Events), func(ev messages.Event) bool {
		_, ok := ev.(*messages.ConfigSet)
		return ok
	})
	body := []byte{1}
	body = binary.LittleEndian.AppendUint64(body, r.LSN)
	body = binary.AppendUvarint(body, uint64(len(events)))
	for _, ev := range events {
		var e []byte
		switch x := ev.(type) {
		case *messages.OrderPlaced:
			o := &x.Order
			if o.ClientID != "" || o.StopPrice != 0 || o.Triggered || o.TIF != 0 || o.PostOnly || o.STP != 0 {
				t.Fatalf("LSN %d: order %d has options: not a version-1 order", r.LSN, o.ID)
			}
			e = append(e, byte(messages.TypeOrderPlaced))
			e = binary.AppendUvarint(e, o.ID)
			e = binary.AppendUvarint(e, uint64(o.Market))
			e = append(e, byte(o.Type), byte(o.Side))
			e = binary.AppendUvarint(e, uint64(o.User))
			for _, v := range []int64{o.CTime, o.MTime, o.Price, o.Amount, o.TakerFee, o.MakerFee, o.Left, o.DealStock} {
				e = binary.AppendVarint(e, v)
			}
			e = codec.AppendU256(e, &o.DealMoney)
			e = codec.AppendU256(e, &o.DealFee)
			e = codec.AppendU256(e, &o.Frozen)
			e = binary.AppendUvarint(e, uint64(len(o.Source)))
			e = append(e, o.Source...)
			e = binary.AppendUvarint(e, uint64(x.FrozenAsset))
		case *messages.BalanceUpdated, *messages.Trade, *messages.OrderRested, *messages.OrderFinished:
			e = codec.Append(nil, ev)
		default:
			t.Fatalf("LSN %d: %T is not a version-1 event", r.LSN, ev)
		}
		n := len(e)
		body = append(body, byte(n)|0x80, byte(n>>7)|0x80, byte(n>>14))
		body = append(body, e...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return append(b, body...)
}

// segmentVersions counts the records of the segment files in dir by their
// version byte.
func segmentVersions(t *testing.T, dir string) map[byte]int {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	n := map[byte]int{}
	for _, seg := range segs {
		data, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		for len(data) >= 9 {
			size := int(binary.LittleEndian.Uint32(data))
			if size == 0 || 8+size > len(data) {
				break
			}
			n[data[8]]++
			data = data[8+size:]
		}
	}
	return n
}
