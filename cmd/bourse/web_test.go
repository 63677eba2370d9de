package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bourse-exchange/bourse/internal/config"
	"github.com/chromedp/chromedp"
	"github.com/shopspring/decimal"
)

// webMarket is one market of market.list, as the test needs it.
type webMarket struct {
	Name      string `json:"name"`
	Stock     string `json:"stock"`
	Money     string `json:"money"`
	StockPrec int    `json:"stock_prec"`
	MoneyPrec int    `json:"money_prec"`
	MinAmount string `json:"min_amount"`
}

// price shows p as the page does: money_prec decimals.
func (m webMarket) price(p string) string {
	return decimal.RequireFromString(p).StringFixed(int32(m.MoneyPrec))
}

// rows gives the cells of every row of a table body, tab-separated.
func (b *browser) rows(t *testing.T, tbody string) []string {
	t.Helper()
	var rows []string
	b.eval(t, `[...document.querySelectorAll(`+jsString(tbody+" tr")+`)].map(r => [...r.cells].map(c => c.innerText).join('\t'))`, &rows)
	return rows
}

// rowsExpr is a JavaScript expression: the rows of tbody, as rows gives them.
func rowsExpr(tbody string) string {
	return `[...document.querySelectorAll(` + jsString(tbody+" tr") + `)].map(r => [...r.cells].map(c => c.innerText).join('\t'))`
}

