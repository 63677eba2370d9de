package httprpc

import (
	"net/http"
	"net/http/pprof"
)

// Pprof returns the Go profiler's handlers (net/http/pprof) for
// Server.Debug: /debug/pprof/ lists the profiles, /debug/pprof/profile a
// CPU profile (?seconds=N), /debug/pprof/trace an execution trace, and
// /debug/pprof/heap, goroutine, block, mutex, allocs, threadcreate the
// others. For engineers tuning a node (cmd/bourse -pprof): a CPU profile
// or trace costs the node CPU while it runs.
func Pprof() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
