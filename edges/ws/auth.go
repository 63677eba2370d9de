package ws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bourse-exchange/bourse/messages"
)

// DevTokenPrefix starts a development token: "dev:<user_id>" (see
// Options.DevAuth).
const DevTokenPrefix = "dev:"

// maxSource bounds server.auth's source (viabtc: shorter than 32 bytes).
const maxSource = 31

func argString(raw []byte) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// server.auth [token, source]
func (c *conn) auth(b []byte, p [][]byte) ([]byte, error) {
	if len(p) != 2 {
		return b, errCount(2, len(p))
	}
	token, ok := argString(p[0])
	if !ok {
		return b, badParam("token", "must be a string")
	}
	source, ok := argString(p[1])
	if !ok || len(source) > maxSource {
		return b, badParam("source", "must be a string shorter than 32 bytes")
	}
	var user uint32
	if c.s.opts.DevAuth && strings.HasPrefix(token, DevTokenPrefix) {
		u, err := strconv.ParseUint(token[len(DevTokenPrefix):], 10, 32)
		if err != nil || u == 0 {
			return b, &messages.Error{Code: 11, Message: "invalid development token"}
		}
		user = uint32(u)
	} else {
		if c.s.set.AuthURL == "" {
			c.s.warnAuth("server.auth refused: no auth service configured (websocket.auth_url)")
			return b, errAuthNotConfigured
		}
		var err error
		if user, err = c.s.checkAuth(c.s.set.AuthURL, token); err != nil {
			return b, err
		}
	}
	c.login(user, source)
	return append(b, statusSuccess...), nil
}

// server.sign [access_id, authorisation, tonce]
func (c *conn) sign(b []byte, p [][]byte) ([]byte, error) {
	if len(p) != 3 {
		return b, errCount(3, len(p))
	}
	accessID, ok := argString(p[0])
	if !ok {
		return b, badParam("access_id", "must be a string")
	}
	authorisation, ok := argString(p[1])
	if !ok {
		return b, badParam("authorisation", "must be a string")
	}
	tonce, ok := argInt(p[2])
	if !ok || tonce == 0 {
		return b, badParam("tonce", "must be a non-zero integer")
	}
	if c.s.set.SignURL == "" {
		c.s.warnAuth("server.sign refused: no sign service configured (websocket.sign_url)")
		return b, errSignNotConfigured
	}
	u, err := url.Parse(c.s.set.SignURL)
	if err != nil {
		c.s.warnAuth("server.sign refused: websocket.sign_url does not parse", "err", err)
		return b, errSignNotConfigured
	}
	q := u.Query()
	q.Set("access_id", accessID)
	q.Set("tonce", strconv.FormatInt(tonce, 10))
	u.RawQuery = q.Encode()
	user, err := c.s.checkAuth(u.String(), authorisation)
	if err != nil {
		return b, err
	}
	c.login(user, "api")
	return append(b, statusSuccess...), nil
}

// login makes the connection user's; another user's order and asset
// subscriptions are dropped first.
func (c *conn) login(user uint32, source string) {
	if c.user != 0 && c.user != user {
		c.s.hub.replace(c, kOrder, nil)
		c.s.hub.replace(c, kAsset, nil)
	}
	c.user, c.source = user, source
}

// authReply is what auth_url and sign_url answer.
type authReply struct {
	Code    *int64 `json:"code"`
	Message string `json:"message"`
	Data    *struct {
		UserID *uint64 `json:"user_id"`
	} `json:"data"`
}

// The answers of server.auth and server.sign when the service that checks
// tokens cannot answer. viabtc answers code 2 "internal error" to all of
// them; the codes stay viabtc's meaning (3: try again later, 2: a fault,
// 5: too slow) but the message says what happened. Details (addresses,
// errors) go to the log only, never to the anonymous client.
var (
	errAuthNotConfigured = &messages.Error{Code: 3, Message: "service unavailable: auth service not configured"}
	errSignNotConfigured = &messages.Error{Code: 3, Message: "service unavailable: sign service not configured"}
	errAuthUnreachable   = &messages.Error{Code: 3, Message: "service unavailable: auth service unreachable"}
	errAuthBadReply      = &messages.Error{Code: 2, Message: "internal error: invalid reply from the auth service"}
	errAuthTimeout       = &messages.Error{Code: 5, Message: "service timeout: auth service did not answer in time"}
)

// checkAuth asks an auth or sign service (HTTP GET target with
// "Authorization: authorization") for a user id: code 11 with the
// service's message when it refuses; when it cannot tell, code 3 if it is
// unreachable, 2 if it answers something else than viabtc's reply (an
// HTTP error, not JSON, no user id), 5 if it does not answer within
// backend_timeout; each of those is logged with the service's address
// (without its query) and the cause.
func (s *Server) checkAuth(target, authorization string) (uint32, error) {
	where := target
	if u, err := url.Parse(target); err == nil {
		u.RawQuery, u.User = "", nil
		where = u.String()
	}
	fail := func(e *messages.Error, cause string, args ...any) (uint32, error) {
		s.warnAuth("auth service: "+cause, append([]any{"url", where, "code", e.Code}, args...)...)
		return 0, e
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.set.BackendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fail(errAuthUnreachable, "bad request", "err", err)
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Accept-Language", "en_US")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return fail(errAuthTimeout, "no answer within backend_timeout", "timeout", s.set.BackendTimeout)
		}
		return fail(errAuthUnreachable, "unreachable", "err", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		if ctx.Err() != nil {
			return fail(errAuthTimeout, "no answer within backend_timeout", "timeout", s.set.BackendTimeout)
		}
		return fail(errAuthUnreachable, "reply cut", "err", err)
	}
	var r authReply
	if json.Unmarshal(body, &r) != nil || r.Code == nil {
		return fail(errAuthBadReply, "reply is not {\"code\": N, ...}", "status", resp.StatusCode, "body", truncate(body, 200))
	}
	if *r.Code != 0 {
		return 0, &messages.Error{Code: 11, Message: r.Message}
	}
	if r.Data == nil || r.Data.UserID == nil || *r.Data.UserID == 0 || *r.Data.UserID > 1<<32-1 {
		return fail(errAuthBadReply, "reply has no valid data.user_id", "status", resp.StatusCode, "body", truncate(body, 200))
	}
	return uint32(*r.Data.UserID), nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// authLogEvery is how often one auth failure cause is logged at most; the
// repeats in between are counted and reported with the next one, so that a
// client sending server.auth in a loop cannot flood the log.
const authLogEvery = 10 * time.Second

// authLog is the log state of one (server, cause).
type authLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

var authLogs sync.Map // authLogKey → *authLog

type authLogKey struct {
	s     *Server
	cause string
}

// warnAuth logs an auth failure at WARN, at most once per authLogEvery for
// the same cause, with the count of the ones not logged since.
func (s *Server) warnAuth(cause string, args ...any) {
	v, _ := authLogs.LoadOrStore(authLogKey{s, cause}, &authLog{})
	l := v.(*authLog)
	l.mu.Lock()
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < authLogEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "not_logged_since", n)
	}
	s.log.Warn("ws: "+cause, args...)
}