// TestWebConsole drives the trader and operator pages in headless Chromium
// against a node started with -dev-auth: it logs in as dev:1, places a
// resting order through the form and sees it on the ladder and in its open
// orders, sees user 2's crossing order (over HTTP) turn into a trade, a
// candle, a finished order and exact balances (the configured maker fee
// taken), amends and cancels a second order with the row's buttons, has an
// order below min_amount refused by the form and, bypassing it, by the
// server (its message shown), and reads the operator page's figures. No JavaScript
// console error is allowed. With -screenshots it writes docs/web-trader.png
// and docs/web-ops.png.
func TestWebConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary and a browser")
	}
	b := newBrowser(t)
	const token = "operator-secret"
	// BTCUSDT with fee rates, which websocket orders take from the
	// configuration.
	cfgFile := filepath.Join(t.TempDir(), "bourse.yaml")
	text := string(config.Default)
	line := `min_amount: "0.0001" }`
	if !strings.Contains(text, "name: BTCUSDT") || !strings.Contains(text, line) {
		t.Fatal("the default configuration's BTCUSDT line changed: update this test")
	}
	text = strings.Replace(text, line, `min_amount: "0.0001", maker_fee: "`+webMakerFee+`", taker_fee: "0.002" }`, 1)
	if err := os.WriteFile(cfgFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startBinary(t, "-dev-auth", "-http-token", token, "-config", cfgFile)
	web := s.webURL(t)
	var markets []webMarket
	mustRPC(t, s.url, token, &markets, "market.list")
	m := markets[0]
	mustRPC(t, s.url, token, nil, "balance.update", 1, m.Money, "deposit", 1, "10000", map[string]any{})
	mustRPC(t, s.url, token, nil, "balance.update", 2, m.Stock, "deposit", 1, "10", map[string]any{})

	b.do(t, chromedp.Navigate(web+"/?market="+m.Name))
	b.waitFor(t, "the market selector", fmt.Sprintf(`document.querySelector('#market').options.length === %d && document.querySelector('#market').value === %s`, len(markets), jsString(m.Name)), 15*time.Second)
	b.waitFor(t, "the connection", `document.querySelector('#conn').innerText === 'connected'`, 10*time.Second)

	// Log in as user 1: its balances appear.
	b.do(t, chromedp.SetValue("#token", "dev:1"), chromedp.Click("#login-btn"))
	b.waitFor(t, "user 1's balances", fmt.Sprintf(`%s.includes(%s)`, rowsExpr("#balances"), jsString(m.Money+"\t10000\t0")), 10*time.Second)

	id := placeViaForm(t, b, "buy", "limit", "100", "1", "GTC")

	// The resting bid is on the ladder, in the open orders, and frozen.
	bid := m.price("100") + "\t1"
	b.waitFor(t, "the bid on the ladder", fmt.Sprintf(`%s[0] === %s`, rowsExpr("#bids"), jsString(bid)), 10*time.Second)
	b.waitFor(t, "the open order", fmt.Sprintf(`!!document.querySelector('#open tr[data-id="%d"]')`, id), 10*time.Second)
	b.waitFor(t, "the frozen money", fmt.Sprintf(`%s.includes(%s)`, rowsExpr("#balances"), jsString(m.Money+"\t9900\t100")), 10*time.Second)

	// User 2 sells 1.5 at 100 over HTTP: 1 trades with user 1's bid, 0.5 rests.
	mustRPC(t, s.url, token, nil, "order.put_limit", 2, m.Name, 1, "1.5", "100", "0.002", "0.001", "http")
	ask := m.price("100") + "\t0.5"
	b.waitFor(t, "the ladder after the trade", fmt.Sprintf(`%s.length === 0 && %s[0] === %s`, rowsExpr("#bids"), rowsExpr("#asks"), jsString(ask)), 10*time.Second)
	b.waitFor(t, "the trade in recent trades", fmt.Sprintf(`(%s[0] || '').endsWith(%s)`, rowsExpr("#trades"), jsString("\t"+m.price("100")+"\t1")), 10*time.Second)
	b.waitFor(t, "the candle", `/O 100 .*C 100 .*V 1$/.test(document.querySelector('#candle').innerText)`, 10*time.Second)
	b.waitFor(t, "the order finished", fmt.Sprintf(`!document.querySelector('#open tr[data-id="%d"]') && !!document.querySelector('#finished tr[data-id="%d"]')`, id, id), 10*time.Second)

	// Balances: exactly what the trade made, as the node's own ledger says.
	var fin struct {
		DealFee  string `json:"deal_fee"`
		MakerFee string `json:"maker_fee"`
	}
	mustRPC(t, s.url, token, &fin, "order.finished_detail", id)
	fee := decimal.RequireFromString(fin.DealFee)
	if !fee.Equal(decimal.RequireFromString(fin.MakerFee)) { // 1 BTC bought as maker
		t.Errorf("deal fee %s; want 1 × maker fee %s", fin.DealFee, fin.MakerFee)
	}
	wantStock := decimal.NewFromInt(1).Sub(fee).String()
	b.waitFor(t, "the balances after the trade", fmt.Sprintf(`(r => r.includes(%s) && r.includes(%s))(%s)`,
		jsString(m.Money+"\t9900\t0"), jsString(m.Stock+"\t"+wantStock+"\t0"), rowsExpr("#balances")), 10*time.Second)
	deposits := map[string]decimal.Decimal{m.Money: decimal.NewFromInt(10000), m.Stock: decimal.NewFromInt(10)}
	checkWebConservation(t, s, token, deposits)
	if *screenshots {
		decorate(t, b, s, token, m, deposits)
	}
	b.screenshot(t, "web-trader.png")

	amendAndCancel(t, b, s, token, m)
	refusedOrder(t, b, s, token, m)
	checkWebConservation(t, s, token, deposits)
	opsPage(t, b, web, s, token, m)
	b.noConsoleErrors(t)
}

// webMakerFee is BTCUSDT's maker fee rate in TestWebConsole's configuration.
const webMakerFee = "0.001"

var placedRe = regexp.MustCompile(`^order (\d+) placed`)

// placeViaForm fills the order form and submits it, and returns the id of
// the order the page says it placed.
func placeViaForm(t *testing.T, b *browser, side, typ, price, amount, tif string) uint64 {
	t.Helper()
	b.eval(t, `(document.querySelector('#form-msg').textContent = '', true)`, new(bool))
	b.do(t, chromedp.Click("#"+side), chromedp.SetValue("#otype", typ), chromedp.SetValue("#price", price),
		chromedp.SetValue("#amount", amount), chromedp.SetValue("#tif", tif), chromedp.Click("#submit"))
	b.waitFor(t, "the order placed", `document.querySelector('#form-msg').innerText !== ''`, 10*time.Second)
	got := b.text(t, "#form-msg")
	mm := placedRe.FindStringSubmatch(got)
	if mm == nil {
		t.Fatalf("order form (%s %s %s at %s, %s): %q", side, typ, amount, price, tif, got)
	}
	id, _ := strconv.ParseUint(mm[1], 10, 64)
	return id
}

