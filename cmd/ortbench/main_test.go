//go:build ort

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/ortrun"
)

var finalLine = regexp.MustCompile(`^ms_per_image=[0-9.]+ images_per_second=[0-9.]+ peak_rss_mb=[1-9][0-9]*$`)

func TestRun(t *testing.T) {
	if _, err := ortrun.FindLibrary(os.Getenv("ORT_LIB")); err != nil {
		t.Skipf("ONNX Runtime library not available (set ORT_LIB or run scripts/install-ort.sh): %v", err)
	}
	model := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := modelgen.WriteFiles(model, modelgen.Options{Variant: modelgen.VariantV1BNOpset13, Width: 0.125, InputSize: 64}); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-model", model, "-bench", "2", "-batch", "3", "-threads", "1"}, os.Getenv("ORT_LIB"), &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !finalLine.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, finalLine)
	}
	if !strings.Contains(out.String(), "[3 3 64 64]") {
		t.Errorf("output %q does not report the input shape [3 3 64 64]", out.String())
	}
}

func TestRunBadArgs(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(garbage, []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		code int
	}{
		{"no model", nil, 2},
		{"zero batch", []string{"-model", garbage, "-batch", "0"}, 2},
		{"extra", []string{"-model", garbage, "x"}, 2},
		{"garbage model", []string{"-model", garbage, "-lib", "/nonexistent/libonnxruntime.so"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tc.args, "", &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
		})
	}
}

func TestPeakRSS(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status")
	}
	if mb := peakRSSMiB(); mb < 1 {
		t.Errorf("peakRSSMiB() = %d, want a positive figure", mb)
	}
}
