package npy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the Go-written golden files in testdata")

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadNumpyFiles reads files written by numpy (testdata/gen.py).
func TestReadNumpyFiles(t *testing.T) {
	tests := []struct {
		file  string
		shape []int
		f32   []float32
		i64   []int64
	}{
		{"f4_2x3.npy", []int{2, 3}, []float32{1.5, -2, 3.25, 0, float32(math.Copysign(0, -1)), 1e-3}, nil},
		{"f2_4.npy", []int{4}, []float32{1, -2, 65504, float32(math.Ldexp(1, -24))}, nil}, // 6e-8 rounds to the smallest subnormal
		{"f8_3.npy", []int{3}, []float32{0.1, float32(math.Inf(-1)), 2.5}, nil},
		{"i8_2x2.npy", []int{2, 2}, nil, []int64{-1, 1 << 40, 3, -(1 << 62)}},
		{"i4_3.npy", []int{3}, nil, []int64{-7, 0, math.MaxInt32}},
		{"u1_3.npy", []int{3}, nil, []int64{0, 128, 255}},
		{"f4_scalar.npy", []int{}, []float32{42}, nil},
		{"f4_0x3.npy", []int{0, 3}, []float32{}, nil},
		{"f4_v2.npy", []int{5}, []float32{0, 1, 2, 3, 4}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := Read(bytes.NewReader(readFile(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(a.Shape, tt.shape) {
				t.Errorf("shape %v, want %v", a.Shape, tt.shape)
			}
			if (a.F32 == nil) == (a.I64 == nil) {
				t.Fatalf("exactly one of F32 (%v) and I64 (%v) must be set", a.F32, a.I64)
			}
			if tt.f32 != nil && !equalBits(a.F32, tt.f32) {
				t.Errorf("F32 %v, want %v", a.F32, tt.f32)
			}
			if tt.i64 != nil && !equal(a.I64, tt.i64) {
				t.Errorf("I64 %v, want %v", a.I64, tt.i64)
			}
		})
	}
}

// TestWriteMatchesNumpy checks that the writers produce numpy.save's bytes.
func TestWriteMatchesNumpy(t *testing.T) {
	tests := []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"f4_2x3.npy", func(b *bytes.Buffer) error {
			return WriteFloat32(b, []int{2, 3}, []float32{1.5, -2, 3.25, 0, float32(math.Copysign(0, -1)), 1e-3})
		}},
		{"f4_scalar.npy", func(b *bytes.Buffer) error { return WriteFloat32(b, nil, []float32{42}) }},
		{"f4_0x3.npy", func(b *bytes.Buffer) error { return WriteFloat32(b, []int{0, 3}, nil) }},
		{"i8_2x2.npy", func(b *bytes.Buffer) error {
			return WriteInt64(b, []int{2, 2}, []int64{-1, 1 << 40, 3, -(1 << 62)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			if want := readFile(t, tt.file); !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("got\n%q\nwant\n%q", b.Bytes(), want)
			}
		})
	}
}

// TestWriteLarge writes an array bigger than the internal chunk and a
// header too long for format 1.0, and reads both back.
func TestWriteLarge(t *testing.T) {
	data := make([]float32, chunk/4*2+3)
	for i := range data {
		data[i] = float32(i)
	}
	var b bytes.Buffer
	if err := WriteFloat32(&b, []int{len(data)}, data); err != nil {
		t.Fatal(err)
	}
	a, err := Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !equalBits(a.F32, data) {
		t.Fatal("large array differs after round trip")
	}

	// 30000 dimensions of size 1 need a header over 64 KiB.
	shape := make([]int, 30000)
	for i := range shape {
		shape[i] = 1
	}
	b.Reset()
	if err := WriteInt64(&b, shape, []int64{-5}); err != nil {
		t.Fatal(err)
	}
	if v := b.Bytes()[6]; v != 2 {
		t.Fatalf("format version %d, want 2", v)
	}
	if hl := binary.LittleEndian.Uint32(b.Bytes()[8:]); (12+int(hl))%64 != 0 {
		t.Fatalf("data offset %d not aligned to 64", 12+hl)
	}
	a, err = Read(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Shape) != len(shape) || !equal(a.I64, []int64{-5}) {
		t.Fatalf("got %d dims and %v", len(a.Shape), a.I64)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name  string
		shape []int
		n     int
	}{
		{"too few", []int{2, 2}, 3},
		{"too many", []int{2}, 3},
		{"negative", []int{-1, -2}, 2},
		{"scalar without data", nil, 0},
		{"overflow", []int{math.MaxInt, 3}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteFloat32(&b, tt.shape, make([]float32, tt.n)); !errors.Is(err, ErrShape) {
				t.Errorf("WriteFloat32: error %v, want ErrShape", err)
			}
			if err := WriteInt64(&b, tt.shape, make([]int64, tt.n)); !errors.Is(err, ErrShape) {
				t.Errorf("WriteInt64: error %v, want ErrShape", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", b.Len())
			}
		})
	}
}

// v1 builds a version 1.0 file with the given header dict and data.
func v1(dict string, data ...byte) []byte {
	b := []byte(magic + "\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+1))
	b = append(b, dict...)
	b = append(b, '\n')
	return append(b, data...)
}

func TestReadErrors(t *testing.T) {
	f4 := func(shape string) string {
		return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	}
	bigLen := []byte(magic + "\x02\x00")
	bigLen = binary.LittleEndian.AppendUint32(bigLen, 1<<30)
	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrFormat, "reading magic"},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), ErrFormat, "bad magic"},
		{"version 9", []byte(magic + "\x09\x00\x00\x00"), ErrUnsupported, "version 9.0"},
		{"truncated length", []byte(magic + "\x01\x00\x05"), ErrFormat, "header length"},
		{"truncated header", []byte(magic + "\x01\x00\x50\x00{'descr'"), ErrFormat, "80-byte header"},
		{"huge header length", bigLen, ErrFormat, "exceeds"},
		{"not a dict", v1("[1, 2]"), ErrFormat, "no opening brace"},
		{"unquoted key", v1("{descr: '<f4'}"), ErrFormat, "quoted key"},
		{"missing colon", v1("{'descr' '<f4'}"), ErrFormat, "expected ':'"},
		{"missing shape", v1("{'descr': '<f4', 'fortran_order': False}"), ErrFormat, `missing key "shape"`},
		{"unknown key", v1(f4("(1,)")[:len(f4("(1,)"))-1] + "'x': 1}"), ErrFormat, `unexpected key "x"`},
		{"bad bool", v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}"), ErrFormat, "True or False"},
		{"negative dim", v1(f4("(-1,)")), ErrFormat, "tuple"},
		{"float dim", v1(f4("(1.5,)")), ErrFormat, "tuple"},
		{"unclosed tuple", v1(f4("(1, 2")), ErrFormat, "tuple"},
		{"trailing garbage", v1(f4("(1,)") + "x"), ErrFormat, "trailing"},
		{"unterminated string", v1("{'descr: 1}"), ErrFormat, "quoted key"},
		{"shape overflow", v1(f4("(4611686018427387904, 4)")), ErrFormat, "overflows"},
		{"short data", v1(f4("(1000000000,)"), 1, 2, 3, 4), ErrFormat, "after 0 of 1000000000 elements"},
		{"partial element", v1(f4("(2,)"), 0, 0, 0x80, 0x3f, 1), ErrFormat, "data ends"},
		{"fortran", readFileB(t, "fortran.npy"), ErrUnsupported, "fortran_order"},
		{"big-endian", readFileB(t, "bigendian.npy"), ErrUnsupported, "big-endian"},
		{"complex", v1("{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}"), ErrUnsupported, `dtype "<c8"`},
		{"object", v1("{'descr': '|O', 'fortran_order': False, 'shape': (1,)}"), ErrUnsupported, `dtype "|O"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Read(bytes.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Read succeeded: %+v", a)
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q, want one wrapping %v containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func readFileB(t *testing.T, name string) []byte {
	t.Helper()
	return readFile(t, name)
}

// TestRoundTrip writes and reads back arrays of several shapes, and keeps
// one Go-written file as a golden (regenerated with -update).
func TestRoundTrip(t *testing.T) {
	shapes := [][]int{{}, {1}, {7}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		f := make([]float32, n)
		i := make([]int64, n)
		for k := range n {
			f[k] = float32(k)*0.25 - 1
			i[k] = int64(k)*int64(math.MaxInt64/16) - 3
		}
		var b bytes.Buffer
		if err := WriteFloat32(&b, shape, f); err != nil {
			t.Fatal(err)
		}
		if b.Len()%64 != 4*n%64 {
			t.Errorf("shape %v: header not padded to 64 bytes (file %d bytes)", shape, b.Len())
		}
		a, err := Read(&b)
		if err != nil || !equal(a.Shape, shape) || !equalBits(a.F32, f) || a.Descr != "<f4" {
			t.Errorf("float32 %v: got %+v, %v", shape, a, err)
		}
		b.Reset()
		if err := WriteInt64(&b, shape, i); err != nil {
			t.Fatal(err)
		}
		a, err = Read(&b)
		if err != nil || !equal(a.Shape, shape) || !equal(a.I64, i) || a.Descr != "<i8" {
			t.Errorf("int64 %v: got %+v, %v", shape, a, err)
		}
	}

	var b bytes.Buffer
	if err := WriteFloat32(&b, []int{2, 2}, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "go_f4_2x2.npy")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, "go_f4_2x2.npy"); !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("output differs from %s; rerun with -update if intended", golden)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
