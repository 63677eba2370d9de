// Command baseline is a bare net/http server that answers every request with
// a fixed small JSON-RPC success body. Loaded with loadgen -baseline, it
// measures the loopback HTTP ceiling of this machine (client + server +
// kernel) with the same client work as a bourse run, so the HTTP figures for
// bourse can be read against it.
//
//	baseline [-addr 127.0.0.1:8081]
//
// The handler reads the whole request body (as bourse does) and writes
// {"error":null,"result":{"status":"success"},"id":1} with Content-Type and
// Content-Length; nothing else is parsed or checked.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

var body = []byte(`{"error":null,"result":{"status":"success"},"id":1}`)

// Handler answers every request with body.
func Handler() http.Handler {
	ctype := []string{"application/json"}
	clen := []string{strconv.Itoa(len(body))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = ctype
		h["Content-Length"] = clen
		w.Write(body)
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Hour}
	fmt.Fprintln(os.Stderr, "baseline listening on", *addr)
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}