// amendAndCancel places a second bid through the form, lowers it with the
// row's Amend and cancels it with its Cancel: the row shows the new amount,
// then moves to the finished orders, and the money comes back.
func amendAndCancel(t *testing.T, b *browser, s *server, token string, m webMarket) {
	t.Helper()
	id := placeViaForm(t, b, "buy", "limit", "90", "0.5", "post")
	row := fmt.Sprintf(`#open tr[data-id="%d"]`, id)
	b.waitFor(t, "the second order", fmt.Sprintf(`!!document.querySelector('%s')`, row), 10*time.Second)
	b.do(t, chromedp.SetValue(row+" .amend-to", "0.3"), chromedp.Click(row+" button:nth-of-type(1)"))
	b.waitFor(t, "the amended order", fmt.Sprintf(`(r => r && r.cells[4].innerText === '0.3' && r.cells[5].innerText === '0.3')(document.querySelector('%s'))`, row), 10*time.Second)
	b.waitFor(t, "the money the amend released", fmt.Sprintf(`%s.includes(%s)`, rowsExpr("#balances"), jsString(m.Money+"\t9873\t27")), 10*time.Second)
	b.do(t, chromedp.Click(row+" button:nth-of-type(2)"))
	b.waitFor(t, "the cancelled order finished", fmt.Sprintf(`!document.querySelector('%s') && !!document.querySelector('#finished tr[data-id="%d"]')`, row, id), 10*time.Second)
	b.waitFor(t, "the money back", fmt.Sprintf(`%s.includes(%s)`, rowsExpr("#balances"), jsString(m.Money+"\t9900\t0")), 10*time.Second)
}

// refusedOrder: an amount below min_amount is refused by the form before
// sending; with the form's checks bypassed the server refuses it, and the
// page shows the server's message, the one HTTP answers to the same order.
func refusedOrder(t *testing.T, b *browser, s *server, token string, m webMarket) {
	t.Helper()
	small := decimal.RequireFromString(m.MinAmount).Div(decimal.NewFromInt(2)).String()
	_, httpErr := rpcAs(t, s.url, token, "order.put_limit", 1, m.Name, 2, small, "100", "0", "0", "http")
	if httpErr == nil {
		t.Fatalf("HTTP took an order of %s below min_amount %s", small, m.MinAmount)
	}
	var before struct{ Total int }
	mustRPC(t, s.url, token, &before, "order.pending", 1, m.Name, 0, 10)

	b.do(t, chromedp.Click("#buy"), chromedp.SetValue("#otype", "limit"), chromedp.SetValue("#price", "100"),
		chromedp.SetValue("#amount", small), chromedp.SetValue("#tif", "GTC"), chromedp.Click("#submit"))
	want := "amount is below the minimum " + m.MinAmount
	b.waitFor(t, "the form's own check", fmt.Sprintf(`document.querySelector('#form-msg').innerText === %s`, jsString(want)), 10*time.Second)

	b.eval(t, `(window.bourse.skipChecks = true, document.querySelector('#form-msg').textContent = '', true)`, new(bool))
	b.do(t, chromedp.Click("#submit"))
	b.waitFor(t, "the server's message", fmt.Sprintf(`document.querySelector('#form-msg').innerText === %s && document.querySelector('#form-msg').classList.contains('err')`, jsString(httpErr.Message)), 10*time.Second)
	b.eval(t, `(window.bourse.skipChecks = false, true)`, new(bool))
	var after struct{ Total int }
	mustRPC(t, s.url, token, &after, "order.pending", 1, m.Name, 0, 10)
	if after.Total != before.Total {
		t.Errorf("user 1's open orders %d → %d after refused orders", before.Total, after.Total)
	}
}

