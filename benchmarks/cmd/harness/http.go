package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bourse-exchange/bourse/benchmarks/internal/hist"
	"github.com/bourse-exchange/bourse/benchmarks/internal/workload"
	"github.com/bourse-exchange/bourse/internal/config"
)

// httpTarget is a server process loaded over keep-alive HTTP connections
// with JSON-RPC: bourse, or the bare net/http baseline (which answers every
// request with a fixed success body: the same client work against the
// loopback ceiling).
type httpTarget struct {
	cfg      *config.Config
	url      string
	proc     *exec.Cmd
	exited   chan error
	client   *http.Client
	conns    int
	baseline bool
	ids      []atomic.Uint64
}

// freeAddr returns a loopback address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startHTTP(ctx context.Context, o *options, cfg *config.Config, bin string, cfgDoc []byte, tmp string, baseline bool) (*httpTarget, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	var args []string
	name := "baseline"
	if baseline {
		args = []string{"-addr", addr}
	} else {
		name = "bourse"
		dir, err := os.MkdirTemp(tmp, "data-http-")
		if err != nil {
			return nil, err
		}
		cfgPath := filepath.Join(tmp, "harness.yaml")
		if err := os.WriteFile(cfgPath, cfgDoc, 0o644); err != nil {
			return nil, err
		}
		args = []string{"-config", cfgPath, "-data-dir", dir, "-http-addr", addr, "-ws-addr", "", "-web-addr", "",
			"-durability", o.httpDur, "-log-level", "warn"}
	}
	logf, err := os.Create(filepath.Join(tmp, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	t := &httpTarget{cfg: cfg, url: "http://" + addr + "/", proc: cmd, exited: make(chan error, 1),
		conns: o.conns, baseline: baseline}
	go func() { t.exited <- cmd.Wait(); logf.Close() }()
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        o.conns + 8,
		MaxIdleConnsPerHost: o.conns + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	t.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	// Wait until it answers.
	deadline := time.Now().Add(60 * time.Second)
	var buf bytes.Buffer
	for {
		_, err := t.post(ctx, []byte(`{"method":"market.list","params":[],"id":1}`), &buf)
		if err == nil {
			break
		}
		select {
		case e := <-t.exited:
			b, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("%s exited: %v\n%s", name, e, b)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.close()
			return nil, fmt.Errorf("%s at %s not answering: %v", name, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return t, nil
}

func (t *httpTarget) pid() int { return t.proc.Process.Pid }

func (t *httpTarget) close() error {
	t.client.CloseIdleConnections()
	if t.proc.ProcessState != nil {
		return nil
	}
	_ = t.proc.Process.Signal(os.Interrupt)
	select {
	case <-t.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = t.proc.Process.Kill()
		<-t.exited
		return errors.New("did not stop within 30s of SIGINT: killed")
	}
}

type callError struct{ kind, msg string }

func (e *callError) Error() string { return e.kind + ": " + e.msg }

var okPrefix = []byte(`{"error":null,`)

// post sends body and returns the reply body (in buf); a transport failure,
// a non-200 status or a non-null error member is a *callError.
func (t *httpTarget) post(ctx context.Context, body []byte, buf *bytes.Buffer) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{"transport", err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, &callError{"transport", err.Error()}
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, &callError{"transport", err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &callError{"http " + strconv.Itoa(resp.StatusCode), buf.String()}
	}
	out := buf.Bytes()
	if bytes.HasPrefix(out, okPrefix) {
		return out, nil
	}
	var r struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, &callError{"bad reply", err.Error()}
	}
	if r.Error != nil {
		return nil, &callError{r.Error.Message, "code " + strconv.Itoa(r.Error.Code)}
	}
	return out, nil
}

// orderID reads result.id of an order reply: {"error":null,"result":{"id":N,…
func orderID(out []byte) uint64 {
	const p = `{"error":null,"result":{"id":`
	if !bytes.HasPrefix(out, []byte(p)) {
		return 0
	}
	out = out[len(p):]
	var id uint64
	for _, c := range out {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// appendFixed appends v units of 10^-scale as a plain decimal.
func appendFixed(b []byte, v int64, scale int) []byte {
	s := strconv.FormatInt(v, 10)
	for len(s) <= scale {
		s = "0" + s
	}
	b = append(b, s[:len(s)-scale]...)
	if scale > 0 {
		b = append(b, '.')
		b = append(b, s[len(s)-scale:]...)
	}
	return b
}

// body appends the JSON-RPC request of c (id is the order to cancel).
func (t *httpTarget) body(b []byte, c *workload.Cmd, id uint64, seq int) []byte {
	m := t.cfg.Markets[c.Market]
	switch c.Kind {
	case workload.Cancel:
		b = append(b, `{"method":"order.cancel","params":[`...)
		b = strconv.AppendUint(b, uint64(c.User), 10)
		b = append(b, ',')
		b = strconv.AppendQuote(b, m.Name)
		b = append(b, ',')
		b = strconv.AppendUint(b, id, 10)
	case workload.Market:
		b = append(b, `{"method":"order.put_market","params":[`...)
		b = strconv.AppendUint(b, uint64(c.User), 10)
		b = append(b, ',')
		b = strconv.AppendQuote(b, m.Name)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.Side), 10)
		b = append(b, `,"`...)
		b = appendFixed(b, c.Amount, m.StockPrec) // a bid's money amount too (docs/protocol.md "order.put_market")
		b = append(b, `","0.002","harness"`...)
	default:
		b = append(b, `{"method":"order.put_limit","params":[`...)
		b = strconv.AppendUint(b, uint64(c.User), 10)
		b = append(b, ',')
		b = strconv.AppendQuote(b, m.Name)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(c.Side), 10)
		b = append(b, `,"`...)
		b = appendFixed(b, c.Amount, m.StockPrec)
		b = append(b, `","`...)
		b = appendFixed(b, c.Price, m.MoneyPrec)
		b = append(b, `","0.002","0.001","harness"`...)
	}
	b = append(b, `],"id":`...)
	b = strconv.AppendInt(b, int64(seq), 10)
	return append(b, '}')
}

func (t *httpTarget) setup(ctx context.Context, prefill []workload.Cmd) error {
	if t.baseline {
		return nil
	}
	// Deposits: balance.update for every user and asset, from the workers.
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, t.conns)
	for range t.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for {
				u := next.Add(1)
				if u > int64(harnessUsers) {
					return
				}
				for _, a := range t.cfg.Assets {
					body := fmt.Sprintf(`{"method":"balance.update","params":[%d,%q,"deposit",%d,"1000000000",{}],"id":1}`, u, a.Name, u)
					if _, err := t.post(ctx, []byte(body), &buf); err != nil {
						errc <- fmt.Errorf("deposit user %d %s: %w", u, a.Name, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	res, err := t.step(ctx, prefill, 0, 0, nil, &progress{})
	if err != nil {
		return err
	}
	if len(res.errs) > 0 || res.unmatched > 0 {
		return fmt.Errorf("prefill: errors %v, %d replies without an order id", res.errs, res.unmatched)
	}
	return nil
}

// step: t.conns workers take commands in order from a shared counter; each
// sleeps until its command is due (rate 0: no pacing, no timing), sends it
// and records due → reply.
func (t *httpTarget) step(ctx context.Context, cmds []workload.Cmd, first int, rate float64, pace pacer, p *progress) (*result, error) {
	if need := first + len(cmds); need > len(t.ids) {
		ids := make([]atomic.Uint64, max(need, 2*len(t.ids)))
		for i := range t.ids {
			ids[i].Store(t.ids[i].Load())
		}
		t.ids = ids
	}
	s := &httpStep{t: t, cmds: cmds, first: first, rate: rate, pace: pace, p: p, t0: time.Now()}
	var wg sync.WaitGroup
	tl := make([]*httpTally, t.conns)
	for w := range t.conns {
		tl[w] = &httpTally{hist: hist.New(), lag: hist.New(), errs: map[string]int64{}}
		wg.Add(1)
		go func(r *httpTally) {
			defer wg.Done()
			s.send(ctx, r)
		}(tl[w])
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := &result{n: len(cmds), hist: hist.New(), lag: hist.New(), errs: map[string]int64{}}
	for _, r := range tl {
		res.hist.Merge(r.hist)
		res.lag.Merge(r.lag)
		for k, v := range r.errs {
			res.errs[k] += v
		}
		res.unresolved += r.unresolved
		res.unmatched += r.unmatched
		res.elapsed = max(res.elapsed, r.last)
	}
	select {
	case err := <-t.exited:
		return nil, fmt.Errorf("server exited: %v", err)
	default:
	}
	return res, nil
}

// httpStep is one step's commands, shared by its connections: each takes
// the next command by ticket.
type httpStep struct {
	t      *httpTarget
	cmds   []workload.Cmd
	first  int // the global index of cmds[0]
	rate   float64
	pace   pacer
	p      *progress
	t0     time.Time
	ticket atomic.Int64
}

// httpTally is what one connection measured in a step.
type httpTally struct {
	hist, lag             *hist.Histogram
	errs                  map[string]int64
	unresolved, unmatched int64
	last                  time.Duration
}

// send is one connection's loop: it sends commands, each at its due time
// when paced, until none is left or ctx ends, and tallies the replies in r.
func (s *httpStep) send(ctx context.Context, r *httpTally) {
	t := s.t
	var body []byte
	var buf bytes.Buffer
	for ctx.Err() == nil {
		i := int(s.ticket.Add(1) - 1)
		if i >= len(s.cmds) {
			return
		}
		var due time.Duration
		if s.rate > 0 {
			due = dueAt(i, s.rate)
			r.lag.Record(int64(s.pace(s.t0, due) - due))
		}
		c := &s.cmds[i]
		var id uint64
		if c.Kind == workload.Cancel {
			if id = t.ids[c.Ref].Load(); id == 0 {
				id = c.SimID
				if !t.baseline {
					r.unresolved++
				}
			}
		}
		s.p.sent.Add(1)
		body = t.body(body[:0], c, id, s.first+i)
		out, err := t.post(ctx, body, &buf)
		now := time.Since(s.t0)
		r.last = max(r.last, now)
		s.p.done.Add(1)
		if err != nil {
			var ce *callError
			if errors.As(err, &ce) {
				r.errs[ce.kind]++
			} else {
				r.errs[err.Error()]++
			}
			continue
		}
		if s.rate > 0 {
			r.hist.Record(int64(now - due))
		}
		if c.Placement() && !t.baseline {
			if oid := orderID(out); oid != 0 {
				t.ids[s.first+i].Store(oid)
			} else {
				r.unmatched++
			}
		}
	}
}
