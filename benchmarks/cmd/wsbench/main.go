// Command wsbench loads a running Bourse's websocket edge (docs/protocol.md "WebSocket")
// from a separate process, over the wire only: websocket on -ws, HTTP
// JSON-RPC on -http for deposits and orders.
//
//	wsbench -mode idle|fanout|throughput [-ws 127.0.0.1:8090] [-http 127.0.0.1:8080]
//	        [-bin PATH [-bin-args ARGS] | -pid PID] [-conns N] [-sources S] ...
//
// Modes:
//
//	idle        open -conns connections; each sends server.ping, waits for
//	            "pong" and then stays idle. Reports the server's resident
//	            memory (VmRSS of /proc/PID/status) before and after, KiB per
//	            idle connection and how long connecting took.
//	fanout      -conns subscribers send depth.subscribe [market, -limit,
//	            -interval] and wait for the reply; then, -rounds times, the
//	            tool places one resting ask over HTTP at a new best price and
//	            measures, per subscriber, the time from the HTTP reply to the
//	            arrival of the depth.update carrying that price (p50/p99/max,
//	            how many got it).
//	throughput  -conns subscribers (-channel deals or depth, every market of
//	            -markets) while the tool places crossing order pairs at
//	            -rate orders/s for -duration; reports notifications/s
//	            received, bytes/s and, for deals, deals/s carried.
//
// Memory needs a process: -pid, or -bin, which starts that bourse binary
// with a fresh temporary -data-dir, -http-addr and -ws-addr taken from -http
// and -ws, plus -bin-args, and stops it (SIGINT) at the end.
//
// Many connections: the tool raises its RLIMIT_NOFILE (as far as the hard
// limit allows; root may raise the hard limit too), and a binary started
// with -bin inherits the raised limit. With -pid the server's own limit is
// read from /proc/PID/limits and the run is refused when it is too low.
// One source address has about 28k ephemeral ports (net.ipv4.ip_local_port_range),
// so the dials are spread over -sources loopback addresses 127.0.0.1,
// 127.0.0.2, … (0: one per 10k connections), and each socket asks for
// IP_BIND_ADDRESS_NO_PORT so that ports are chosen per 4-tuple at connect.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(1)
	}
}

