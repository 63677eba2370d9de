// Exact decimal strings: the page never does arithmetic on money with
// floats. Numbers (floats) are used only to place things on a chart.

const DEC = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

// isDec reports whether s is a plain non-negative decimal ("12", "0.5").
export function isDec(s) {
  return typeof s === 'string' && DEC.test(s);
}

// places is the number of digits after the point.
export function places(s) {
  const i = s.indexOf('.');
  return i < 0 ? 0 : s.length - i - 1;
}

// scaled gives s as a BigInt of n decimal places (n ≥ places(s)).
function scaled(s, n) {
  const [i, f = ''] = s.split('.');
  return BigInt(i + f.padEnd(n, '0'));
}

// cmp compares two decimal strings exactly: -1, 0 or 1.
export function cmp(a, b) {
  const n = Math.max(places(a), places(b));
  const x = scaled(a, n), y = scaled(b, n);
  return x < y ? -1 : x > y ? 1 : 0;
}

// isZero reports whether the decimal string is zero.
export function isZero(s) {
  return /^[0.]*$/.test(s);
}

// fixed shows s with exactly n decimals (padding or cutting, never rounding up).
export function fixed(s, n) {
  if (s === undefined || s === null || s === '') return '';
  const neg = s.startsWith('-');
  const [i, f = ''] = (neg ? s.slice(1) : s).split('.');
  const out = n > 0 ? i + '.' + f.padEnd(n, '0').slice(0, n) : i;
  return neg ? '-' + out : out;
}

// trim drops trailing zeros after the point ("1.500" → "1.5", "2.0" → "2").
export function trim(s) {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

// checkAmount says what is wrong with a user-typed decimal for a field of
// prec decimals, or '' when it is fine. min, when given, is the smallest
// value allowed.
export function checkDec(name, s, prec, min) {
  if (!isDec(s)) return `${name} must be a positive decimal number`;
  if (isZero(s)) return `${name} must be more than 0`;
  if (places(s) > prec) return `${name} has more than ${prec} decimals`;
  if (min && cmp(s, min) < 0) return `${name} is below the minimum ${min}`;
  return '';
}
