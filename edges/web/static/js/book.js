import { cmp, isZero } from './dec.js';

// Book is a market's depth as the depth channel pushes it: a clean
// snapshot, then diffs (amount "0" deletes a level), truncated to limit.
export class Book {
  constructor(limit) {
    this.limit = limit;
    this.asks = []; // [price, amount], best (lowest) first
    this.bids = []; // best (highest) first
  }

  apply(clean, diff) {
    if (clean) {
      this.asks = (diff.asks || []).slice();
      this.bids = (diff.bids || []).slice();
    } else {
      if (diff.asks) this.asks = merge(this.asks, diff.asks, 1);
      if (diff.bids) this.bids = merge(this.bids, diff.bids, -1);
    }
    this.asks = this.asks.slice(0, this.limit);
    this.bids = this.bids.slice(0, this.limit);
  }
}

// merge applies changed levels to side, kept in order dir (1: ascending).
function merge(side, changes, dir) {
  const m = new Map(side.map(([p, a]) => [p, a]));
  for (const [p, a] of changes) {
    // the same price may be written differently ("100" / "100.00")
    let key = p;
    for (const k of m.keys()) if (cmp(k, p) === 0) key = k;
    if (isZero(a)) m.delete(key);
    else {
      m.delete(key);
      m.set(p, a);
    }
  }
  return [...m.entries()].sort((x, y) => dir * cmp(x[0], y[0]));
}