type options struct {
	mode     string
	wsAddr   string
	httpAddr string
	bin      string
	binArgs  []string
	pid      int
	conns    int
	sources  int
	dialers  int
	settle   time.Duration
	hold     time.Duration
	timeout  time.Duration

	market   string
	limit    int
	interval string
	rounds   int
	gap      time.Duration
	user     int64
	price    string

	channel  string
	markets  []string
	rate     float64
	duration time.Duration
	workers  int
	drain    time.Duration
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	var binArgs, markets string
	fs := flag.NewFlagSet("wsbench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.mode, "mode", "idle", "idle, fanout or throughput")
	fs.StringVar(&o.wsAddr, "ws", "127.0.0.1:8090", "bourse websocket address (host:port)")
	fs.StringVar(&o.httpAddr, "http", "127.0.0.1:8080", "bourse HTTP JSON-RPC address (host:port)")
	fs.StringVar(&o.bin, "bin", "", "start this bourse binary (fresh temporary data dir) instead of using a running one")
	fs.StringVar(&binArgs, "bin-args", "", "extra arguments for -bin, separated by spaces")
	fs.IntVar(&o.pid, "pid", 0, "pid of the running bourse, for its memory (idle mode needs -pid or -bin)")
	fs.IntVar(&o.conns, "conns", 10000, "websocket connections (idle) or subscribers (fanout, throughput)")
	fs.IntVar(&o.sources, "sources", 0, "loopback source addresses 127.0.0.1..127.0.0.S to dial from; 0: one per 10000 connections")
	fs.IntVar(&o.dialers, "dialers", 64, "concurrent dials")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "wait before reading the server's memory")
	fs.DurationVar(&o.hold, "hold", 0, "idle: keep the connections open this long after measuring")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per dial, reply, HTTP request and delivery round")
	fs.StringVar(&o.market, "market", "BTCUSDT", "fanout: market")
	fs.IntVar(&o.limit, "limit", 10, "fanout: depth.subscribe limit (one of the server's websocket.depth_limit)")
	fs.StringVar(&o.interval, "interval", "0", "fanout: depth.subscribe merge interval (one of websocket.depth_merge)")
	fs.IntVar(&o.rounds, "rounds", 10, "fanout: orders placed, one per round")
	fs.DurationVar(&o.gap, "gap", 500*time.Millisecond, "fanout: quiet time required before each round")
	fs.Int64Var(&o.user, "user", 900001, "first user id the tool funds and trades with (fanout: 1 user, throughput: 2)")
	fs.StringVar(&o.price, "price", "90000", "fanout: price of the first ask (each round 1 tick lower); throughput: trade price")
	fs.StringVar(&o.channel, "channel", "deals", "throughput: deals or depth")
	fs.StringVar(&markets, "markets", "BTCUSDT", "throughput: comma-separated markets, orders rotate over them")
	fs.Float64Var(&o.rate, "rate", 200, "throughput: orders per second (crossing pairs: rate/2 deals per second)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "throughput: how long to place orders")
	fs.DurationVar(&o.drain, "drain", 2*time.Second, "throughput: after the window, wait until no notification arrived for this long")
	fs.IntVar(&o.workers, "workers", 16, "throughput: HTTP workers placing orders")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.binArgs = strings.Fields(binArgs)
	for _, m := range strings.Split(markets, ",") {
		if m = strings.TrimSpace(m); m != "" {
			o.markets = append(o.markets, m)
		}
	}
	if o.sources == 0 {
		o.sources = (o.conns + 9999) / 10000
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	return o, nil
}

// check refuses options out of range or in conflict.
func (o *options) check() error {
	switch {
	case o.mode != "idle" && o.mode != "fanout" && o.mode != "throughput":
		return fmt.Errorf("-mode %q: want idle, fanout or throughput", o.mode)
	case o.conns < 1:
		return errors.New("-conns must be at least 1")
	case o.sources < 1 || o.sources > 254:
		return errors.New("-sources must be in 1..254")
	case o.dialers < 1:
		return errors.New("-dialers must be at least 1")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	case o.bin != "" && o.pid != 0:
		return errors.New("-bin and -pid are exclusive")
	case o.mode == "idle" && o.bin == "" && o.pid == 0:
		return errors.New("idle mode measures memory: give -pid or -bin")
	case o.limit < 1:
		return errors.New("-limit must be at least 1")
	case o.rounds < 1:
		return errors.New("-rounds must be at least 1")
	case o.user < 1 || o.user > 1<<40:
		return errors.New("-user must be in 1..2^40")
	case o.channel != "deals" && o.channel != "depth":
		return fmt.Errorf("-channel %q: want deals or depth", o.channel)
	case len(o.markets) == 0:
		return errors.New("-markets is empty")
	case o.mode == "throughput" && (o.rate <= 0 || o.duration <= 0 || o.workers < 1):
		return errors.New("throughput needs -rate, -duration and -workers > 0")
	}
	if _, err := parseFixed(o.price, 8); err != nil {
		return fmt.Errorf("-price: %w", err)
	}
	return nil
}

// sourceAddr is the loopback source address of connection i: 127.0.0.1 +
// i mod n.
func sourceAddr(i, n int) net.IP {
	return net.IPv4(127, 0, 0, byte(1+i%n))
}

func run(args []string, out io.Writer) error {
	o, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	need := uint64(o.conns) + 1024
	got, err := raiseNofile(need)
	if err != nil {
		return err
	}
	if got < uint64(o.conns)+64 {
		return fmt.Errorf("RLIMIT_NOFILE is %d and cannot be raised to the %d this run needs (the hard limit needs CAP_SYS_RESOURCE to go higher); lower -conns", got, need)
	}

	if o.bin != "" {
		srv, err := startServer(ctx, o, out)
		if err != nil {
			return err
		}
		defer srv.stop(out)
		o.pid = srv.cmd.Process.Pid
	}
	if o.pid != 0 {
		if lim, err := processNofile(o.pid); err != nil {
			return err
		} else if lim < uint64(o.conns)+64 {
			return fmt.Errorf("bourse (pid %d) may open only %d files, fewer than -conns %d: start it after `ulimit -n %d` (a -bin child inherits this tool's limit)", o.pid, lim, o.conns, need)
		}
	}
	hc := newHTTPClient(o)
	switch o.mode {
	case "idle":
		return runIdle(ctx, o, out)
	case "fanout":
		return runFanout(ctx, o, hc, out)
	default:
		return runThroughput(ctx, o, hc, out)
	}
}

// raiseNofile raises RLIMIT_NOFILE to at least want if it can (the hard
// limit too, which needs privilege) and returns the soft limit in force.
func raiseNofile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	if lim.Max < want {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}); err == nil {
			return want, nil
		}
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("setrlimit: %w", err)
	}
	return lim.Cur, nil
}

// processNofile reads the soft "Max open files" of a process.
func processNofile(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	return parseLimits(b)
}

