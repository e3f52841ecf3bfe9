package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tlserve/tlserve/internal/finetune"
)

// Error codes the API answers with, besides those in errorTable.
const (
	codeBadRequest       = "bad_request"
	codeInvalidParameter = "invalid_parameter"
	codeEmptyBody        = "empty_body"
	codeMediaType        = "unsupported_media_type"
	codeBodyTooLarge     = "body_too_large"
	codeTooManyFiles     = "too_many_files"
	codeMissingLabel     = "missing_label"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeOverloaded       = "overloaded"
	codeNotReady         = "not_ready"
	codeBackboneMismatch = "backbone_mismatch"
	codeCanceled         = "canceled"
	codeInternal         = "internal"
)

// apiError is a problem this package detects itself (a bad parameter, a
// wrong content type). Errors from dependencies are mapped by errorTable.
type apiError struct {
	status int
	code   string
	msg    string
	err    error // optional cause, for errors.Is and logs
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// errorf returns an *apiError with the given status and code.
func errorf(status int, code, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &apiError{status: status, code: code, msg: err.Error(), err: errors.Unwrap(err)}
}

// errorBody is the JSON shape of every error answer.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
	// Files lists every refused file of a /finetune upload.
	Files []finetune.FileError `json:"files,omitempty"`
}

// classify maps err to its status and code: an *apiError carries its own,
// a request body over its limit is 413, a dependency's sentinel is looked up
// in errorTable, and anything else is a 500.
func classify(err error) (status int, code string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ae.code
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge, codeBodyTooLarge
	}
	for _, e := range errorTable {
		if errors.Is(err, e.target) {
			return e.status, e.code
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, codeCanceled
	}
	return http.StatusInternalServerError, codeInternal
}

// writeError answers err as JSON. The message is the error text, which
// names the offending input, except for internal errors: those are logged
// in full with the request id and the client gets a short message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := classify(err)
	id := requestID(r.Context())
	msg := err.Error()
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		msg = fmt.Sprintf("request body is larger than the limit of %s for %s %s", formatBytes(mb.Limit), r.Method, r.URL.Path)
	case code == codeInternal:
		s.logger.Error("request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; the server log has the details under this request id"
	case code == codeCanceled:
		msg = "request canceled before it completed"
	}
	detail := errorDetail{Code: code, Message: msg, RequestID: id}
	var fe *finetune.InvalidFilesError
	if errors.As(err, &fe) {
		detail.Files = fe.Files
	}
	s.writeJSON(w, r, status, errorBody{Error: detail})
}

// writeJSON answers v as JSON with the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.logger.Debug("write response", "request_id", requestID(r.Context()), "err", err)
	}
}

// formatBytes renders n as a short human size (16 MiB, 512 KiB, 100 B).
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
