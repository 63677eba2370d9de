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
		return b, errArg
	}
	token, ok := argString(p[0])
	if !ok {
		return b, errArg
	}
	source, ok := argString(p[1])
	if !ok || len(source) > maxSource {
		return b, errArg
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
			return b, messages.ErrInternal
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
		return b, errArg
	}
	accessID, ok := argString(p[0])
	if !ok {
		return b, errArg
	}
	authorisation, ok := argString(p[1])
	if !ok {
		return b, errArg
	}
	tonce, ok := argInt(p[2])
	if !ok || tonce == 0 {
		return b, errArg
	}
	if c.s.set.SignURL == "" {
		return b, messages.ErrInternal
	}
	u, err := url.Parse(c.s.set.SignURL)
	if err != nil {
		return b, messages.ErrInternal
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

// checkAuth asks an auth or sign service (HTTP GET target with
// "Authorization: authorization") for a user id: code 11 with the
// service's message when it refuses, 2 when it fails or answers nonsense,
// 5 when it does not answer within backend_timeout.
func (s *Server) checkAuth(target, authorization string) (uint32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.set.BackendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, messages.ErrInternal
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Accept-Language", "en_US")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return 0, messages.ErrServiceTimeout
		}
		return 0, messages.ErrInternal
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		if ctx.Err() != nil {
			return 0, messages.ErrServiceTimeout
		}
		return 0, messages.ErrInternal
	}
	var r authReply
	if json.Unmarshal(body, &r) != nil || r.Code == nil {
		return 0, messages.ErrInternal
	}
	if *r.Code != 0 {
		return 0, &messages.Error{Code: 11, Message: r.Message}
	}
	if r.Data == nil || r.Data.UserID == nil || *r.Data.UserID == 0 || *r.Data.UserID > 1<<32-1 {
		return 0, messages.ErrInternal
	}
	return uint32(*r.Data.UserID), nil
}
