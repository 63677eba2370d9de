// Command bourse runs a Bourse exchange node.
//
//	bourse [-config FILE] [-data-dir DIR] [-journal DSN] [-durability sync|batch|async]
//	       [-http-addr ADDR] [-ws-addr ADDR] [-web-addr ADDR] [-http-token TOKEN] [-http-token-file FILE]
//	       [-auth-url URL] [-sign-url URL] [-dev-auth] [-http-max-conns N] [-ws-max-conns N]
//	       [-history DSN] [-redis ADDR] [-kafka BROKERS] [-alert-redis ADDR]
//	       [-followers LIST] [-pprof]
//	bourse verify [-config FILE] [-data-dir DIR] [-journal DSN]
//	bourse version
//	bourse help [COMMAND]
//	bourse backup [-config FILE] -data-dir DIR [-journal DSN] -out DIR
//
// Without -config it uses the embedded default configuration (see
// internal/config/bourse.yaml). It recovers its state from the journal in
// -data-dir, serves the viabtc-compatible HTTP JSON-RPC API on -http-addr and
// the websocket API on -ws-addr (empty: not served), the web console on
// -web-addr (or web.addr; empty: not served), and stops gracefully on
// SIGINT or SIGTERM.
//
// The websocket API authenticates with server.auth against -auth-url (or
// websocket.auth_url). -dev-auth, for development only and refused unless
// -ws-addr is loopback, also accepts tokens "dev:<user_id>": whoever reaches
// the websocket can then place and cancel orders as any user.
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
// "bourse verify" reads the snapshot and journal (-data-dir, or -journal)
// and prints the last LSN, the state hash and the invariant checks; it
// exits 1 if an invariant does not hold. It is read-only: it changes no
// file or table and takes no lock (a torn tail is reported, not cut), so it
// may run beside a node on the same directory, which it then reports.
// "bourse version" prints the module version and VCS revision; "bourse help"
// lists the subcommands. Any other first argument that is not a flag is a
// usage error (exit status 2), as is a positional argument after the flags.
//
// A node locks its -data-dir (the file LOCK in it) and claims its MySQL
// journal table (a GET_LOCK named after the database and table) while it
// runs: a second node on either is refused with a message naming it.
//
// "bourse backup" copies a data directory — of a running node too — into
// a new data directory -out: a snapshot of the state now, the journal's
// segment files up to it, the SQLite history and the market data
// checkpoint (see runtime.Backup and the README's restore procedure).
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
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/bourse-exchange/bourse/actors/journal"
	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/edges/web"
	"github.com/bourse-exchange/bourse/edges/ws"
	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/bourse-exchange/bourse/internal/netguard"
	"github.com/bourse-exchange/bourse/persistence/dirlock"
	"github.com/bourse-exchange/bourse/runtime"
	"github.com/bourse-exchange/bourse/runtime/alert"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func main() {
	os.Exit(exitCode(dispatch(os.Args[1:], os.Stdout), os.Stderr))
}

// subcommand is a named command of the binary: bourse NAME [flags].
type subcommand struct {
	name    string
	summary string                                   // one line, for bourse help
	run     func(args []string, out io.Writer) error // args: those after the name
}

// subcommands is the table of bourse's subcommands; without one, bourse
// runs a node. Adding a subcommand is adding a line here.
func subcommands() []subcommand {
	return []subcommand{
		{"verify", "read a data directory or journal table (read-only; a running node may use it), print its last LSN and state hash, check the invariants", verify},
		{"backup", "copy the data directory of a node, running or not, into a new one (README: Backup and restore)", backup},
		{"version", "print the module version and the VCS revision the binary was built from", version},
		{"help", "list the subcommands; bourse help COMMAND prints the flags of COMMAND", help},
	}
}

// dispatch runs the subcommand named by args[0], or a node when args is
// empty or starts with a flag. Any other first argument is a usage error:
// a mistyped subcommand must not start a live exchange.
func dispatch(args []string, out io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return run(args)
	}
	for _, c := range subcommands() {
		if c.name == args[0] {
			return c.run(args[1:], out)
		}
	}
	return usageErrorf("unknown command %q; the commands are %s, or flags only to run a node (bourse help)", args[0], commandNames())
}