// decorate gives the screenshot a fuller book and a few trades, from
// users 3 and 4 (after the checks of users 1 and 2).
func decorate(t *testing.T, b *browser, s *server, token string, m webMarket, deposits map[string]decimal.Decimal) {
	t.Helper()
	deposits[m.Money] = deposits[m.Money].Add(decimal.NewFromInt(1000000))
	deposits[m.Stock] = deposits[m.Stock].Add(decimal.NewFromInt(1000))
	mustRPC(t, s.url, token, nil, "balance.update", 3, m.Money, "deposit", 1, "1000000", map[string]any{})
	mustRPC(t, s.url, token, nil, "balance.update", 4, m.Stock, "deposit", 1, "1000", map[string]any{})
	for i := 1; i <= 12; i++ {
		amount := fmt.Sprintf("%d.%d", 1+i%4, i%10)
		mustRPC(t, s.url, token, nil, "order.put_limit", 3, m.Name, 2, amount, fmt.Sprint(100-i), "0.002", "0.001", "http")
		mustRPC(t, s.url, token, nil, "order.put_limit", 4, m.Name, 1, amount, fmt.Sprint(100+i), "0.002", "0.001", "http")
	}
	for i := 1; i <= 4; i++ {
		mustRPC(t, s.url, token, nil, "order.put_limit", 3, m.Name, 2, "0.3", fmt.Sprint(100+i), "0.002", "0.001", "http")
		mustRPC(t, s.url, token, nil, "order.put_limit", 4, m.Name, 1, "0.2", fmt.Sprint(100-i), "0.002", "0.001", "http")
	}
	b.waitFor(t, "the fuller book", `document.querySelectorAll('#bids tr').length >= 10 && document.querySelectorAll('#trades tr').length >= 8`, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // the last pushes drawn
}

// checkWebConservation checks that users 0 (fees) to 4, the only ones the
// test funds, hold exactly the deposits, available plus frozen.
func checkWebConservation(t *testing.T, s *server, token string, deposits map[string]decimal.Decimal) {
	t.Helper()
	sum := map[string]decimal.Decimal{}
	for u := 0; u <= 4; u++ {
		var bal map[string]struct{ Available, Freeze string }
		mustRPC(t, s.url, token, &bal, "balance.query", u)
		for a, v := range bal {
			sum[a] = sum[a].Add(decimal.RequireFromString(v.Available)).Add(decimal.RequireFromString(v.Freeze))
		}
	}
	for a, d := range deposits {
		if !sum[a].Equal(d) {
			t.Errorf("%s: users hold %s; deposits %s", a, sum[a], d)
		}
	}
}

// opsPage opens /ops with the operator token and checks its figures
// against the node's own.
func opsPage(t *testing.T, b *browser, web string, s *server, token string, m webMarket) {
	t.Helper()
	b.do(t, chromedp.Navigate(web+"/ops"), chromedp.SetValue("#token", token), chromedp.Click("#login button"))
	b.waitFor(t, "the operator figures", fmt.Sprintf(`!!document.querySelector('.card[data-key="trades-%s"]') && !!document.querySelector('.card[data-key="lag-history"]') && /refreshed/.test(document.querySelector('#bar').innerText)`, m.Name), 15*time.Second)
	var state struct{ LSN uint64 }
	mustRPC(t, s.url, token, &state, "server.state")
	var shown string
	b.eval(t, `document.querySelector('.card[data-key="lsn"] .value').innerText`, &shown)
	if shown != fmt.Sprint(state.LSN) {
		t.Errorf("ops page: last LSN %s; server.state %d", shown, state.LSN)
	}
	if st := b.text(t, "#status"); !strings.Contains(st, "node ok") || !strings.Contains(st, fmt.Sprintf("lsn %d", state.LSN)) {
		t.Errorf("ops status line %q; want node ok and lsn %d", st, state.LSN)
	}
	b.waitFor(t, "three refreshes", `window.bourseOps.ticks >= 3`, 10*time.Second)
	if *screenshots { // some traffic for the sparklines
		for i := 0; i < 40; i++ {
			mustRPC(t, s.url, token, nil, "order.put_limit", 3, m.Name, 2, "0.1", "101", "0.002", "0.001", "http")
			mustRPC(t, s.url, token, nil, "order.put_limit", 4, m.Name, 1, "0.1", "101", "0.002", "0.001", "http")
			time.Sleep(100 * time.Millisecond)
		}
	}
	b.screenshot(t, "web-ops.png")
}
