package onnxmodel

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by Load or Parse wraps
// ErrInvalidModel; errors about valid ONNX that tlserve does not run (an
// operator, an opset version, a 3-D convolution) wrap ErrUnsupported as
// well, so callers can tell "broken file" from "not supported yet".
var (
	// ErrInvalidModel reports a model that cannot be loaded.
	ErrInvalidModel = errors.New("invalid model")
	// ErrUnsupported reports valid ONNX that tlserve does not run.
	ErrUnsupported = errors.New("unsupported")
	// ErrBadInput reports run-time input of the wrong name, shape or size.
	ErrBadInput = errors.New("bad input")
	// ErrClosed reports a call on a closed Model.
	ErrClosed = errors.New("model closed")
)

// invalidf returns an error wrapping ErrInvalidModel.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidModel, fmt.Sprintf(format, args...))
}

// notSupportedf returns an error wrapping both ErrInvalidModel and
// ErrUnsupported.
func notSupportedf(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrInvalidModel, ErrUnsupported, fmt.Sprintf(format, args...))
}

// badInputf returns an error wrapping ErrBadInput.
func badInputf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadInput, fmt.Sprintf(format, args...))
}