// usageError is a command line bourse cannot run: it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// exitCode reports err on stderr and gives the process's exit status: 0
// without an error or when help was asked (-h), 2 for a usage error, else 1.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "bourse:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "bourse:", err)
		return 1
	}
}

// parseFlags parses args with fs (already printing its own message on a
// bad flag) and refuses positional arguments, which no command takes: in
// "bourse -data-dir X verify" the word is not a subcommand.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q after the flags: a subcommand (%s) comes first, bourse COMMAND [flags] (bourse help)", fs.Arg(0), commandNames())
	}
	return nil
}

func commandNames() string {
	var names []string
	for _, c := range subcommands() {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// help prints the subcommands, or with one argument the flags of that
// subcommand ("node" or none for the node's own flags).
func help(args []string, out io.Writer) error {
	switch {
	case len(args) > 1:
		return usageErrorf("help takes at most one command, not %q", args)
	case len(args) == 1 && args[0] == "node":
		return run([]string{"-h"})
	case len(args) == 1:
		for _, c := range subcommands() {
			if c.name == args[0] {
				return c.run([]string{"-h"}, out)
			}
		}
		return usageErrorf("unknown command %q; the commands are %s", args[0], commandNames())
	}
	fmt.Fprint(out, "usage:\n  bourse [flags]            run a node (bourse help node, or bourse -h, lists the flags)\n  bourse COMMAND [flags]\n\ncommands:\n")
	for _, c := range subcommands() {
		fmt.Fprintf(out, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(out, "\nbourse help COMMAND prints the flags of COMMAND.\n")
	return nil
}

// version prints the module version and the VCS revision recorded in the
// binary by the Go toolchain.
func version(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bourse version", flag.ContinueOnError)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("no build information in this binary")
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	fmt.Fprintf(out, "module:   %s %s\n", bi.Main.Path, bi.Main.Version)
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(out, "revision: %s\n", rev)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(out, "time:     %s\n", t)
		}
	} else {
		fmt.Fprintln(out, "revision: unknown (built without VCS information)")
	}
	fmt.Fprintf(out, "go:       %s %s/%s\n", bi.GoVersion, settings["GOOS"], settings["GOARCH"])
	return nil
}

// run runs a node: flags and configuration, the data directory lock and
// recovery answers, the node, then its HTTP and websocket servers until a
// stop signal, a journal failure or a server's end.
func run(args []string) error {
	f, err := parseRunFlags(args)
	if err != nil {
		return err
	}
	// Signals are caught from the start: a SIGHUP (token reload) or
	// SIGTERM that arrives while starting must not kill the process
	// half-way.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)

	r := &nodeRun{f: f}
	if err := r.configure(); err != nil {
		return err
	}
	if r.cfg.Alert.Redis != "" {
		// Error-level records also go to the Redis alert list (alertcenter).
		ah, err := alert.New(r.base, alert.FromConfig(r.cfg.Alert))
		if err != nil {
			return err
		}
		defer ah.Close()
		r.log = slog.New(ah)
		slog.SetDefault(r.log)
	}
	if err := r.applyFlags(); err != nil {
		return err
	}
	if err := r.listenWhileRecovering(); err != nil {
		return err
	}
	defer func() {
		if r.starting != nil { // not handed to the API server: start-up failed
			r.starting.Stop(context.Background())
			r.ln.Close()
		}
	}()
	if err := r.startNode(); err != nil {
		return err
	}
	if err := r.newHTTPServer(); err != nil {
		r.node.Shutdown(context.Background())
		return err
	}
	r.handOver()
	if err := r.startWS(); err != nil {
		return err
	}
	if err := r.startWeb(); err != nil {
		return err
	}

	errc := make(chan error, 3)
	go func() { errc <- r.srv.Serve(r.ln) }()
	if r.wsSrv != nil {
		go func() { errc <- r.wsSrv.Serve(r.wsLn) }()
	}
	if r.webSrv != nil {
		go func() { errc <- r.webSrv.Serve(r.webLn) }()
	}
	haltErr := r.wait(sig, errc)
	r.shutdown()
	if haltErr != nil {
		return fmt.Errorf("stopped after a journal failure: %w", haltErr)
	}
	r.log.Info("stopped")
	return nil
}

// runFlags are the flags of a node run (bourse [flags]).
type runFlags struct {
	configPath, dataDir, httpAddr, wsAddr string
	webAddr                               string
	authURL, signURL                      string
	devAuth                               bool
	httpToken, tokenFile                  string
	journalDSN                            func(*config.Config) string
	historyDSN, redisAddr, alertRedis     string
	kafkaBrokers, durability, logLevel    string
	followers                             string
	pprof                                 bool
	httpMaxConns, wsMaxConns              int
	set                                   map[string]bool // the flags given on the command line
}

// parseRunFlags parses the flags of a node run.
func parseRunFlags(args []string) (*runFlags, error) {
	fs := flag.NewFlagSet("bourse", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: bourse [flags] runs a node; bourse COMMAND [flags] runs one of: %s (bourse help)\n\nflags:\n", commandNames())
		fs.PrintDefaults()
	}
	f := &runFlags{set: map[string]bool{}}
	fs.StringVar(&f.configPath, "config", "", "configuration file (default: the embedded default configuration)")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "directory for local state")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "listen address of the HTTP JSON-RPC API (internal: keep it private)")
	fs.StringVar(&f.wsAddr, "ws-addr", ws.DefaultAddr, "listen address of the websocket API (empty: not served)")
	fs.StringVar(&f.webAddr, "web-addr", config.DefaultWebAddr, "listen address of the web console, the trader page and /ops (default: web.addr of the configuration, "+config.DefaultWebAddr+"; empty: not served)")
	fs.StringVar(&f.authURL, "auth-url", "", "websocket server.auth checks tokens with an HTTP GET to this URL (default: websocket.auth_url of the configuration)")
	fs.StringVar(&f.signURL, "sign-url", "", "websocket server.sign checks signatures with an HTTP GET to this URL (default: websocket.sign_url of the configuration)")
	fs.BoolVar(&f.devAuth, "dev-auth", false, "development only: websocket server.auth also accepts tokens \"dev:<user_id>\", so whoever reaches the websocket can trade as any user (refused unless -ws-addr is loopback)")
	fs.StringVar(&f.httpToken, "http-token", os.Getenv("BOURSE_HTTP_TOKEN"), "if set, HTTP requests need 'Authorization: Bearer TOKEN' (default $BOURSE_HTTP_TOKEN)")
	fs.StringVar(&f.tokenFile, "http-token-file", "", "bearer tokens, one per line (# comments); any of them is accepted; re-read on SIGHUP (token rotation without a restart)")
	f.journalDSN = journalFlag(fs)
	fs.StringVar(&f.historyDSN, "history", "", "keep order/deal/balance history in MySQL: go-sql-driver DSN (default: history.dsn of the configuration, else SQLite at DATA-DIR/history.db)")
	fs.StringVar(&f.redisAddr, "redis", "", "keep market data in Redis at host:port or redis:// URL (default: marketdata.redis of the configuration, else in memory)")
	fs.StringVar(&f.alertRedis, "alert-redis", "", "push error-level log records to the Redis list alert.key at host:port or redis:// URL (default: alert.redis of the configuration, else no alerts)")
	fs.StringVar(&f.kafkaBrokers, "kafka", "", "publish events to these Kafka brokers, comma-separated (default: kafka.brokers of the configuration, else the in-process bus only)")
	fs.StringVar(&f.followers, "followers", "", "journal followers to run, comma-separated: history, marketdata, kafka, bus; \"none\" for none (default: followers.* of the configuration, all of them)")
	fs.BoolVar(&f.pprof, "pprof", false, "serve the Go profiler (net/http/pprof) at /debug/pprof/ on -http-addr, behind the bearer token like /metrics")
	fs.StringVar(&f.durability, "durability", "sync", "when a write is acknowledged: sync (after fsync), batch (after write; fsync every tuning.journal.sync_interval, default 10ms), async (at once)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&f.httpMaxConns, "http-max-conns", 0, "open HTTP connections at most; more are answered 503 and closed (default: http.max_conns of the configuration, 1024; 0: no limit); lowered to fit RLIMIT_NOFILE")
	fs.IntVar(&f.wsMaxConns, "ws-max-conns", 0, "open websocket connections at most; more are answered 503 and closed (default: websocket.max_conns of the configuration, 10000; 0: no limit); lowered to fit RLIMIT_NOFILE")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// nodeRun is a node run's state, filled in step by step by run.
type nodeRun struct {
	f        *runFlags
	base     slog.Handler // the text handler on stderr
	log      *slog.Logger
	mode     journal.Mode
	cfg      *config.Config
	lock     *dirlock.Lock
	ln       net.Listener      // the HTTP listener
	starting *httprpc.Starting // answers while recovering; nil once handed over
	halt     chan error        // a journal failure beyond repair
	node     *runtime.Node
	services *runtime.Services
	reg      *prometheus.Registry
	srv      *httprpc.Server
	wsSrv    *ws.Server // nil: no websocket API
	wsLn     net.Listener
	webSrv   *web.Server // nil: no web console
	webLn    net.Listener
}

// configure makes the logger, parses the durability and loads the
// configuration with -alert-redis over it.
func (r *nodeRun) configure() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(r.f.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	r.base = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	r.log = slog.New(r.base)
	slog.SetDefault(r.log)

	mode, err := journal.ParseMode(r.f.durability)
	if err != nil {
		return fmt.Errorf("-durability: %w", err)
	}
	r.mode = mode
	if r.cfg, err = config.LoadFile(r.f.configPath); err != nil {
		return err
	}
	if r.f.set["alert-redis"] {
		r.cfg.Alert.Redis = r.f.alertRedis
	}
	return nil
}

// applyFlags puts the other flags given over the configuration and checks
// them.
func (r *nodeRun) applyFlags() error {
	f, cfg := r.f, r.cfg
	if f.dataDir == "" {
		return errors.New("-data-dir must not be empty")
	}
	for name := range f.set {
		switch name {
		case "history":
			cfg.History.DSN = f.historyDSN
		case "redis":
			cfg.MarketData.Redis = f.redisAddr
		case "kafka":
			cfg.Kafka.Brokers = splitList(f.kafkaBrokers)
		case "auth-url":
			cfg.WebSocket.AuthURL = f.authURL
		case "sign-url":
			cfg.WebSocket.SignURL = f.signURL
		case "http-max-conns":
			cfg.HTTP.MaxConns = f.httpMaxConns
		case "ws-max-conns":
			cfg.WebSocket.MaxConns = f.wsMaxConns
		case "followers":
			on, err := parseFollowers(f.followers)
			if err != nil {
				return usageErrorf("-followers: %v", err)
			}
			cfg.Followers = on
		case "web-addr":
			cfg.Web.Addr = f.webAddr
		}
	}
	if f.wsAddr != "" && !cfg.Followers.Bus {
		return usageErrorf("the websocket API (-ws-addr) pushes what the bus follower delivers: run the bus follower or set -ws-addr \"\"")
	}
	if cfg.HTTP.MaxConns < 0 || cfg.WebSocket.MaxConns < 0 {
		return usageErrorf("-http-max-conns and -ws-max-conns must not be negative")
	}
	fitConnLimits(cfg, f.wsAddr != "", r.log)
	if f.devAuth && (f.wsAddr == "" || !ws.IsLoopback(f.wsAddr)) {
		return fmt.Errorf("-dev-auth needs a loopback -ws-addr, not %q", f.wsAddr)
	}
	return nil
}

// listenWhileRecovering locks the data directory, then opens the HTTP
// listener, which answers from the start: while the node recovers,
// /healthz is ok (alive) and /readyz and requests 503.
func (r *nodeRun) listenWhileRecovering() error {
	// The data directory is locked before any listener opens: a second
	// node on it is told so, not that the port is taken.
	lock, err := dirlock.Acquire(r.f.dataDir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", r.f.httpAddr)
	if err != nil {
		lock.Release()
		return fmt.Errorf("-http-addr: %w", err)
	}
	starting, err := httprpc.ServeStarting(ln, r.cfg.HTTP.MaxConns)
	if err != nil {
		ln.Close()
		lock.Release()
		return err
	}
	r.lock, r.ln, r.starting = lock, ln, starting
	r.log.Info("HTTP listening while recovering (/healthz ok, /readyz 503)", "addr", ln.Addr().String())
	return nil
}

// startNode recovers the node from its journal and starts its followers.
func (r *nodeRun) startNode() error {
	// A journal that fails beyond repair halts the node: wait stops the
	// edges (in-flight answers are written) and the process exits 1.
	r.halt = make(chan error, 1)
	jopts := journal.Options{Mode: r.mode, Halt: func(err error) {
		select {
		case r.halt <- err:
		default:
		}
	}}
	dsn := r.f.journalDSN(r.cfg)
	node, err := runtime.Start(r.cfg, runtime.Options{Logger: r.log, DataDir: r.f.dataDir, Lock: r.lock, JournalDSN: dsn, Journal: jopts})
	if err != nil {
		return err
	}
	r.node = node
	r.log.Info("journal", "journal", runtime.JournalName(r.f.dataDir, dsn), "durability", r.mode.String(), "last_lsn", node.Journal.LastLSN())
	if r.services, err = node.StartServices(context.Background(), r.f.dataDir); err != nil {
		node.Shutdown(context.Background())
		return err
	}
	cfg := r.cfg
	on := cfg.Followers
	r.log.Info("followers", "history", onOff(on.History, historyName(cfg, r.f.dataDir)), "marketdata", onOff(on.MarketData, orDefault(cfg.MarketData.Redis, "memory")),
		"kafka", onOff(on.Kafka, orDefault(strings.Join(cfg.Kafka.Brokers, ","), "none")), "bus", onOff(on.Bus, "in-process"))
	return nil
}

// newHTTPServer builds the HTTP JSON-RPC server with its bearer tokens
// and the metrics registry.
func (r *nodeRun) newHTTPServer() error {
	r.reg = prometheus.NewRegistry()
	r.reg.MustRegister(r.node.Metrics(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := httprpc.New(r.node.Router)
	r.reg.MustRegister(srv.Collector())
	srv.BearerToken = r.f.httpToken
	if r.f.tokenFile != "" {
		tokens, err := readTokens(r.f.tokenFile, r.f.httpToken)
		if err != nil {
			return fmt.Errorf("-http-token-file: %w", err)
		}
		srv.SetTokens(tokens)
	}
	srv.Metrics = promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
	if r.f.pprof {
		srv.Debug = httprpc.Pprof()
		r.log.Warn("the Go profiler is served at /debug/pprof/ (-pprof)")
	}
	srv.Ready = r.node.Ready
	r.srv = srv
	return nil
}

// handOver stops the recovery answers, waiting up to 5 s for those in
// flight, so that the HTTP server can take the listener.
func (r *nodeRun) handOver() {
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := r.starting.Stop(stopCtx); err != nil {
		r.log.Warn("recovery answers: not all finished", "err", err)
	}
	cancelStop()
	r.starting = nil
	r.log.Info("HTTP JSON-RPC listening", "addr", r.ln.Addr().String(), "bearer_token", r.f.httpToken != "" || r.f.tokenFile != "")
}

// startWS builds the websocket server and opens its listener, unless
// -ws-addr is empty. On failure it stops the node.
func (r *nodeRun) startWS() error {
	if r.f.wsAddr == "" {
		return nil
	}
	wopts := ws.Options{DevAuth: r.f.devAuth, Logger: r.log}
	if md := r.services.MarketData; md != nil {
		wopts.MarketDataCursor = md.Cursor
	}
	wsSrv, err := ws.New(r.node.Router, r.services.Bus, wopts)
	var wsLn net.Listener
	if err == nil {
		wsLn, err = net.Listen("tcp", r.f.wsAddr)
	}
	if err != nil {
		r.ln.Close()
		if wsSrv != nil {
			wsSrv.Shutdown(context.Background())
		}
		r.node.Shutdown(context.Background())
		return fmt.Errorf("-ws-addr: %w", err)
	}
	r.wsSrv, r.wsLn = wsSrv, wsLn
	r.reg.MustRegister(wsSrv.Collector())
	r.log.Info("websocket listening", "addr", wsLn.Addr().String(), "auth_url", r.cfg.WebSocket.AuthURL != "", "dev_auth", r.f.devAuth)
	if r.f.devAuth {
		r.log.Warn("-dev-auth: server.auth accepts dev:<user_id>; anyone reaching the websocket can trade as any user (development only)")
	}
	return nil
}

// startWeb opens the web console's listener, unless its address is empty.
// On failure it stops the node.
func (r *nodeRun) startWeb() error {
	if r.cfg.Web.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", r.cfg.Web.Addr)
	if err != nil {
		r.ln.Close()
		if r.wsSrv != nil {
			r.wsLn.Close()
			r.wsSrv.Shutdown(context.Background())
		}
		r.node.Shutdown(context.Background())
		return fmt.Errorf("-web-addr: %w", err)
	}
	inv := httprpc.NewInvoker(r.node.Router)
	opts := web.Options{
		DevAuth:  r.f.devAuth,
		Metrics:  r.srv.Metrics,
		Operator: r.srv.Operator,
		Logger:   r.log,
		State: func(ctx context.Context) ([]byte, error) {
			return inv.ServerState(ctx, nil, nil)
		},
	}
	if r.wsLn != nil {
		opts.WSAddr = r.wsLn.Addr().String()
	}
	r.webSrv, r.webLn = web.New(opts), ln
	r.log.Info("web console listening", "addr", ln.Addr().String(), "ops_token", r.f.httpToken != "" || r.f.tokenFile != "")
	return nil
}

// wait serves until a stop signal, a journal failure (returned) or a
// server's end; a SIGHUP re-reads the bearer tokens.
func (r *nodeRun) wait(sig <-chan os.Signal, errc <-chan error) error {
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				r.reloadTokens()
				continue
			}
			r.log.Info("stopping", "signal", s.String())
			return nil
		case err := <-r.halt:
			r.log.Error("stopping: the journal failed and could not return to its last durable position; restart to recover", "err", err)
			return err
		case err := <-errc:
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, ws.ErrServerClosed) {
				r.log.Error("server failed", "err", err)
			}
			return nil
		}
	}
}

// reloadTokens re-reads -http-token-file; on failure the current tokens
// stay in force.
func (r *nodeRun) reloadTokens() {
	if r.f.tokenFile == "" {
		r.log.Info("SIGHUP ignored: no -http-token-file")
		return
	}
	tokens, err := readTokens(r.f.tokenFile, r.f.httpToken)
	if err != nil {
		r.log.Error("bearer tokens not reloaded; the current ones stay in force", "err", err)
		return
	}
	r.srv.SetTokens(tokens)
	r.log.Info("bearer tokens reloaded", "file", r.f.tokenFile, "tokens", len(tokens))
}

// shutdown stops the websocket and HTTP servers, then the node, within
// 10 s.
func (r *nodeRun) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r.webSrv != nil {
		if err := r.webSrv.Shutdown(ctx); err != nil {
			r.log.Error("web console shutdown", "err", err)
		}
	}
	if r.wsSrv != nil {
		if err := r.wsSrv.Shutdown(ctx); err != nil {
			r.log.Error("websocket shutdown", "err", err)
		}
	}
	if err := r.srv.Shutdown(ctx); err != nil {
		r.log.Error("HTTP shutdown", "err", err)
	}
	if err := r.node.Shutdown(ctx); err != nil {
		r.log.Error("node shutdown", "err", err)
	}
}

