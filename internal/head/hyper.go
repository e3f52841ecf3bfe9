package head

import (
	"errors"
	"fmt"
)

// Errors returned by Train and Hyper.Validate.
var (
	ErrInvalidHyper  = errors.New("head: invalid hyperparameter")
	ErrTooFewClasses = errors.New("head: at least 2 classes with examples are needed")
	ErrNoData        = errors.New("head: no training examples")
	ErrDimMismatch   = errors.New("head: embeddings differ in dimension")
)

// Hyper holds the training hyperparameters. The zero value of a field is not
// a default: start from DefaultHyper.
type Hyper struct {
	Epochs          int     `json:"epochs"`
	LearningRate    float64 `json:"learning_rate"`
	BatchSize       int     `json:"batch_size"`
	ValidationSplit float64 `json:"validation_split"`
	HiddenUnits     int     `json:"hidden_units"`
	Seed            int64   `json:"seed"`
	Patience        int     `json:"patience"`
}

// DefaultHyper returns the defaults documented in the README: 50 epochs of
// Adam at learning rate 0.001 on mini-batches of 16, 20% of each class kept
// for validation, no hidden layer, seed 1, early stopping after 5 epochs
// without a better validation loss.
func DefaultHyper() Hyper {
	return Hyper{Epochs: 50, LearningRate: 0.001, BatchSize: 16, ValidationSplit: 0.2, Seed: 1, Patience: 5}
}

// Validate returns an error wrapping ErrInvalidHyper that names the first
// field out of range.
func (h Hyper) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s = %v, want %s", ErrInvalidHyper, field, v, want)
	}
	switch {
	case h.Epochs < 1 || h.Epochs > 1000:
		return bad("epochs", h.Epochs, "1 to 1000")
	case !(h.LearningRate > 0 && h.LearningRate <= 1):
		return bad("learning_rate", h.LearningRate, "in (0, 1]")
	case h.BatchSize < 1 || h.BatchSize > 4096:
		return bad("batch_size", h.BatchSize, "1 to 4096")
	case !(h.ValidationSplit >= 0 && h.ValidationSplit < 0.9):
		return bad("validation_split", h.ValidationSplit, "in [0, 0.9)")
	case h.HiddenUnits < 0 || h.HiddenUnits > maxHidden:
		return bad("hidden_units", h.HiddenUnits, fmt.Sprintf("0 to %d", maxHidden))
	case h.Patience < 0:
		return bad("patience", h.Patience, "0 or more (0 disables early stopping)")
	}
	return nil
}
