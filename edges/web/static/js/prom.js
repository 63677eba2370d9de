// parseProm reads the Prometheus text format into a Map from metric name
// to a list of {labels, value}.
export function parseProm(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    }
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return out;
}

// one gives the value of name whose labels include want (0 when absent).
export function one(metrics, name, want = {}) {
  for (const s of metrics.get(name) || []) {
    if (Object.entries(want).every(([k, v]) => s.labels[k] === v)) return s.value;
  }
  return 0;
}

// labelValues lists the values label takes in name's samples.
export function labelValues(metrics, name, label) {
  return [...new Set((metrics.get(name) || []).map((s) => s.labels[label]).filter((v) => v !== undefined))];
}

// quantile estimates the q quantile of a histogram from the change of its
// cumulative buckets between two scrapes (prev may be null: since start).
export function quantile(cur, prev, name, q) {
  const buckets = (m) => new Map((m ? m.get(name + '_bucket') || [] : []).map((s) => [s.labels.le, s.value]));
  const a = buckets(cur), b = buckets(prev);
  const rows = [...a.entries()].map(([le, v]) => [le === '+Inf' ? Infinity : Number(le), v - (b.get(le) || 0)]).sort((x, y) => x[0] - y[0]);
  const total = rows.length ? rows[rows.length - 1][1] : 0;
  if (total <= 0) return NaN;
  for (const [le, v] of rows) if (v >= q * total) return le;
  return NaN;
}
