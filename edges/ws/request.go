package ws

import (
	"encoding/json"
	"strconv"

	"github.com/bourse-exchange/bourse/edges/httprpc"
	"github.com/bourse-exchange/bourse/internal/wire"
	"github.com/bourse-exchange/bourse/messages"
)

// request is a decoded request; params alias the message buffer.
type request struct {
	method string
	params [][]byte
	id     int64
	hasID  bool // false: the id could not be read (reply with "id":null)
}

// decodeRequest decodes a request message. err (code 1, saying what is
// wrong) is set when p is not a request envelope (docs/protocol.md "WebSocket transport": method
// string, params array or null, id integer); req.id is then the id when p
// is a JSON object with an integer id, and req.hasID says whether it is.
func decodeRequest(p []byte) (req request, err *messages.Error) {
	method, params, id, perr := httprpc.ParseRequest(p)
	if perr == nil {
		return request{method: method, params: params, id: id, hasID: true}, nil
	}
	err, _ = perr.(*messages.Error)
	if err == nil {
		err = messages.ErrInvalidArgument
	}
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(p, &probe) == nil && len(probe.ID) > 0 {
		if id, err := strconv.ParseInt(string(probe.ID), 10, 64); err == nil {
			req.id, req.hasID = id, true
		}
	}
	return req, err
}

// resultPrefix starts a success reply; the result and appendReplyEnd
// follow.
const resultPrefix = `{"error":null,"result":`

func appendReplyEnd(b []byte, req *request) []byte {
	b = append(b, `,"id":`...)
	b = appendID(b, req)
	return append(b, '}')
}

func appendID(b []byte, req *request) []byte {
	if !req.hasID {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, req.id, 10)
}

// appendErrorReply appends a whole error reply.
func appendErrorReply(b []byte, e *messages.Error, req *request) []byte {
	b = append(b, `{"error":{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = wire.AppendString(b, e.Message)
	b = append(b, `},"result":null,"id":`...)
	b = appendID(b, req)
	return append(b, '}')
}

// notification returns {"method":name,"params":params,"id":null}.
func notification(name string, params []byte) []byte {
	b := make([]byte, 0, len(name)+len(params)+40)
	b = append(b, `{"method":"`...)
	b = append(b, name...)
	b = append(b, `","params":`...)
	b = append(b, params...)
	return append(b, `,"id":null}`...)
}