// fitConnLimits lowers the HTTP and websocket connection limits so that,
// with a reserve for the node's own files, they fit in RLIMIT_NOFILE: a
// flood of clients then meets the limit (HTTP 503) before the journal or
// a snapshot meets EMFILE.
func fitConnLimits(cfg *config.Config, ws bool, log *slog.Logger) {
	wsMax := cfg.WebSocket.MaxConns
	if !ws {
		wsMax = 0
	}
	nofile := netguard.FileLimit()
	fit, lowered := netguard.FitLimits(nofile, cfg.HTTP.MaxConns, wsMax)
	if lowered {
		log.Warn("connection limits lowered to fit the file descriptor limit (raise it with ulimit -n or LimitNOFILE=)",
			"rlimit_nofile", nofile, "reserve", netguard.Reserve(nofile), "http_max_conns", fit[0], "ws_max_conns", fit[1])
		cfg.HTTP.MaxConns = fit[0]
		if ws {
			cfg.WebSocket.MaxConns = fit[1]
		}
	}
	if cfg.HTTP.MaxConns == 0 || (ws && cfg.WebSocket.MaxConns == 0) {
		log.Warn("a listener has no connection limit: a flood of clients can take every file descriptor", "rlimit_nofile", nofile)
	}
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

// verify reads a data directory (or journal table) without changing it and
// prints what it found.
func verify(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bourse verify", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "./data", "data directory to verify")
	journalDSN := journalFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	dsn := journalDSN(cfg)
	if dsn == "" {
		// A mistyped -data-dir must not verify as an empty, healthy exchange.
		if _, err := os.Stat(runtime.JournalDir(*dataDir)); err != nil {
			return fmt.Errorf("verify: no journal in %s (%v): is -data-dir right, or is the journal in MySQL (-journal)?", *dataDir, err)
		}
	}
	running, pid := dirlock.Holder(*dataDir)
	s, err := runtime.Scan(cfg, *dataDir, dsn)
	if err != nil {
		return err
	}
	r := s.Recovery
	if running {
		who := "a node"
		if pid > 0 {
			who = fmt.Sprintf("a node (pid %d)", pid)
		}
		fmt.Fprintf(out, "running:   %s holds %s: this is its durable state as read now\n", who, *dataDir)
	}
	if dsn != "" {
		fmt.Fprintf(out, "journal:   %s (%d records)\n", runtime.JournalName(*dataDir, dsn), r.Records)
	} else {
		fmt.Fprintf(out, "journal:   %s (%d segments, %d records)\n", runtime.JournalDir(*dataDir), r.Segments, r.Records)
	}
	if r.TornBytes > 0 {
		fmt.Fprintf(out, "torn tail: %d bytes ignored, not cut (%s)\n", r.TornBytes, r.TornReason)
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
	bad := s.Check()
	for _, line := range bad {
		fmt.Fprintf(out, "FAIL       %s\n", line)
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d invariant violations", len(bad))
	}
	fmt.Fprintln(out, "invariants: ok (conservation per asset; frozen = resting orders' reservations)")
	return nil
}

// backup copies a data directory, also of a running node (runtime.Backup).
func backup(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bourse backup", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file of the node (default: the embedded default configuration)")
	dataDir := fs.String("data-dir", "", "data directory of the node to back up (required)")
	to := fs.String("out", "", "new directory for the backup (required; must not exist or be empty)")
	journalDSN := journalFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataDir == "" || *to == "" {
		return usageErrorf("bourse backup needs -data-dir and -out: bourse backup [-config FILE] -data-dir DIR [-journal DSN] -out DIR")
	}
	cfg, err := config.LoadFile(*configPath)
	if err != nil {
		return err
	}
	t0 := time.Now()
	res, err := runtime.Backup(context.Background(), cfg, *dataDir, journalDSN(cfg), *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backup:    %s\n", *to)
	fmt.Fprintf(out, "journal:   %s (%d records copied)\n", res.Identity, res.Records)
	fmt.Fprintf(out, "lsn:       %d\n", res.LSN)
	fmt.Fprintf(out, "hash:      %s\n", res.Hash)
	fmt.Fprintf(out, "history:   copied %v; market data checkpoint: copied %v\n", res.History, res.MarketData)
	fmt.Fprintf(out, "took:      %s\n", time.Since(t0).Round(time.Millisecond))
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

// parseFollowers reads -followers: the followers to run, by name, or
// "none".
func parseFollowers(list string) (config.Followers, error) {
	var on config.Followers
	if strings.TrimSpace(list) == "none" {
		return on, nil
	}
	names := splitList(list)
	if len(names) == 0 {
		return on, errors.New(`name the followers to run (history, marketdata, kafka, bus) or "none"`)
	}
	for _, name := range names {
		switch name {
		case "history":
			on.History = true
		case "marketdata":
			on.MarketData = true
		case "kafka":
			on.Kafka = true
		case "bus":
			on.Bus = true
		default:
			return on, fmt.Errorf("unknown follower %q (history, marketdata, kafka, bus or none)", name)
		}
	}
	return on, nil
}

// onOff is what the start-up log says of a follower: where it writes, or
// "off".
func onOff(on bool, what string) string {
	if !on {
		return "off"
	}
	return what
}
