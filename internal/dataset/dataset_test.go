package dataset

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateLabel(t *testing.T) {
	tests := []struct {
		label string
		ok    bool
	}{
		{"cat", true},
		{"golden retriever", true},
		{"Type-2_b.v1 (old)", true},
		{"chien", true},
		{"Käse", true},
		{"猫", true},
		{"7up", true},
		{"", false},
		{" cat", false},
		{"cat ", false},
		{"-cat", false},
		{".hidden", false},
		{"a/b", false},
		{"a\\b", false},
		{"tab\there", false},
		{"new\nline", false},
		{"semi;colon", false},
		{strings.Repeat("x", MaxLabelLen), true},
		{strings.Repeat("x", MaxLabelLen+1), false},
		{"\xff\xfe", false},
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			err := ValidateLabel(tt.label)
			if tt.ok && err != nil {
				t.Fatalf("ValidateLabel(%q) = %v, want nil", tt.label, err)
			}
			if !tt.ok && !errors.Is(err, ErrBadLabel) {
				t.Fatalf("ValidateLabel(%q) = %v, want ErrBadLabel", tt.label, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ex := func(labels ...string) []Example {
		var out []Example
		for i, l := range labels {
			out = append(out, Example{Label: l, Name: "f" + string(rune('0'+i)) + ".jpg", Data: []byte{1}})
		}
		return out
	}
	tests := []struct {
		name          string
		examples      []Example
		wantErr       error
		wantLabelsErr error
		mention       string
	}{
		{name: "two classes", examples: ex("cat", "dog", "cat")},
		{name: "one class", examples: ex("cat", "cat"), wantErr: ErrTooFewClasses},
		{name: "none", examples: nil, wantErr: ErrNoExamples, wantLabelsErr: ErrNoExamples},
		{name: "bad label named", examples: ex("cat", "dog", "bad/label"), wantErr: ErrBadLabel, wantLabelsErr: ErrBadLabel, mention: "f2.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.examples)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.wantErr)
			}
			if tt.mention != "" && !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.mention)
			}
			err = ValidateLabels(tt.examples)
			if !errors.Is(err, tt.wantLabelsErr) || (tt.wantLabelsErr == nil && err != nil) {
				t.Fatalf("ValidateLabels = %v, want %v", err, tt.wantLabelsErr)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	c := Classes([]Example{{Label: "b"}, {Label: "a"}, {Label: "b"}})
	if c["a"] != 1 || c["b"] != 2 || len(c) != 2 {
		t.Fatalf("Classes = %v", c)
	}
	if l := Labels(c); strings.Join(l, ",") != "a,b" {
		t.Fatalf("Labels = %v", l)
	}
}
