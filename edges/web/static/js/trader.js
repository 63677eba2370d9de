// The trader page: market data, login, order entry, the user's orders and
// balances, all over the public websocket API (api.js).
import { Api, wsURL } from './api.js';
import { Book } from './book.js';
import { drawCandles, drawDepth } from './charts.js';
import { checkDec, fixed, trim } from './dec.js';
import { orderCall, renderOrders, renderBalances } from './account.js';

const $ = (id) => document.getElementById(id);
const LADDER = 12, DEPTH_LIMIT = 20, KEEP_CANDLES = 500, KEEP_TRADES = 50, KEEP_LATENCY = 4096;

const S = {
  markets: [], market: null, interval: 60, candles: [], book: new Book(DEPTH_LIMIT), trades: [],
  token: '', authed: false, open: new Map(), finished: [], balances: {},
};
// perf: the page's own timing of depth updates, from receipt to drawn
// (performance.now(), milliseconds); the browser test reads it.
const perf = { depth: [], drawn: 0, waiting: [] };
const bourse = { S, perf, skipChecks: false, api: null };
window.bourse = bourse;

let api;

async function main() {
  const cfg = await (await fetch('/config.json')).json();
  $('token').placeholder = cfg.dev_auth ? 'dev:<user id>' : 'token';
  if (!cfg.ws_port) {
    $('conn').textContent = 'websocket API off';
    return;
  }
  api = new Api(wsURL(cfg.ws_port));
  bourse.api = api;
  api.onstate = (s) => {
    $('conn').textContent = s;
    $('conn').classList.toggle('ok', s === 'connected');
  };
  api.onopen = () => start().catch(showError);
  listen();
  wire();
  api.connect();
}

function showError(e) {
  msg(e && e.message ? e.message : String(e), true);
}

function msg(text, bad) {
  const m = $('form-msg');
  m.textContent = text;
  m.className = 'msg ' + (bad ? 'err' : 'ok');
}

// start runs on every (re)connection: the market list once, then the
// market's channels and, when logged in, the account's.
async function start() {
  // The markets, again at each connection: one may have been listed since.
  const markets = await api.call('market.list');
  const sel = $('market');
  if (markets.map((m) => m.name).join() !== S.markets.map((m) => m.name).join()) {
    const was = sel.value || new URLSearchParams(location.search).get('market');
    sel.replaceChildren(...markets.map((m) => new Option(`${m.stock}/${m.money}`, m.name)));
    sel.value = markets.some((m) => m.name === was) ? was : markets[0].name;
  }
  S.markets = markets;
  await selectMarket($('market').value);
  if (S.token) await login(S.token);
}

async function selectMarket(name) {
  S.market = S.markets.find((m) => m.name === name);
  S.book = new Book(DEPTH_LIMIT);
  S.trades = [];
  S.open.clear();
  S.finished = [];
  $('amount-unit').textContent = S.market.stock;
  formType();
  const m = S.market.name;
  const [last, state] = await Promise.all([api.call('price.query', [m]), api.call('state.query', [m, 86400])]);
  showLast(last);
  showState(state);
  await Promise.all([
    api.call('depth.subscribe', [m, DEPTH_LIMIT, '0']),
    api.call('price.subscribe', [m]),
    api.call('state.subscribe', [m]),
    api.call('deals.subscribe', [m]),
    loadCandles(),
  ]);
  if (S.authed) await loadAccount();
  drawAll();
}

async function loadCandles() {
  const m = S.market.name, iv = S.interval, now = Math.floor(Date.now() / 1000);
  const rows = await api.call('kline.query', [m, Math.max(1, now - iv * 200), now, iv]);
  S.candles = rows.map(candle);
  await api.call('kline.subscribe', [m, iv]);
  drawCandlesNow();
}

// candle turns [time, open, close, high, low, volume, deal, market] into
// floats for the chart, keeping the strings for the caption.
function candle(r) {
  return { t: r[0], o: +r[1], c: +r[2], h: +r[3], l: +r[4], v: +r[5], raw: r };
}

