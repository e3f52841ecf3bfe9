package http

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// Gate is the process's root handler across its life. Before Open it
// answers /healthz with 200 (the process runs) and everything else,
// /readyz included, with 503 not_ready while the backbone loads and warms
// up. After Open it passes every request to the opened handler. After
// Drain, /readyz answers 503 again so load balancers stop sending traffic
// while in-flight requests finish.
type Gate struct {
	h        atomic.Pointer[http.Handler]
	draining atomic.Bool
}

// NewGate returns a closed Gate.
func NewGate() *Gate { return &Gate{} }

// Open starts passing requests to h.
func (g *Gate) Open(h http.Handler) { g.h.Store(&h) }

// Drain makes /readyz answer 503 from now on.
func (g *Gate) Drain() { g.draining.Store(true) }

// ServeHTTP implements http.Handler.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := g.h.Load()
	switch {
	case r.URL.Path == "/healthz" && h == nil:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	case r.URL.Path == "/readyz" && g.draining.Load():
		withRequestID(notReady("shutting down")).ServeHTTP(w, r)
	case h == nil:
		withRequestID(notReady("the backbone is loading; retry shortly")).ServeHTTP(w, r)
	default:
		(*h).ServeHTTP(w, r)
	}
}

// notReady answers 503 not_ready with msg, in the API's error shape.
func notReady(msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{Code: codeNotReady, Message: msg, RequestID: requestID(r.Context())}})
	})
}
