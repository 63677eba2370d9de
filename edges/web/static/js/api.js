// Api is a client of the public websocket API (docs/protocol.md
// "WebSocket"): calls answered by id, and pushes handed to listeners by
// method. It reconnects after a drop and then calls onopen again, which
// re-subscribes.

export class Api {
  constructor(url) {
    this.url = url;
    this.next = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.onopen = null;
    this.onstate = null;
    this.ws = null;
    this.closed = false;
  }

  connect() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.state('connected');
      if (this.onopen) this.onopen();
    };
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onclose = () => {
      for (const [, p] of this.pending) p.reject({ code: -1, message: 'connection closed' });
      this.pending.clear();
      if (this.closed) return;
      this.state('reconnecting');
      setTimeout(() => this.connect(), 1000);
    };
    ws.onerror = () => {}; // onclose follows and reconnects
  }

  state(s) {
    if (this.onstate) this.onstate(s);
  }

  message(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return;
    }
    if (m.id !== null && m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(m.error);
      else p.resolve(m.result);
      return;
    }
    const fns = this.listeners.get(m.method);
    if (fns) for (const fn of fns) fn(m.params);
  }

  // call sends method with params; the promise gives the result or rejects
  // with the server's {code, message}.
  call(method, params = []) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject({ code: -1, message: 'not connected' });
        return;
      }
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ method, params, id }));
    });
  }

  on(method, fn) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(fn);
  }
}

// wsURL is the websocket API's address: its port on this page's host.
export function wsURL(port) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  return `${proto}//${host}:${port}/`;
}
