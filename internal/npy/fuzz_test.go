package npy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead checks that Read never panics, fails only with its sentinel
// errors, and that float32 and int64 arrays it reads survive a write and
// read back unchanged.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Read(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v wraps neither ErrFormat nor ErrUnsupported", err)
			}
			return
		}
		n := 1
		for _, d := range a.Shape {
			n *= d
		}
		if len(a.F32)+len(a.I64) != n {
			t.Fatalf("shape %v but %d+%d values", a.Shape, len(a.F32), len(a.I64))
		}
		var buf bytes.Buffer
		switch a.Descr {
		case "<f4":
			if err := WriteFloat32(&buf, a.Shape, a.F32); err != nil {
				t.Fatal(err)
			}
			a2, err := Read(&buf)
			if err != nil || !equal(a2.Shape, a.Shape) || !equalBits(a2.F32, a.F32) {
				t.Fatalf("float32 round trip: %+v, %v", a2, err)
			}
		case "<i8":
			if err := WriteInt64(&buf, a.Shape, a.I64); err != nil {
				t.Fatal(err)
			}
			a2, err := Read(&buf)
			if err != nil || !equal(a2.Shape, a.Shape) || !equal(a2.I64, a.I64) {
				t.Fatalf("int64 round trip: %+v, %v", a2, err)
			}
		}
	})
}
