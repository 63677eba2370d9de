package ws

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/time/rate"
)

// frame is one outbound websocket frame as it goes on the wire (header
// and payload): server frames are not masked, so a push is encoded once and
// the same bytes are shared by every subscriber. Never modified once
// queued.
type frame []byte

// encodeFrame returns the wire bytes of a final frame with op and p.
func encodeFrame(op ws.OpCode, p []byte) frame {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(p))}
	b := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(h)+len(p)))
	ws.WriteHeader(b, h)
	b.Write(p)
	return b.Bytes()
}

// conn is one websocket connection. The read loop owns the request side.
// Outbound frames are written at once, without blocking, when nothing is
// queued and the socket has room (most pushes: no goroutine, one system
// call); otherwise they are queued and a writer goroutine, which runs only
// while the queue is not empty, drains the queue.
type conn struct {
	s   *Server
	nc  net.Conn
	raw syscall.RawConn // nil: no direct writes

	qmu     sync.Mutex
	queue   []frame     // guarded by qmu
	spare   []frame     // guarded by qmu: the writer's last batch, reused
	writing bool        // guarded by qmu: a writer goroutine runs
	closing bool        // guarded by qmu: a close frame is queued; nothing more is
	closed  bool        // guarded by qmu
	reason  CloseReason // guarded by qmu: why closing
	once    sync.Once

	// Session state, written by the read loop; read by the hub under
	// hub.mu (user is also written under hub.mu).
	user   uint32 // 0: not authenticated
	source string
	subs   connSubs // guarded by hub.mu

	ip      string        // client address (websocket.client_ip_header or the peer)
	limiter *rate.Limiter // requests; nil: no limit. Used by the read loop only.
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc}
	if s.set.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(s.set.RateLimit), s.set.RateBurst)
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	return c
}

// send queues a text message; it reports false when the connection is
// closing or was closed. A full queue closes the connection as slow.
func (c *conn) send(p []byte) bool { return c.enqueue(encodeFrame(ws.OpText, p)) }

func (c *conn) enqueue(f frame) bool {
	switch c.offer(f) {
	case offered:
		return true
	case full:
		c.close(ReasonSlow)
	case broken:
		c.close(ReasonClient)
	}
	return false
}

// offerResult is what offer did with a frame.
type offerResult uint8

const (
	offered offerResult = iota // written or queued
	full                       // the queue is full: the caller closes the connection as slow
	gone                       // the connection is closing or closed
	broken                     // writing failed: the caller closes the connection
)

// offer writes or queues f without ever closing the connection (callers
// holding hub.mu close it later).
func (c *conn) offer(f frame) offerResult {
	c.qmu.Lock()
	if c.closed || c.closing {
		c.qmu.Unlock()
		return gone
	}
	if !c.writing && len(c.queue) == 0 && c.raw != nil {
		n, err := c.tryWrite(f)
		if err != nil {
			c.qmu.Unlock()
			return broken
		}
		if n == len(f) {
			c.qmu.Unlock()
			return offered
		}
		f = f[n:] // the socket is full: the writer does the rest
	}
	if len(c.queue) >= c.s.set.OutboundQueue {
		c.qmu.Unlock()
		return full
	}
	c.queue = append(c.queue, f)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writeLoop()
	}
	return offered
}

// tryWrite writes what of p the socket takes now, without waiting. c.qmu
// is held and no writer runs.
func (c *conn) tryWrite(p []byte) (n int, err error) {
	var werr error
	err = c.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), p)
			if werr != syscall.EINTR {
				break
			}
		}
		if werr == syscall.EAGAIN {
			werr = nil
		}
		n = max(n, 0)
		return true
	})
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil // let the writer, with a fresh deadline, try
		}
		return 0, err
	}
	return n, werr
}

