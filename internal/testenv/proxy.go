package testenv

import (
	"errors"
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
//
// Hang simulates the other kind of outage, a network partition or a
// server that stopped answering: connections stay open but no byte moves
// in either direction (bytes already read wait in the proxy, the rest in
// the kernel's buffers) and new connections are accepted but not
// forwarded, until Restore lets everything through again, nothing lost.
type Proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cut    bool
	closed bool
	gate   chan struct{}         // closed while bytes may move; open (blocking) while hung
	done   chan struct{}         // closed by Close
	conns  map[net.Conn]net.Conn // client end → server end (nil while held by Hang)
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
	gate := make(chan struct{})
	close(gate)
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]net.Conn{}, gate: gate, done: make(chan struct{})}
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

// Hang starts a silent outage: connections stay open but nothing is
// forwarded, and new connections are accepted but not forwarded, until
// Restore.
func (p *Proxy) Hang() {
	p.mu.Lock()
	if p.open() {
		p.gate = make(chan struct{})
	}
	p.mu.Unlock()
}

// Restore ends an outage (Cut or Hang): new connections are forwarded
// again, and bytes held by Hang move on.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	if !p.open() {
		close(p.gate)
	}
	p.mu.Unlock()
}

// open reports whether the gate lets bytes through; p.mu is held.
func (p *Proxy) open() bool {
	select {
	case <-p.gate:
		return true
	default:
		return false
	}
}

// wait blocks while the proxy hangs; false if it was closed meanwhile.
func (p *Proxy) wait(closing <-chan struct{}) bool {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	select {
	case <-gate:
		return true
	case <-closing:
		return false
	}
}

// IsCut reports whether the proxy is cut.
func (p *Proxy) IsCut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

// IsHung reports whether the proxy hangs.
func (p *Proxy) IsHung() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.open()
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
	close(p.done)
	err := p.ln.Close()
	n := p.closeConns()
	p.mu.Unlock()
	p.severed.Add(int64(n))
	p.wg.Wait()
	return err
}

// closeConns closes every tracked connection and returns how many of them
// were forwarded; p.mu is held.
func (p *Proxy) closeConns() int {
	n := 0
	for client, server := range p.conns {
		client.Close()
		if server != nil {
			server.Close()
			n++
		}
	}
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
	p.mu.Lock()
	p.conns[client] = nil // so that Cut and Close end it while Hang holds it
	p.mu.Unlock()
	if !p.wait(p.done) {
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.mu.Lock()
		delete(p.conns, client)
		p.mu.Unlock()
		p.refused.Add(1)
		client.Close()
		return
	}
	p.mu.Lock()
	if _, ok := p.conns[client]; !ok || p.cut || p.closed { // cut while held or dialling
		delete(p.conns, client)
		p.mu.Unlock()
		p.refused.Add(1)
		client.Close()
		server.Close()
		return
	}
	p.conns[client] = server
	p.mu.Unlock()
	p.forwarded.Add(1)

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !p.wait(p.done) {
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	if p.conns[client] == server {
		delete(p.conns, client)
	}
	p.mu.Unlock()
}
