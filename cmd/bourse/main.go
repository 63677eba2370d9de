// Command bourse runs a Bourse exchange node.
//
//	bourse [-config FILE] [-data-dir DIR] [-durability sync|batch|async]
//	       [-http-addr ADDR] [-ws-addr ADDR] [-http-token TOKEN]
//	bourse verify [-config FILE] -data-dir DIR
//
// Without -config it uses the embedded default configuration (see
// runtime/config/bourse.yaml). It recovers its state from the journal in
// -data-dir, serves the viabtc-compatible HTTP JSON-RPC API on -http-addr and
// stops gracefully on SIGINT or SIGTERM.
//
// "bourse verify" recovers a data directory offline (the node must not be
// running) and prints the last LSN, the state hash and the invariant checks;
// it exits 1 if an invariant does not hold.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bourse:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "verify" {
		return verify(args[1:], os.Stdout)
	}
	fs := flag.NewFlagSet("bourse", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "./data", "directory for local state")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "listen address of the HTTP JSON-RPC API (internal: keep it private)")
	wsAddr := fs.String("ws-addr", "127.0.0.1:8090", "listen address of the websocket API (not served yet)")
	httpToken := fs.String("http-token", os.Getenv("BOURSE_HTTP_TOKEN"), "if set, HTTP requests need 'Authorization: Bearer TOKEN' (default $BOURSE_HTTP_TOKEN)")
	durability := fs.String("durability", "sync", "when a write is acknowledged: sync (after fsync), batch (after write; fsync every 10ms), async (at once)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	mode, err := journal.ParseMode(*durability)
	if err != nil {
		return fmt.Errorf("-durability: %w", err)
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("-data-dir must not be empty")
	}
	node, err := runtime.Start(cfg, runtime.Options{Logger: log, DataDir: *dataDir, Journal: journal.Options{Mode: mode}})
	if err != nil {
		return err
	}
	log.Info("journal", "dir", runtime.JournalDir(*dataDir), "durability", mode.String(), "last_lsn", node.Journal.LastLSN())

	srv := httprpc.New(node.Router)
	srv.BearerToken = *httpToken
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		node.Shutdown(context.Background())
		return fmt.Errorf("-http-addr: %w", err)
	}
	log.Info("HTTP JSON-RPC listening", "addr", ln.Addr().String(), "bearer_token", *httpToken != "")
	log.Info("websocket API not served yet", "ws_addr", *wsAddr)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
	case err := <-errc:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server failed", "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("HTTP shutdown", "err", err)
	}
	if err := node.Shutdown(ctx); err != nil {
		log.Error("node shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// verify recovers a data directory offline and prints what it found.
func verify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bourse verify", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "./data", "data directory to verify")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	s, files, err := runtime.Recover(cfg, *dataDir)
	if err != nil {
		return err
	}
	files.Close()
	r := s.Recovery
	fmt.Fprintf(out, "journal:   %s (%d segments, %d records)\n", runtime.JournalDir(*dataDir), r.Segments, r.Records)
	if r.TornBytes > 0 {
		fmt.Fprintf(out, "torn tail: cut %d bytes (%s)\n", r.TornBytes, r.TornReason)
	}
	fmt.Fprintf(out, "lsn:       %d\n", s.LastLSN)
	fmt.Fprintf(out, "hash:      %s\n", s.Hash())
	fmt.Fprintf(out, "recovered: in %s\n", time.Since(t0).Round(time.Millisecond))
	bad := s.Check(cfg)
	for _, line := range bad {
		fmt.Fprintf(out, "FAIL       %s\n", line)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d invariant violations", len(bad))
	}
	fmt.Fprintln(out, "invariants: ok (conservation per asset; frozen = resting orders' reservations)")
	return nil
}
