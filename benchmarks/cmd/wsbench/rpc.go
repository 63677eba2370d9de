package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
)

// rpcError is the error member of a JSON-RPC reply.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// httpClient calls the HTTP JSON-RPC edge.
type httpClient struct {
	url   string
	token string
	c     *http.Client
}

func newHTTPClient(o *options) *httpClient {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: o.timeout}).DialContext,
		MaxIdleConnsPerHost: o.workers + 4,
		DisableCompression:  true,
	}
	return &httpClient{
		url:   "http://" + o.httpAddr + "/",
		token: os.Getenv("BOURSE_HTTP_TOKEN"),
		c:     &http.Client{Transport: tr, Timeout: o.timeout},
	}
}

// call sends method(params) and decodes the result into result (unless
// nil). A reply whose error is not null is an error.
func (h *httpClient) call(ctx context.Context, method string, params []any, result any) error {
	body, err := json.Marshal(map[string]any{"method": method, "params": params, "id": 1})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", method, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var r struct {
		Error  *rpcError       `json:"error"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: bad reply %.200q: %w", method, b, err)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: error %d: %s", method, r.Error.Code, r.Error.Message)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%s result: %w", method, err)
	}
	return nil
}

// market is what the tool needs to know of a market (market.list).
type market struct {
	Name      string `json:"name"`
	Stock     string `json:"stock"`
	Money     string `json:"money"`
	StockPrec int    `json:"stock_prec"`
	MoneyPrec int    `json:"money_prec"`
	MinAmount string `json:"min_amount"`
}

// markets returns the listed markets named in names, in that order.
func (h *httpClient) markets(ctx context.Context, names []string) ([]market, error) {
	var list []market
	if err := h.call(ctx, "market.list", []any{}, &list); err != nil {
		return nil, err
	}
	out := make([]market, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(list, func(m market) bool { return m.Name == n })
		if i < 0 {
			return nil, fmt.Errorf("market %q is not listed by market.list", n)
		}
		out = append(out, list[i])
	}
	return out, nil
}

// deposit credits amount of each asset to user, with business ids unique
// per run.
func (h *httpClient) deposit(ctx context.Context, user int64, amount string, assets ...string) error {
	base := time.Now().UnixNano() / 1000
	for k, a := range assets {
		if err := h.call(ctx, "balance.update", []any{user, a, "deposit", base + int64(k), amount, map[string]any{}}, nil); err != nil {
			return fmt.Errorf("deposit %s %s to user %d: %w", amount, a, user, err)
		}
	}
	return nil
}

// putLimit places a limit order (fee rates 0) and returns its id.
func (h *httpClient) putLimit(ctx context.Context, user int64, m string, side int, amount, price string) (int64, error) {
	var r struct {
		ID int64 `json:"id"`
	}
	err := h.call(ctx, "order.put_limit", []any{user, m, side, amount, price, "0", "0", "wsbench"}, &r)
	return r.ID, err
}

// parseFixed parses a plain non-negative decimal into units of 10^-scale,
// truncating extra digits.
func parseFixed(s string, scale int) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > scale {
		frac = frac[:scale]
	}
	frac += strings.Repeat("0", scale-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v < 0 || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("not a plain non-negative decimal: %q", s)
	}
	return v, nil
}

// formatFixed formats v units of 10^-scale in plain notation with trailing
// zeros stripped, as the server prints decimals (docs/protocol.md D2).
func formatFixed(v int64, scale int) string {
	s := strconv.FormatInt(v, 10)
	if scale == 0 {
		return s
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// percentile returns the nearest-rank q-quantile (0 < q ≤ 1) of sorted:
// the smallest value v such that at least q·n values are ≤ v. It is 0 for
// an empty slice.
func percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(n) - 1e-9)) // ⌈q·n⌉, forgiving float error in q·n
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// fanoutStat is the server's bourse_ws_fanout_seconds histogram: how long
// it took to hand pushes to all their subscribers.
type fanoutStat struct {
	sum   float64
	count uint64
}

// fanout reads bourse_ws_fanout_seconds from the server's /metrics.
func (h *httpClient) fanout(ctx context.Context) (fanoutStat, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"metrics", nil)
	if err != nil {
		return fanoutStat{}, err
	}
	resp, err := h.c.Do(req)
	if err != nil {
		return fanoutStat{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fanoutStat{}, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	var p expfmt.TextParser
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return fanoutStat{}, err
	}
	mf := mfs["bourse_ws_fanout_seconds"]
	if mf == nil || len(mf.GetMetric()) == 0 || mf.GetMetric()[0].GetHistogram() == nil {
		return fanoutStat{}, errors.New("no bourse_ws_fanout_seconds in /metrics")
	}
	hg := mf.GetMetric()[0].GetHistogram()
	return fanoutStat{sum: hg.GetSampleSum(), count: hg.GetSampleCount()}, nil
}
