// The operator page: the node's figures each second, from /ops/metrics
// (Prometheus text) and /ops/state (server.state), each with a sparkline
// of the last minute.
import { parseProm, one, labelValues, quantile } from './prom.js';
import { sparkline, fmtNum } from './charts.js';

const $ = (id) => document.getElementById(id);
const KEEP = 60;
const cards = new Map(); // key → {el, values}
let token = sessionStorage.getItem('bourse-ops-token') || '';
let prev = null, prevAt = 0, timer = 0;
// ticks counts the refreshes shown (the browser test waits for a few).
window.bourseOps = { ticks: 0 };

async function get(path) {
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).trim()}`);
  return r;
}

// card shows one figure: its text now and a sparkline of value.
function card(key, name, text, value) {
  let c = cards.get(key);
  if (!c) {
    const el = document.createElement('div');
    el.className = 'card';
    el.dataset.key = key;
    el.innerHTML = '<div class="name"></div><div class="value"></div><canvas></canvas>';
    $('cards').append(el);
    c = { el, values: [] };
    cards.set(key, c);
  }
  c.el.querySelector('.name').textContent = name;
  c.el.querySelector('.value').textContent = text;
  c.values.push(value);
  if (c.values.length > KEEP) c.values.shift();
  sparkline(c.el.querySelector('canvas'), c.values);
}

function rate(cur, name, labels, dt) {
  if (!prev || dt <= 0) return NaN;
  return Math.max(0, (one(cur, name, labels) - one(prev, name, labels)) / dt);
}

function show(cur, state, dt) {
  const failed = one(cur, 'bourse_journal_failed') === 1;
  $('status').textContent = `node ${failed ? 'JOURNAL FAILED' : 'ok'} · lsn ${state.lsn} · state ${state.hash.slice(0, 12)}… · cluster: single node (cluster.status comes with replication)`;
  $('status').classList.toggle('bad', failed);
  card('lsn', 'journal last LSN', String(state.lsn), state.lsn);
  const dc = rate(cur, 'bourse_journal_commit_seconds_count', {}, dt);
  const ds = rate(cur, 'bourse_journal_commit_seconds_sum', {}, dt);
  const mean = dc > 0 ? ds / dc * 1000 : NaN;
  card('commit', 'journal commit latency, mean (ms)', isNaN(mean) ? 'idle' : mean.toFixed(2), isNaN(mean) ? 0 : mean);
  const p99 = quantile(cur, prev, 'bourse_journal_commit_seconds', 0.99) * 1000;
  card('commit99', 'journal commit latency, p99 bucket (ms)', isNaN(p99) ? 'idle' : '≤ ' + fmtNum(p99), isNaN(p99) || !isFinite(p99) ? 0 : p99);
  card('commits', 'journal commits/s', isNaN(dc) ? '–' : dc.toFixed(0), dc || 0);
  for (const m of labelValues(cur, 'bourse_market_orders_total', 'market')) {
    const o = rate(cur, 'bourse_market_orders_total', { market: m }, dt);
    const t = rate(cur, 'bourse_market_trades_total', { market: m }, dt);
    card('orders-' + m, m + ' orders/s', isNaN(o) ? '–' : o.toFixed(0), o || 0);
    card('trades-' + m, m + ' trades/s', isNaN(t) ? '–' : t.toFixed(0), t || 0);
  }
  for (const [name, f] of Object.entries(state.followers || {})) {
    card('lag-' + name, `follower ${name}: lag (records)`, `${f.lag} · cursor ${f.cursor}` + (f.errors ? ` · ${f.errors} errors` : ''), f.lag);
  }
  const conns = one(cur, 'bourse_ws_connections');
  card('ws', 'websocket connections', String(conns), conns);
  const ev = one(cur, 'bourse_ws_closed_total', { reason: 'slow' });
  card('evict', 'websocket evictions (slow clients), total', String(ev), ev);
  const rss = one(cur, 'process_resident_memory_bytes') / (1 << 20);
  card('rss', 'resident memory (MiB)', rss.toFixed(0), rss);
}

async function tick() {
  try {
    const [m, s] = await Promise.all([get('/ops/metrics'), get('/ops/state')]);
    const cur = parseProm(await m.text());
    const state = await s.json();
    const now = performance.now();
    show(cur, state, prev ? (now - prevAt) / 1000 : 0);
    prev = cur;
    prevAt = now;
    window.bourseOps.ticks++;
    $('bar').textContent = 'refreshed ' + new Date().toISOString().slice(11, 19) + ' UTC, every second';
    $('bar').classList.remove('bad');
  } catch (e) {
    $('bar').textContent = e.message;
    $('bar').classList.add('bad');
  }
}

function run() {
  clearInterval(timer);
  if (!token) return;
  tick();
  timer = setInterval(tick, 1000);
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('bourse-ops-token', token);
  prev = null;
  run();
});
run();
