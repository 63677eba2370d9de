// The account part of the trader page: building an order call from the
// form (with the market's precisions and min_amount checked first), and
// drawing the user's orders and balances.
import { checkDec, fixed, trim } from './dec.js';

const SIDE = { 1: 'sell', 2: 'buy' };

// orderCall gives the websocket method and params for the form f, and the
// first problem the market's rules find in it ('' when none). The user and
// the fee rates are the server's: the connection's user, the market's
// configured rates.
export function orderCall(f) {
  const m = f.market, buy = f.side === 2;
  const amountPrec = f.type === 'market' && buy ? m.money_prec : m.stock_prec;
  const min = f.type === 'market' && buy ? '' : m.min_amount;
  let problem = checkDec('amount', f.amount, amountPrec, min);
  if (f.type !== 'market') problem = problem || checkDec('price', f.price, m.money_prec);
  if (f.type === 'stop') problem = problem || checkDec('stop price', f.stop, m.money_prec);
  const opts = {};
  if (f.tif === 'post') opts.post_only = true;
  else if (f.tif === 'IOC' || f.tif === 'FOK') opts.time_in_force = f.tif;
  const plain = Object.keys(opts).length === 0;
  switch (f.type) {
    case 'market':
      return { method: 'order.put_market', params: [m.name, f.side, f.amount, 'web'], problem };
    case 'stop':
      return { method: 'order.put_stop_limit', params: [m.name, f.side, f.amount, f.stop, f.price, 'web', opts], problem };
    default:
      return plain
        ? { method: 'order.put_limit', params: [m.name, f.side, f.amount, f.price, 'web'], problem }
        : { method: 'order.put_limit_ex', params: [m.name, f.side, f.amount, f.price, 'web', opts], problem };
  }
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.append(td);
  return td;
}

function button(text, fn) {
  const b = document.createElement('button');
  b.textContent = text;
  b.type = 'button';
  b.addEventListener('click', fn);
  return b;
}

// renderOrders fills the open and finished order tables; each open order
// has Cancel and Amend buttons.
export function renderOrders(openBody, finishedBody, S, cancel, amend) {
  const mp = S.market ? S.market.money_prec : 8;
  const open = [...S.open.values()].sort((a, b) => b.id - a.id);
  openBody.replaceChildren(...open.map((o) => {
    const tr = document.createElement('tr');
    tr.dataset.id = o.id;
    cell(tr, String(o.id));
    cell(tr, SIDE[o.side], SIDE[o.side]);
    cell(tr, o.type === 2 ? 'market' : 'limit');
    cell(tr, o.price === '0' ? 'market' : fixed(o.price, mp));
    cell(tr, trim(o.amount));
    cell(tr, trim(o.left));
    const td = cell(tr, '');
    const to = document.createElement('input');
    to.className = 'amend-to';
    to.placeholder = 'new amount';
    to.setAttribute('aria-label', `new amount of order ${o.id}`);
    td.append(to, ' ', button('Amend', () => amend(o, to.value.trim())), ' ', button('Cancel', () => cancel(o)));
    return tr;
  }));
  finishedBody.replaceChildren(...S.finished.map((o) => {
    const tr = document.createElement('tr');
    tr.dataset.id = o.id;
    cell(tr, String(o.id));
    cell(tr, SIDE[o.side], SIDE[o.side]);
    cell(tr, o.type === 2 ? 'market' : 'limit');
    cell(tr, o.price === '0' ? 'market' : fixed(o.price, mp));
    cell(tr, trim(o.amount));
    cell(tr, trim(o.deal_stock));
    cell(tr, trim(o.deal_money));
    cell(tr, trim(o.deal_fee));
    return tr;
  }));
}

// renderBalances fills the balance table, one row per asset.
export function renderBalances(body, balances) {
  const names = Object.keys(balances).sort();
  body.replaceChildren(...names.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.asset = a;
    cell(tr, a);
    cell(tr, balances[a].available);
    cell(tr, balances[a].freeze);
    return tr;
  }));
}
