package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"-out", dir, "-variant", modelgen.VariantV2Opset7, "-width", "0.125", "-size", "64", "-classes", "10"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	for _, f := range []string{modelgen.VariantV2Opset7 + ".onnx", modelgen.VariantV2Opset7 + ".json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), modelgen.VariantV2Opset7+".onnx") {
		t.Errorf("stdout %q does not name the file", out.String())
	}
}

func TestRunBadArgs(t *testing.T) {
	tests := []struct {
		desc string
		args []string
		code int
	}{
		{"no out", nil, 2},
		{"unknown variant", []string{"-out", t.TempDir(), "-variant", "vgg"}, 2},
		{"extra args", []string{"-out", t.TempDir(), "x"}, 2},
		{"bad flag", []string{"-nope"}, 2},
		{"bad width", []string{"-out", t.TempDir(), "-variant", modelgen.VariantV2Opset7, "-width", "-1"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if errb.Len() == 0 {
				t.Error("no message on stderr")
			}
		})
	}
}

func TestZooFlag(t *testing.T) {
	dir := t.TempDir()
	var out, errs strings.Builder
	if code := run([]string{"-out", dir, "-zoo", "densenet121-opset13"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, f := range []string{"densenet121-opset13.onnx", "densenet121-opset13.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s has mode %v, want group and others to read it", f, st.Mode())
		}
	}
	for _, args := range [][]string{
		{"-out", dir, "-zoo", "nope"},
		{"-out", dir, "-zoo", "all", "-variant", "resnet50-v1-bn-opset13"},
	} {
		if code := run(args, &out, &errs); code == 0 {
			t.Errorf("%v: exit 0, want an error", args)
		}
	}
}