// closeWith queues a close frame with code and closes the connection for r
// once it is written (or at once if the queue is full).
func (c *conn) closeWith(r CloseReason, code ws.StatusCode) {
	c.qmu.Lock()
	if c.closed || c.closing {
		c.qmu.Unlock()
		return
	}
	if len(c.queue) >= c.s.set.OutboundQueue {
		c.qmu.Unlock()
		c.close(r)
		return
	}
	c.queue = append(c.queue, encodeFrame(ws.OpClose, ws.NewCloseFrameBody(code, "")))
	c.closing = true
	c.reason = r
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

func (c *conn) writeLoop() {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	defer func() {
		bw.Reset(nil)
		writerPool.Put(bw)
	}()
	for {
		c.qmu.Lock()
		if c.closed || len(c.queue) == 0 {
			c.writing = false
			closing, r := c.closing, c.reason
			c.qmu.Unlock()
			if closing {
				c.close(r)
			} else {
				c.nc.SetWriteDeadline(time.Time{}) // direct writes ignore it
			}
			return
		}
		batch := c.queue
		c.queue, c.spare = c.spare[:0], nil // never share an array with batch
		c.qmu.Unlock()

		c.nc.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
		var err error
		for i := range batch {
			if _, err = bw.Write(batch[i]); err != nil {
				break
			}
			batch[i] = nil
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.close(ReasonSlow)
			} else {
				c.close(ReasonClient)
			}
			return
		}
		if cap(batch) <= 64 {
			c.qmu.Lock()
			if !c.closed {
				c.spare = batch[:0]
			}
			c.qmu.Unlock()
		}
	}
}

// close closes the connection for r (the first reason counts) and removes
// its subscriptions.
func (c *conn) close(r CloseReason) {
	c.once.Do(func() {
		c.qmu.Lock()
		c.closed = true
		c.queue, c.spare = nil, nil
		c.qmu.Unlock()
		c.nc.Close()
		c.s.hub.drop(c)
		c.s.forget(c, r)
	})
}

// readLoop reads frames until the connection ends, answering requests in
// order.
func (c *conn) readLoop() {
	rd := wsutil.Reader{
		Source:         c.nc,
		State:          ws.StateServerSide,
		CheckUTF8:      true,
		MaxMessageSize: c.s.set.MaxMessageBytes,
	}
	var buf []byte
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.s.set.KeepAlive))
		hdr, err := rd.NextFrame()
		if err != nil {
			c.readFailed(err)
			return
		}
		if hdr.OpCode.IsControl() {
			p := make([]byte, hdr.Length)
			if _, err := io.ReadFull(&rd, p); err != nil {
				c.readFailed(err)
				return
			}
			switch hdr.OpCode {
			case ws.OpPing:
				c.enqueue(encodeFrame(ws.OpPong, p))
			case ws.OpClose:
				code := ws.StatusNormalClosure
				if len(p) >= 2 {
					code = ws.StatusCode(binary.BigEndian.Uint16(p))
				}
				c.closeWith(ReasonClient, code)
				return
			}
			continue
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := rd.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				c.readFailed(err)
				return
			}
		}
		c.handle(buf)
		if cap(buf) > 64<<10 {
			buf = nil
		}
	}
}

// readFailed closes the connection after a read error, with the reason
// and close code the error calls for.
func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, wsutil.ErrMessageTooLarge) || errors.Is(err, wsutil.ErrFrameTooLarge):
		c.closeWith(ReasonTooLarge, ws.StatusMessageTooBig)
	case errors.Is(err, wsutil.ErrInvalidUTF8):
		c.closeWith(ReasonProtocol, ws.StatusInvalidFramePayloadData)
	case errors.As(err, &ne) && ne.Timeout():
		c.closeWith(ReasonIdle, ws.StatusGoingAway)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.close(ReasonClient)
	default:
		var pe ws.ProtocolError
		if errors.As(err, &pe) {
			c.closeWith(ReasonProtocol, ws.StatusProtocolError)
			return
		}
		c.close(ReasonClient)
	}
}
