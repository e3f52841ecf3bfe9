package dataset

import (
	"errors"
	"fmt"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Example is one labeled image of an upload.
type Example struct {
	// Label is the class name: the multipart field name or the archive
	// folder name.
	Label string
	// Name identifies the file in error messages: the multipart file name
	// or the path inside the archive.
	Name string
	// Data holds the encoded image bytes.
	Data []byte
}

// Errors returned by Validate and ValidateLabels.
var (
	// ErrNoExamples is returned when an upload holds no image at all.
	ErrNoExamples = errors.New("dataset: no images in upload")
	// ErrTooFewClasses is returned when fewer than two classes are present.
	ErrTooFewClasses = errors.New("dataset: at least 2 classes are needed")
	// ErrBadLabel is returned for an empty or unreasonable class name.
	ErrBadLabel = errors.New("dataset: invalid label")
)

// MaxLabelLen is the longest accepted label, in runes.
const MaxLabelLen = 64

// ValidateLabel reports whether label is an acceptable class name: 1 to
// MaxLabelLen runes of letters, digits, spaces and the punctuation
// "_-.+()'&,", starting with a letter or digit and not ending in a space.
// It returns an error wrapping ErrBadLabel otherwise.
func ValidateLabel(label string) error {
	if label == "" {
		return fmt.Errorf("%w: empty label", ErrBadLabel)
	}
	if !utf8.ValidString(label) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadLabel, label)
	}
	if n := utf8.RuneCountInString(label); n > MaxLabelLen {
		return fmt.Errorf("%w: %q is longer than %d characters", ErrBadLabel, label, MaxLabelLen)
	}
	for i, r := range label {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r):
		case i == 0:
			return fmt.Errorf("%w: %q must start with a letter or digit", ErrBadLabel, label)
		case r == ' ' || r == '_' || r == '-' || r == '.' || r == '+' ||
			r == '(' || r == ')' || r == '\'' || r == '&' || r == ',':
		default:
			return fmt.Errorf("%w: %q contains %q", ErrBadLabel, label, r)
		}
	}
	if label[len(label)-1] == ' ' {
		return fmt.Errorf("%w: %q ends with a space", ErrBadLabel, label)
	}
	return nil
}

// ValidateLabels checks that examples is not empty and that every label is
// acceptable (see ValidateLabel). It does not count classes, so it suits an
// upload that will be merged with a stored dataset. It returns an error
// wrapping ErrNoExamples or ErrBadLabel; a bad label is named with the file
// that carries it.
func ValidateLabels(examples []Example) error {
	if len(examples) == 0 {
		return ErrNoExamples
	}
	seen := make(map[string]bool)
	for _, e := range examples {
		if seen[e.Label] {
			continue
		}
		if err := ValidateLabel(e.Label); err != nil {
			return fmt.Errorf("file %q: %w", e.Name, err)
		}
		seen[e.Label] = true
	}
	return nil
}

// Validate checks examples as a complete training set: ValidateLabels, then
// at least two distinct classes. It returns an error wrapping ErrNoExamples,
// ErrBadLabel or ErrTooFewClasses.
func Validate(examples []Example) error {
	if err := ValidateLabels(examples); err != nil {
		return err
	}
	if c := Classes(examples); len(c) < 2 {
		return fmt.Errorf("%w, got %d (%v)", ErrTooFewClasses, len(c), Labels(c))
	}
	return nil
}

// Classes returns the number of examples per label.
func Classes(examples []Example) map[string]int {
	c := make(map[string]int)
	for _, e := range examples {
		c[e.Label]++
	}
	return c
}

// Labels returns the keys of a class count map in sorted order.
func Labels(classes map[string]int) []string {
	out := make([]string, 0, len(classes))
	for l := range classes {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}
