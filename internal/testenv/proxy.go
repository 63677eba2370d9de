package testenv

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy a test controls, put between a program and a
// service to simulate the service's outage without stopping it (the
// services are shared by every test package, which go test runs in
// parallel). Cut closes every open connection and from then on accepts
// each new connection only to close it at once, as a stopped server
// whose port answered would; Restore forwards new connections again.
// The listening port stays the same throughout.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cut    bool
	closed bool
	conns  map[net.Conn]struct{} // both ends of every forwarded connection
	wg     sync.WaitGroup

	forwarded atomic.Int64
	refused   atomic.Int64
	severed   atomic.Int64
}

// ProxyStats counts a Proxy's connections.
type ProxyStats struct {
	Forwarded int64 // connections forwarded to the target
	Refused   int64 // connections closed at once: cut, or the target did not answer
	Severed   int64 // forwarded connections closed by Cut or Close
}

// NewProxy listens on a free loopback port and forwards every connection
// to target (host:port).
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// StartProxy is NewProxy for a test: it fails the test on error and closes
// the proxy when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Addr is the proxy's listening address, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// Cut starts an outage: every forwarded connection is closed, and new ones
// are closed as soon as they are accepted, until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	n := p.closeConns()
	p.mu.Unlock()
	p.severed.Add(int64(n))
}

// Restore ends an outage: new connections are forwarded again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// IsCut reports whether the proxy is in an outage.
func (p *Proxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() ProxyStats {
	return ProxyStats{Forwarded: p.forwarded.Load(), Refused: p.refused.Load(), Severed: p.severed.Load()}
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines. Closing twice does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	n := p.closeConns()
	p.mu.Unlock()
	p.severed.Add(int64(n))
	p.wg.Wait()
	return err
}

// closeConns closes every tracked connection and returns how many
// forwarded connections (pairs) there were; p.mu is held.
func (p *Proxy) closeConns() int {
	for c := range p.conns {
		c.Close()
	}
	n := len(p.conns) / 2
	clear(p.conns)
	return n
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(5 * time.Millisecond) // e.g. too many open files
			continue
		}
		p.mu.Lock()
		refuse := p.cut || p.closed
		if !refuse {
			p.wg.Add(1)
		}
		p.mu.Unlock()
		if refuse {
			p.refused.Add(1)
			c.Close()
			continue
		}
		go p.forward(c)
	}
}

// forward connects client to the target and copies both ways until either
// side ends or the proxy cuts them.
func (p *Proxy) forward(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.refused.Add(1)
		client.Close()
		return
	}
	p.mu.Lock()
	if p.cut || p.closed { // cut while dialling
		p.mu.Unlock()
		p.refused.Add(1)
		client.Close()
		server.Close()
		return
	}
	p.conns[client] = struct{}{}
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	p.forwarded.Add(1)

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}