func parseLimits(b []byte) (uint64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) < 1 {
				break
			}
			if f[0] == "unlimited" {
				return 1 << 62, nil
			}
			return strconv.ParseUint(f[0], 10, 64)
		}
	}
	return 0, errors.New("no \"Max open files\" line in limits")
}

// rssKiB returns VmRSS of a process in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusField(b, "VmRSS")
}

// statusField returns a "Name:   N kB" field of /proc/PID/status.
func statusField(b []byte, name string) (int64, error) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in status", name)
}

// cpuTime returns the user+system CPU time a process has used, from
// /proc/PID/stat (fields utime and stime, in clock ticks of 1/100 s).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed utime/stime in stat")
	}
	return time.Duration(u+s) * 10 * time.Millisecond, nil
}

// cpuMeter measures the CPU time a process (pid 0: none) uses.
type cpuMeter struct {
	pid   int
	start time.Duration
}

func startCPU(pid int) cpuMeter {
	m := cpuMeter{pid: pid}
	if pid != 0 {
		m.start, _ = cpuTime(pid)
	}
	return m
}

// since describes the CPU used since startCPU over wall time d.
func (m cpuMeter) since(d time.Duration) string {
	if m.pid == 0 {
		return "unknown (no -pid or -bin)"
	}
	now, err := cpuTime(m.pid)
	if err != nil {
		return err.Error()
	}
	used := now - m.start
	return fmt.Sprintf("%v = %.2f cores", used.Round(10*time.Millisecond), used.Seconds()/d.Seconds())
}

// server is a bourse started with -bin.
type server struct {
	cmd  *exec.Cmd
	dir  string
	done chan error
}

func startServer(ctx context.Context, o *options, out io.Writer) (*server, error) {
	dir, err := os.MkdirTemp("", "wsbench-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(dir + "/bourse.log")
	if err != nil {
		return nil, err
	}
	args := append([]string{"-data-dir", dir + "/data", "-http-addr", o.httpAddr, "-ws-addr", o.wsAddr, "-web-addr", ""}, o.binArgs...)
	cmd := exec.Command(o.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.bin, err)
	}
	s := &server{cmd: cmd, dir: dir, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); logf.Close() }()
	fmt.Fprintf(out, "started %s %s (pid %d, log %s/bourse.log)\n", o.bin, strings.Join(args, " "), cmd.Process.Pid, dir)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", o.wsAddr, time.Second)
		if err == nil {
			c.Close()
			if h, err := net.DialTimeout("tcp", o.httpAddr, time.Second); err == nil {
				h.Close()
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("bourse exited before listening (%v); see %s/bourse.log", err, dir)
		case <-ctx.Done():
			s.stop(out)
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(out)
			return nil, fmt.Errorf("bourse does not listen on %s and %s after 30 s; see %s/bourse.log", o.wsAddr, o.httpAddr, dir)
		}
	}
}

func (s *server) stop(out io.Writer) {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	os.RemoveAll(s.dir + "/data")
	fmt.Fprintf(out, "stopped bourse (log kept in %s)\n", s.dir)
}

// wsConn is one client connection; reads go through br when the dial
// returned buffered bytes.
type wsConn struct {
	net.Conn
	r io.Reader
}

func (c *wsConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// dial opens websocket connection i (source address i mod sources).
func dial(ctx context.Context, o *options, i int) (*wsConn, error) {
	d := ws.Dialer{
		Timeout: o.timeout,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Timeout: o.timeout, LocalAddr: &net.TCPAddr{IP: sourceAddr(i, o.sources)}, Control: bindNoPort}
			return nd.DialContext(ctx, network, addr)
		},
	}
	conn, br, _, err := d.Dial(ctx, "ws://"+o.wsAddr+"/")
	if err != nil {
		return nil, err
	}
	c := &wsConn{Conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	return c, nil
}

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT (not in package
// syscall).
const ipBindAddressNoPort = 24

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound to
// a source address, so the kernel picks its port at connect time from the
// whole 4-tuple: ports left in TIME_WAIT by earlier runs towards another
// address or port do not count, and bind does not search the port space.
func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// call sends a request and reads messages until the reply with its id,
// which it returns; notifications before it are dropped.
func call(c *wsConn, timeout time.Duration, id int, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{} // "params": [], not null
	}
	req, err := json.Marshal(map[string]any{"method": method, "params": params, "id": id})
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	defer c.SetDeadline(time.Time{})
	if err := wsutil.WriteClientText(c, req); err != nil {
		return nil, fmt.Errorf("%s: write: %w", method, err)
	}
	for {
		msg, _, err := wsutil.ReadServerData(c)
		if err != nil {
			return nil, fmt.Errorf("%s: read: %w", method, err)
		}
		var r struct {
			Error  *rpcError       `json:"error"`
			Result json.RawMessage `json:"result"`
			ID     *int            `json:"id"`
		}
		if err := json.Unmarshal(msg, &r); err != nil {
			return nil, fmt.Errorf("%s: bad message %.200q: %w", method, msg, err)
		}
		if r.ID == nil || *r.ID != id {
			continue
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: error %d: %s", method, r.Error.Code, r.Error.Message)
		}
		return r.Result, nil
	}
}

