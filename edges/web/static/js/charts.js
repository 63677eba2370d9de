// Small canvas charts: candlesticks with volume, a depth chart and
// sparklines. Values are floats here, for placing pixels only.

const UP = '#26a69a', DOWN = '#ef5350', GRID = '#2a2f3a', TEXT = '#8a93a6';

// fit sizes the canvas to its CSS box at the device's pixel ratio and
// returns its 2D context and CSS size.
function fit(canvas) {
  const r = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * r) || canvas.height !== Math.round(h * r)) {
    canvas.width = Math.round(w * r);
    canvas.height = Math.round(h * r);
  }
  const g = canvas.getContext('2d');
  g.setTransform(r, 0, 0, r, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

function label(g, text, x, y, align = 'left') {
  g.fillStyle = TEXT;
  g.font = '11px system-ui, sans-serif';
  g.textAlign = align;
  g.fillText(text, x, y);
}

// drawCandles draws candles [{t, o, h, l, c, v}] oldest first, the newest
// at the right; the bottom fifth shows volume.
export function drawCandles(canvas, candles, interval) {
  const { g, w, h } = fit(canvas);
  const axis = 56, top = 8, volH = h * 0.2, priceH = h - volH - top - 18;
  const slot = 9, n = Math.max(1, Math.floor((w - axis) / slot));
  const shown = candles.slice(-n);
  if (shown.length === 0) {
    label(g, 'no trades in this period yet', (w - axis) / 2, h / 2, 'center');
    return;
  }
  let lo = Infinity, hi = -Infinity, vmax = 0;
  for (const k of shown) {
    lo = Math.min(lo, k.l);
    hi = Math.max(hi, k.h);
    vmax = Math.max(vmax, k.v);
  }
  if (hi === lo) { hi += 1; lo -= 1; }
  const y = (p) => top + (hi - p) / (hi - lo) * priceH;
  g.strokeStyle = GRID;
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const p = lo + (hi - lo) * i / 4, yy = Math.round(y(p)) + 0.5;
    g.beginPath(); g.moveTo(0, yy); g.lineTo(w - axis, yy); g.stroke();
    label(g, fmtNum(p), w - axis + 4, yy + 4);
  }
  const x0 = w - axis - shown.length * slot;
  shown.forEach((k, i) => {
    const x = x0 + i * slot + slot / 2, col = k.c >= k.o ? UP : DOWN;
    g.strokeStyle = col; g.fillStyle = col;
    g.beginPath(); g.moveTo(Math.round(x) + 0.5, y(k.h)); g.lineTo(Math.round(x) + 0.5, y(k.l)); g.stroke();
    const bt = y(Math.max(k.o, k.c)), bh = Math.max(1, Math.abs(y(k.o) - y(k.c)));
    g.fillRect(x - 3, bt, 7, bh);
    const vh = vmax > 0 ? k.v / vmax * (volH - 4) : 0;
    g.globalAlpha = 0.5;
    g.fillRect(x - 3, h - 18 - vh, 7, vh);
    g.globalAlpha = 1;
  });
  const first = shown[0].t, last = shown[shown.length - 1].t;
  if (shown.length > 12) label(g, timeLabel(first, interval), x0, h - 4);
  label(g, timeLabel(last, interval), w - axis, h - 4, 'right');
}

function timeLabel(t, interval) {
  const d = new Date(t * 1000).toISOString();
  return interval >= 86400 ? d.slice(0, 10) : d.slice(5, 16).replace('T', ' ');
}

// fmtNum shows a chart value with a few significant digits.
export function fmtNum(v) {
  if (!isFinite(v)) return '';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}

// drawDepth draws the cumulative amounts of bids (left, green) and asks
// (right, red) around the mid price. Levels are [price, amount] strings.
export function drawDepth(canvas, bids, asks) {
  const { g, w, h } = fit(canvas);
  const b = cumulate(bids), a = cumulate(asks);
  if (b.length === 0 && a.length === 0) {
    label(g, 'empty book', w / 2, h / 2, 'center');
    return;
  }
  const prices = [...b, ...a].map((l) => l[0]);
  let lo = Math.min(...prices), hi = Math.max(...prices);
  const pad = hi === lo ? Math.max(1, hi * 0.01) : (hi - lo) * 0.05;
  lo -= pad;
  hi += pad;
  const vmax = Math.max(b.length ? b[b.length - 1][1] : 0, a.length ? a[a.length - 1][1] : 0);
  const x = (p) => 4 + (p - lo) / (hi - lo) * (w - 8);
  const y = (v) => h - 16 - v / vmax * (h - 28);
  area(g, b, x, y, h, UP);
  area(g, a, x, y, h, DOWN);
  label(g, fmtNum(lo), 4, h - 3);
  label(g, fmtNum(hi), w - 4, h - 3, 'right');
  label(g, fmtNum(vmax), 4, 12);
}

function cumulate(levels) {
  let sum = 0;
  return levels.map(([p, v]) => [Number(p), (sum += Number(v))]);
}

function area(g, pts, x, y, h, col) {
  if (pts.length === 0) return;
  g.beginPath();
  g.moveTo(x(pts[0][0]), h - 16);
  let prevV = 0;
  for (const [p, v] of pts) {
    g.lineTo(x(p), y(prevV));
    g.lineTo(x(p), y(v));
    prevV = v;
  }
  g.lineTo(x(pts[pts.length - 1][0]), h - 16);
  g.closePath();
  g.fillStyle = col;
  g.globalAlpha = 0.25;
  g.fill();
  g.globalAlpha = 1;
  g.strokeStyle = col;
  g.stroke();
}

// sparkline draws values (numbers, oldest first) as a line filling canvas.
export function sparkline(canvas, values) {
  const { g, w, h } = fit(canvas);
  const vs = values.filter((v) => isFinite(v));
  if (vs.length < 2) return;
  let lo = Math.min(...vs), hi = Math.max(...vs);
  if (hi === lo) { hi += 1; lo -= 1; }
  g.strokeStyle = '#4f9cf9';
  g.lineWidth = 1.5;
  g.beginPath();
  values.forEach((v, i) => {
    const xx = i / (values.length - 1) * (w - 2) + 1, yy = h - 2 - (v - lo) / (hi - lo) * (h - 4);
    if (i === 0) g.moveTo(xx, yy); else g.lineTo(xx, yy);
  });
  g.stroke();
}
