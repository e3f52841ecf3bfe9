package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
)

type ctxKey int

const requestIDKey ctxKey = iota

// requestIDHeader carries the request id both ways: a sane incoming value
// is kept so ids can be correlated across services.
const requestIDHeader = "X-Request-Id"

// requestID returns the id the requestID middleware stored in ctx, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// withRequestID gives every request an id, taken from X-Request-Id when it
// is short and printable, and echoes it in the response header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !saneID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// routePattern is the chi route pattern that served r, for metric and log
// labels; unmatched requests share one label so paths cannot blow up the
// label cardinality.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// instrument records the request duration histogram and in-flight gauge,
// and writes one structured access-log line per request. It must run
// inside the chi router so the route pattern is known when next returns.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.obs.AddInFlight(1)
		defer s.obs.AddInFlight(-1)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := routePattern(r)
		s.obs.ObserveRequest(route, r.Method, sw.status, d)
		s.logger.LogAttrs(r.Context(), accessLevel(route, sw.status), "request",
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", d),
		)
	})
}

// recoverer turns a panic in a handler into a logged 500 JSON answer, so
// one bad request cannot take the server down.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(v)
			}
			s.logger.Error("handler panic", "request_id", requestID(r.Context()), "panic", v, "stack", string(debug.Stack()))
			s.writeError(w, r, errors.New("internal panic"))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds the request body at n bytes; reading past it fails with
// an *http.MaxBytesError, which writeError answers with 413. A body whose
// declared length is already over the limit is refused without reading it.
func (s *Server) limitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				s.writeError(w, r, &http.MaxBytesError{Limit: n})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// limitInFlight sheds load: at most n requests run the wrapped handlers at
// once, and the rest are refused at once with 503 and Retry-After instead
// of queueing unboundedly behind the CPU-bound backbone.
func (s *Server) limitInFlight(n int) func(http.Handler) http.Handler {
	sem := make(chan struct{}, n)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				next.ServeHTTP(w, r)
			default:
				s.obs.RequestShed(routePattern(r))
				w.Header().Set("Retry-After", "1")
				s.writeError(w, r, errorf(http.StatusServiceUnavailable, codeOverloaded,
					"too many requests in flight (limit %d); retry later", n))
			}
		})
	}
}

// accessLevel logs server errors at Error and other requests at Info,
// except the probes and scrapes, at Debug, so they do not flood the log.
func accessLevel(route string, status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case route == "/healthz" || route == "/readyz" || route == "/metrics":
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