// connectAll opens o.conns connections with o.dialers concurrent dials and
// runs setup on each; it stops at the first error.
func connectAll(ctx context.Context, o *options, out io.Writer, setup func(i int, c *wsConn) error) ([]*wsConn, time.Duration, error) {
	conns := make([]*wsConn, o.conns)
	var next, done atomic.Int64
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fail := func(err error) { once.Do(func() { first = err; cancel() }) }
	start := time.Now()
	var wg sync.WaitGroup
	for range min(o.dialers, o.conns) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= o.conns {
					return
				}
				c, err := dial(ctx, o, i)
				if err != nil {
					fail(fmt.Errorf("connection %d (from %v): %w", i, sourceAddr(i, o.sources), err))
					return
				}
				conns[i] = c
				if err := setup(i, c); err != nil {
					fail(fmt.Errorf("connection %d: %w", i, err))
					return
				}
				done.Add(1)
			}
		}()
	}
	stopProgress := progress(out, "connected", &done, o.conns)
	wg.Wait()
	stopProgress()
	elapsed := time.Since(start)
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		closeAll(conns)
		return nil, elapsed, first
	}
	return conns, elapsed, nil
}

// progress prints n/total every 2 s until the returned func is called.
func progress(out io.Writer, what string, n *atomic.Int64, total int) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fmt.Fprintf(out, "  %s %d/%d\n", what, n.Load(), total)
			}
		}
	}()
	return func() { close(stop); <-done }
}

// closeAll closes the connections with a reset (SO_LINGER 0), so that a
// run does not leave tens of thousands of loopback ports in TIME_WAIT for
// the next one.
func closeAll(conns []*wsConn) {
	for _, c := range conns {
		if c == nil {
			continue
		}
		if tc, ok := c.Conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// table prints rows of label, value pairs.
func table(out io.Writer, title string, rows [][2]string) {
	fmt.Fprintf(out, "\n%s\n", title)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	tw.Flush()
}

func runIdle(ctx context.Context, o *options, out io.Writer) error {
	before, err := rssKiB(o.pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "idle: %d connections to ws://%s from %d source addresses, %d dialers; bourse pid %d VmRSS %d KiB\n",
		o.conns, o.wsAddr, o.sources, o.dialers, o.pid, before)
	pong, _ := json.Marshal("pong")
	conns, elapsed, err := connectAll(ctx, o, out, func(i int, c *wsConn) error {
		res, err := call(c, o.timeout, 1, "server.ping")
		if err != nil {
			return err
		}
		if !bytes.Equal(res, pong) {
			return fmt.Errorf("server.ping result %s, want \"pong\"", res)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(conns)
	select {
	case <-time.After(o.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := rssKiB(o.pid)
	if err != nil {
		return err
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", o.pid))
	hwm, _ := statusField(status, "VmHWM")
	threads, _ := statusField(status, "Threads")
	// Every connection must still be open: one more ping on a sample.
	alive := 0
	sample := min(len(conns), 100)
	for k := range sample {
		c := conns[k*len(conns)/sample]
		if _, err := call(c, o.timeout, 2, "server.ping"); err == nil {
			alive++
		}
	}
	per := float64(after-before) / float64(o.conns)
	table(out, "WebSocket idle connections", [][2]string{
		{"connections", strconv.Itoa(o.conns)},
		{"connect + ping time", fmt.Sprintf("%v (%.0f connections/s)", elapsed.Round(time.Millisecond), float64(o.conns)/elapsed.Seconds())},
		{"VmRSS before", fmt.Sprintf("%d KiB", before)},
		{fmt.Sprintf("VmRSS after (+%v)", o.settle), fmt.Sprintf("%d KiB (VmHWM %d KiB, threads %d)", after, hwm, threads)},
		{"per idle connection", fmt.Sprintf("%.2f KiB", per)},
		{"sample re-pinged", fmt.Sprintf("%d/%d answered", alive, sample)},
	})
	if o.hold > 0 {
		fmt.Fprintf(out, "holding the connections for %v\n", o.hold)
		select {
		case <-time.After(o.hold):
		case <-ctx.Done():
		}
	}
	return nil
}
