// Command bourse runs a Bourse exchange node.
//
//	bourse [-config FILE] [-data-dir DIR] [-journal DSN] [-durability sync|batch|async]
//	       [-http-addr ADDR] [-ws-addr ADDR] [-http-token TOKEN] [-http-token-file FILE]
//	       [-auth-url URL] [-sign-url URL] [-dev-auth]
//	       [-history DSN] [-redis ADDR] [-kafka BROKERS] [-alert-redis ADDR]
//	bourse verify [-config FILE] [-data-dir DIR] [-journal DSN]
//
// Without -config it uses the embedded default configuration (see
// runtime/config/bourse.yaml). It recovers its state from the journal in
// -data-dir, serves the viabtc-compatible HTTP JSON-RPC API on -http-addr and
// the websocket API on -ws-addr (empty: not served), and stops gracefully on
// SIGINT or SIGTERM.
//
// The websocket API authenticates with server.auth against -auth-url (or
// websocket.auth_url). -dev-auth, for development only and refused unless
// -ws-addr is loopback, also accepts tokens "dev:<user_id>".
//
// The journal is kept in segment files under -data-dir, or, with -journal
// (or journal.dsn in the configuration), in a MySQL/MariaDB table: DSN is a
// go-sql-driver/mysql DSN, optionally prefixed with mysql://, e.g.
//
//	-journal 'root@tcp(127.0.0.1:3306)/bourse?table=bourse_journal'
//
// (table= defaults to bourse_journal; the table is created if needed).
// -journal "" forces segment files whatever the configuration says.
//
// "bourse verify" recovers the journal (-data-dir, or -journal) offline
// (the node must not be running) and prints the last LSN, the state hash
// and the invariant checks; it exits 1 if an invariant does not hold.
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
	"strings"
	"syscall"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/edges/ws"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/alert"
	"github.com/bourse-exchange/bourse/runtime/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	wsAddr := fs.String("ws-addr", ws.DefaultAddr, "listen address of the websocket API (empty: not served)")
	authURL := fs.String("auth-url", "", "websocket server.auth checks tokens with an HTTP GET to this URL (default: websocket.auth_url of the configuration)")
	signURL := fs.String("sign-url", "", "websocket server.sign checks signatures with an HTTP GET to this URL (default: websocket.sign_url of the configuration)")
	devAuth := fs.Bool("dev-auth", false, "development only: websocket server.auth also accepts tokens \"dev:<user_id>\" (refused unless -ws-addr is loopback)")
	httpToken := fs.String("http-token", os.Getenv("BOURSE_HTTP_TOKEN"), "if set, HTTP requests need 'Authorization: Bearer TOKEN' (default $BOURSE_HTTP_TOKEN)")
	tokenFile := fs.String("http-token-file", "", "bearer tokens, one per line (# comments); any of them is accepted; re-read on SIGHUP (token rotation without a restart)")
	journalDSN := journalFlag(fs)
	historyDSN := fs.String("history", "", "keep order/deal/balance history in MySQL: go-sql-driver DSN (default: history.dsn of the configuration, else SQLite at DATA-DIR/history.db)")
	redisAddr := fs.String("redis", "", "keep market data in Redis at host:port or redis:// URL (default: marketdata.redis of the configuration, else in memory)")
	alertRedis := fs.String("alert-redis", "", "push error-level log records to the Redis list alert.key at host:port or redis:// URL (default: alert.redis of the configuration, else no alerts)")
	kafkaBrokers := fs.String("kafka", "", "publish events to these Kafka brokers, comma-separated (default: kafka.brokers of the configuration, else the in-process bus only)")
	durability := fs.String("durability", "sync", "when a write is acknowledged: sync (after fsync), batch (after write; fsync every tuning.journal.sync_interval, default 10ms), async (at once)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Signals are caught from the start: a SIGHUP (token reload) or
	// SIGTERM that arrives while starting must not kill the process
	// half-way.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	base := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	log := slog.New(base)
	slog.SetDefault(log)

	mode, err := journal.ParseMode(*durability)
	if err != nil {
		return fmt.Errorf("-durability: %w", err)
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "alert-redis" {
			cfg.Alert.Redis = *alertRedis
		}
	})
	if cfg.Alert.Redis != "" {
		// Error-level records also go to the Redis alert list (alertcenter).
		ah, err := alert.New(base, alert.FromConfig(cfg.Alert))
		if err != nil {
			return err
		}
		defer ah.Close()
		log = slog.New(ah)
		slog.SetDefault(log)
	}
	if *dataDir == "" {
		return errors.New("-data-dir must not be empty")
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "history":
			cfg.History.DSN = *historyDSN
		case "redis":
			cfg.MarketData.Redis = *redisAddr
		case "kafka":
			cfg.Kafka.Brokers = splitList(*kafkaBrokers)
		case "auth-url":
			cfg.WebSocket.AuthURL = *authURL
		case "sign-url":
			cfg.WebSocket.SignURL = *signURL
		}
	})
	if *devAuth && (*wsAddr == "" || !ws.IsLoopback(*wsAddr)) {
		return fmt.Errorf("-dev-auth needs a loopback -ws-addr, not %q", *wsAddr)
	}
	dsn := journalDSN(cfg)
	node, err := runtime.Start(cfg, runtime.Options{Logger: log, DataDir: *dataDir, JournalDSN: dsn, Journal: journal.Options{Mode: mode}})
	if err != nil {
		return err
	}
	log.Info("journal", "journal", runtime.JournalName(*dataDir, dsn), "durability", mode.String(), "last_lsn", node.Journal.LastLSN())
	services, err := node.StartServices(context.Background(), *dataDir)
	if err != nil {
		node.Shutdown(context.Background())
		return err
	}
	log.Info("followers", "history", historyName(cfg, *dataDir), "marketdata", orDefault(cfg.MarketData.Redis, "memory"),
		"kafka", orDefault(strings.Join(cfg.Kafka.Brokers, ","), "none (in-process bus only)"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(node.Metrics(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := httprpc.New(node.Router)
	srv.BearerToken = *httpToken
	if *tokenFile != "" {
		tokens, err := readTokens(*tokenFile, *httpToken)
		if err != nil {
			node.Shutdown(context.Background())
			return fmt.Errorf("-http-token-file: %w", err)
		}
		srv.SetTokens(tokens)
	}
	srv.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		node.Shutdown(context.Background())
		return fmt.Errorf("-http-addr: %w", err)
	}
	log.Info("HTTP JSON-RPC listening", "addr", ln.Addr().String(), "bearer_token", *httpToken != "" || *tokenFile != "")
	var wsSrv *ws.Server
	var wsLn net.Listener
	if *wsAddr != "" {
		wsSrv, err = ws.New(node.Router, services.Bus, ws.Options{
			DevAuth:          *devAuth,
			MarketDataCursor: services.MarketData.Cursor,
			Logger:           log,
		})
		if err == nil {
			wsLn, err = net.Listen("tcp", *wsAddr)
		}
		if err != nil {
			ln.Close()
			if wsSrv != nil {
				wsSrv.Shutdown(context.Background())
			}
			node.Shutdown(context.Background())
			return fmt.Errorf("-ws-addr: %w", err)
		}
		reg.MustRegister(wsSrv.Collector())
		log.Info("websocket listening", "addr", wsLn.Addr().String(), "auth_url", cfg.WebSocket.AuthURL != "", "dev_auth", *devAuth)
	}

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if wsSrv != nil {
		go func() { errc <- wsSrv.Serve(wsLn) }()
	}

wait:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				if *tokenFile == "" {
					log.Info("SIGHUP ignored: no -http-token-file")
					continue
				}
				tokens, err := readTokens(*tokenFile, *httpToken)
				if err != nil {
					log.Error("bearer tokens not reloaded; the current ones stay in force", "err", err)
					continue
				}
				srv.SetTokens(tokens)
				log.Info("bearer tokens reloaded", "file", *tokenFile, "tokens", len(tokens))
				continue
			}
			log.Info("stopping", "signal", s.String())
			break wait
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, ws.ErrServerClosed) {
				log.Error("server failed", "err", err)
			}
			break wait
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if wsSrv != nil {
		if err := wsSrv.Shutdown(ctx); err != nil {
			log.Error("websocket shutdown", "err", err)
		}
	}
	if err := srv.Shutdown(ctx); err != nil {
		log.Error("HTTP shutdown", "err", err)
	}
	if err := node.Shutdown(ctx); err != nil {
		log.Error("node shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// readTokens reads the bearer tokens of file (one per line; blank lines
// and lines starting with # are skipped) plus extra when not empty. A file
// with no token is an error: it would turn authentication off.
func readTokens(file, extra string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var tokens []string
	if extra != "" {
		tokens = append(tokens, extra)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		tokens = append(tokens, line)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s holds no token", file)
	}
	return tokens, nil
}

// verify recovers a data directory offline and prints what it found.
func verify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bourse verify", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "./data", "data directory to verify")
	journalDSN := journalFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	dsn := journalDSN(cfg)
	s, backend, err := runtime.Recover(cfg, *dataDir, dsn)
	if err != nil {
		return err
	}
	if err := backend.Close(); err != nil {
		return err
	}
	r := s.Recovery
	if dsn != "" {
		fmt.Fprintf(out, "journal:   %s (%d records)\n", runtime.JournalName(*dataDir, dsn), r.Records)
	} else {
		fmt.Fprintf(out, "journal:   %s (%d segments, %d records)\n", runtime.JournalDir(*dataDir), r.Segments, r.Records)
	}
	if r.TornBytes > 0 {
		fmt.Fprintf(out, "torn tail: cut %d bytes (%s)\n", r.TornBytes, r.TornReason)
	}
	for _, why := range s.SkippedSnapshots {
		fmt.Fprintf(out, "skipped:   %s\n", why)
	}
	if s.Snapshot > 0 {
		fmt.Fprintf(out, "snapshot:  %s (lsn %d)\n", runtime.SnapshotDir(*dataDir), s.Snapshot)
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

// journalFlag defines -journal on fs. The returned function gives the DSN to
// use once fs is parsed and the configuration loaded: the flag if it was
// given (even empty: segment files), else the configuration's journal.dsn.
func journalFlag(fs *flag.FlagSet) func(*config.Config) string {
	dsn := fs.String("journal", "", "keep the journal in MySQL: go-sql-driver DSN, optionally mysql://-prefixed, e.g. 'root@tcp(127.0.0.1:3306)/bourse?table=bourse_journal' (default: journal.dsn of the configuration, else segment files under -data-dir)")
	return func(cfg *config.Config) string {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "journal" })
		if set {
			return *dsn
		}
		return cfg.Journal.DSN
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func historyName(cfg *config.Config, dataDir string) string {
	if cfg.History.DSN != "" {
		return "mysql"
	}
	return runtime.HistoryPath(dataDir)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