function listen() {
  api.on('depth.update', ([clean, diff, market]) => {
    if (!S.market || market !== S.market.name) return;
    S.book.apply(clean, diff);
    perf.waiting.push(performance.now());
    scheduleBook();
  });
  api.on('price.update', ([market, price]) => market === S.market?.name && showLast(price));
  api.on('state.update', ([market, st]) => market === S.market?.name && showState(st));
  api.on('deals.update', ([market, deals]) => {
    if (market !== S.market?.name) return;
    const seen = new Set(S.trades.map((d) => d.id));
    S.trades = [...deals.filter((d) => !seen.has(d.id)), ...S.trades].sort((a, b) => b.id - a.id).slice(0, KEEP_TRADES);
    renderTrades();
  });
  api.on('kline.update', (rows) => {
    for (const r of rows) {
      if (r[7] !== S.market?.name) continue;
      const k = candle(r), last = S.candles[S.candles.length - 1];
      if (last && last.t === k.t) S.candles[S.candles.length - 1] = k;
      else if (!last || k.t > last.t) S.candles.push(k);
    }
    if (S.candles.length > KEEP_CANDLES) S.candles.splice(0, S.candles.length - KEEP_CANDLES);
    drawCandlesNow();
  });
  api.on('order.update', ([event, o]) => {
    if (o.market !== S.market?.name) return;
    if (event === 3) {
      S.open.delete(o.id);
      if (!S.finished.some((f) => f.id === o.id)) S.finished.unshift(o);
      S.finished = S.finished.slice(0, 50);
    } else {
      S.open.set(o.id, o);
    }
    renderAccount();
  });
  api.on('asset.update', ([assets]) => {
    Object.assign(S.balances, assets);
    renderAccount();
  });
}

// scheduleBook draws the ladder and depth chart once for a burst of depth
// updates: in a task of its own, right after the messages already queued,
// so a burst costs one drawing. perf records, per update, the time from its
// arrival to the end of that drawing (the browser composites it at its next
// frame).
let bookQueued = false;
function scheduleBook() {
  if (bookQueued) return;
  bookQueued = true;
  setTimeout(() => {
    bookQueued = false;
    renderBook();
    const now = performance.now();
    for (const t of perf.waiting) perf.depth.push(now - t);
    perf.drawn += perf.waiting.length;
    perf.waiting.length = 0;
    if (perf.depth.length > KEEP_LATENCY) perf.depth.splice(0, perf.depth.length - KEEP_LATENCY);
  }, 0);
}

function showLast(p) {
  $('last').textContent = p && p !== '0' ? fixed(p, S.market.money_prec) : '–';
}

function showState(st) {
  if (!st) return;
  const mp = S.market.money_prec;
  const ch = Number(st.open) > 0 ? ((Number(st.last) - Number(st.open)) / Number(st.open) * 100).toFixed(2) + '%' : '–';
  $('today').textContent = `24h  change ${ch}  high ${fixed(st.high, mp)}  low ${fixed(st.low, mp)}  volume ${trim(st.volume)} ${S.market.stock}`;
}

function row(cells, cls) {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (cls && cls[i]) td.className = cls[i];
    tr.append(td);
  });
  return tr;
}

function renderBook() {
  const mp = S.market.money_prec;
  const asks = S.book.asks.slice(0, LADDER).reverse();
  $('asks').replaceChildren(...asks.map(([p, a]) => row([fixed(p, mp), trim(a)])));
  $('bids').replaceChildren(...S.book.bids.slice(0, LADDER).map(([p, a]) => row([fixed(p, mp), trim(a)])));
  const ba = S.book.asks[0], bb = S.book.bids[0];
  $('mid').textContent = ba && bb ? `spread ${(Number(ba[0]) - Number(bb[0])).toFixed(mp)}` : '–';
  drawDepth($('depth'), S.book.bids, S.book.asks);
}

function renderTrades() {
  const mp = S.market.money_prec;
  $('trades').replaceChildren(...S.trades.slice(0, 30).map((d) =>
    row([new Date(d.time * 1000).toISOString().slice(11, 19), fixed(d.price, mp), trim(d.amount)], [null, d.type, null])));
}

