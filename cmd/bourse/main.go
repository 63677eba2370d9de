// Command bourse runs a Bourse exchange node.
//
//	bourse [-config FILE] [-data-dir DIR] [-http-addr ADDR] [-ws-addr ADDR] [-http-token TOKEN]
//
// Without -config it uses the embedded default configuration (see
// runtime/config/bourse.yaml). It serves the viabtc-compatible HTTP JSON-RPC
// API on -http-addr and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	fs := flag.NewFlagSet("bourse", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "./data", "directory for local state")
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "listen address of the HTTP JSON-RPC API (internal: keep it private)")
	wsAddr := fs.String("ws-addr", "127.0.0.1:8090", "listen address of the websocket API (not served yet)")
	httpToken := fs.String("http-token", os.Getenv("BOURSE_HTTP_TOKEN"), "if set, HTTP requests need 'Authorization: Bearer TOKEN' (default $BOURSE_HTTP_TOKEN)")
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

	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o755); err != nil {
		return fmt.Errorf("-data-dir: %w", err)
	}
	node, err := runtime.Start(cfg, runtime.Options{Logger: log})
	if err != nil {
		return err
	}
	log.Warn("state is kept in memory only: it is lost when the process stops (the durable journal is not built yet)", "data_dir", *dataDir)

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