function drawCandlesNow() {
  drawCandles($('kline'), S.candles, S.interval);
  const k = S.candles[S.candles.length - 1];
  $('candle').textContent = k
    ? `${new Date(k.t * 1000).toISOString().slice(0, 16).replace('T', ' ')}  O ${k.raw[1]}  H ${k.raw[3]}  L ${k.raw[4]}  C ${k.raw[2]}  V ${k.raw[5]}`
    : '';
}

function renderAccount() {
  renderOrders($('open'), $('finished'), S, cancel, amend);
  renderBalances($('balances'), S.balances);
}

function drawAll() {
  renderBook();
  renderTrades();
  drawCandlesNow();
  renderAccount();
}

async function login(token) {
  await api.call('server.auth', [token, 'web']);
  S.token = token;
  S.authed = true;
  $('login').hidden = true;
  $('user').hidden = false;
  $('user').textContent = token.startsWith('dev:') ? 'user ' + token.slice(4) : 'logged in';
  await loadAccount();
}

async function loadAccount() {
  const m = S.market.name;
  const [bal, open, fin] = await Promise.all([
    api.call('asset.query', []),
    api.call('order.query', [m, 0, 100]),
    api.call('order.history', [m, 0, 0, 0, 50, 0]),
  ]);
  S.balances = bal;
  S.open = new Map(open.records.map((o) => [o.id, o]));
  S.finished = fin.records;
  await Promise.all([api.call('asset.subscribe', Object.keys(bal)), api.call('order.subscribe', [m])]);
  renderAccount();
}

async function cancel(o) {
  try {
    await api.call('order.cancel', [o.market, o.id]);
    msg(`order ${o.id} cancelled`);
  } catch (e) {
    showError(e);
  }
}

// amend lowers the order's amount (order.amend keeps its place in the queue).
async function amend(o, amount) {
  const bad = checkDec('new amount', amount, S.market.stock_prec);
  if (bad && !bourse.skipChecks) return msg(bad, true);
  try {
    await api.call('order.amend', [o.market, o.id, amount]);
    msg(`order ${o.id} amended to ${amount}`);
  } catch (e) {
    showError(e);
  }
}

function formType() {
  const t = $('otype').value;
  $('stop-row').hidden = t !== 'stop';
  $('price-row').hidden = t === 'market';
  $('tif-row').hidden = t === 'market';
  const buy = $('buy').checked;
  $('amount-unit').textContent = t === 'market' && buy ? S.market?.money : S.market?.stock;
}

async function submitOrder(ev) {
  ev.preventDefault();
  if (!S.authed) return msg('log in first', true);
  const f = {
    market: S.market, type: $('otype').value, side: Number(document.querySelector('input[name=side]:checked').value),
    price: $('price').value.trim(), stop: $('stop').value.trim(), amount: $('amount').value.trim(), tif: $('tif').value,
  };
  const { method, params, problem } = orderCall(f);
  if (problem && !bourse.skipChecks) return msg(problem, true);
  try {
    const o = await api.call(method, params);
    msg(`order ${o.id} placed: ${o.left === '0' ? 'filled' : 'left ' + trim(o.left)}`);
  } catch (e) {
    showError(e);
  }
}

function wire() {
  $('market').addEventListener('change', (e) => selectMarket(e.target.value).catch(showError));
  $('intervals').addEventListener('click', (e) => {
    const iv = Number(e.target.dataset.i);
    if (!iv) return;
    S.interval = iv;
    for (const b of $('intervals').children) b.classList.toggle('on', b === e.target);
    loadCandles().catch(showError);
  });
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    login($('token').value.trim()).catch(showError);
  });
  $('otype').addEventListener('change', formType);
  for (const r of document.querySelectorAll('input[name=side]')) r.addEventListener('change', formType);
  $('order').addEventListener('submit', submitOrder);
  window.addEventListener('resize', () => S.market && drawAll());
}

main().catch(showError);
