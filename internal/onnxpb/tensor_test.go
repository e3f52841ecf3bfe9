package onnxpb

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// refFloat16 is the textbook definition of a binary16 value, computed in
// float64: (-1)^s · 2^(e-15) · 1.m for normals, 2^-14 · 0.m for
// subnormals.
func refFloat16(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0x1f:
		if m == 0 {
			return math.Inf(int(s))
		}
		return math.NaN()
	case 0:
		return s * math.Ldexp(m/1024, -14)
	}
	return s * math.Ldexp(1+m/1024, e-15)
}

func TestFloat16ToFloat32Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := Float16ToFloat32(h)
		want := refFloat16(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("Float16ToFloat32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestFloat32ToFloat16RoundTrip(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		f := Float16ToFloat32(h)
		got := Float32ToFloat16(f)
		if math.IsNaN(float64(f)) {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x became %#04x", h, got)
			}
			continue
		}
		if got != h {
			t.Fatalf("Float32ToFloat16(Float16ToFloat32(%#04x)) = %#04x", h, got)
		}
	}
}

// TestFloat32ToFloat16Rounding checks round-to-nearest-even at every
// midpoint between adjacent finite binary16 values (exact in float32), and
// one float32 ulp either side of it.
func TestFloat32ToFloat16Rounding(t *testing.T) {
	for _, sign := range []uint16{0, 0x8000} {
		for h := uint16(0); h < 0x7bff; h++ {
			lo, hi := sign|h, sign|(h+1)
			a, b := float64(Float16ToFloat32(lo)), float64(Float16ToFloat32(hi))
			mid := float32((a + b) / 2)
			if float64(mid) != (a+b)/2 {
				t.Fatalf("midpoint of %#04x and %#04x not exact in float32", lo, hi)
			}
			even := lo
			if lo&1 == 1 {
				even = hi
			}
			if got := Float32ToFloat16(mid); got != even {
				t.Fatalf("tie %v between %#04x and %#04x: got %#04x, want %#04x", mid, lo, hi, got, even)
			}
			toward := float32(math.Inf(1))
			if sign != 0 {
				toward = float32(math.Inf(-1))
			}
			if got := Float32ToFloat16(math.Nextafter32(mid, toward)); got != hi {
				t.Fatalf("just beyond %v: got %#04x, want %#04x", mid, got, hi)
			}
			if got := Float32ToFloat16(math.Nextafter32(mid, 0)); got != lo {
				t.Fatalf("just below %v: got %#04x, want %#04x", mid, got, lo)
			}
		}
	}
}

func TestFloat32ToFloat16Special(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"max", 65504, 0x7bff},
		{"rounds to max", 65519.99, 0x7bff},
		{"rounds to inf", 65520, 0x7c00},
		{"overflow", 1e10, 0x7c00},
		{"-overflow", -1e10, 0xfc00},
		{"+inf", float32(math.Inf(1)), 0x7c00},
		{"-inf", float32(math.Inf(-1)), 0xfc00},
		{"-0", float32(math.Copysign(0, -1)), 0x8000},
		{"smallest subnormal", float32(math.Ldexp(1, -24)), 0x0001},
		{"half smallest subnormal ties to zero", float32(math.Ldexp(1, -25)), 0x0000},
		{"above half smallest subnormal", math.Nextafter32(float32(math.Ldexp(1, -25)), 1), 0x0001},
		{"float32 subnormal", math.SmallestNonzeroFloat32, 0x0000},
		{"largest subnormal to smallest normal", float32(math.Ldexp(1023.5, -24)), 0x0400},
		{"0.1", 0.1, 0x2e66},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Float32ToFloat16(tt.in); got != tt.want {
				t.Fatalf("Float32ToFloat16(%v) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
	if got := Float32ToFloat16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Fatalf("NaN became %#04x", got)
	}
}

func TestBFloat16ToFloat32(t *testing.T) {
	tests := []struct {
		in   uint16
		want float32
	}{
		{0x3f80, 1},
		{0xc000, -2},
		{0x4049, 3.140625},
		{0x7f80, float32(math.Inf(1))},
		{0x0001, float32(math.Float32frombits(0x00010000))},
	}
	for _, tt := range tests {
		if got := BFloat16ToFloat32(tt.in); got != tt.want {
			t.Errorf("BFloat16ToFloat32(%#04x) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := BFloat16ToFloat32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("BFloat16ToFloat32(0x7fc0) = %v, want NaN", got)
	}
}

func le(order int, vals ...uint64) []byte {
	b := make([]byte, 0, order*len(vals))
	for _, v := range vals {
		switch order {
		case 1:
			b = append(b, byte(v))
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case 8:
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return b
}

func TestFloat32s(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want []float32
		err  error
	}{
		{"float_data", Tensor{Dims: []int64{2}, DataType: Float, FloatData: []float32{1, -2}}, []float32{1, -2}, nil},
		{"float raw", Tensor{Dims: []int64{1, 2}, DataType: Float, RawData: le(4, uint64(math.Float32bits(3)), uint64(math.Float32bits(-0.5)))}, []float32{3, -0.5}, nil},
		{"float scalar", Tensor{DataType: Float, FloatData: []float32{7}}, []float32{7}, nil},
		{"float empty", Tensor{Dims: []int64{0, 5}, DataType: Float}, []float32{}, nil},
		{"float16 raw", Tensor{Dims: []int64{3}, DataType: Float16, RawData: le(2, 0x3c00, 0xc000, 0x0001)}, []float32{1, -2, float32(math.Ldexp(1, -24))}, nil},
		{"float16 int32_data", Tensor{Dims: []int64{2}, DataType: Float16, Int32Data: []int32{0x3800, 0x7bff}}, []float32{0.5, 65504}, nil},
		{"bfloat16 raw", Tensor{Dims: []int64{2}, DataType: BFloat16, RawData: le(2, 0x3f80, 0xc040)}, []float32{1, -3}, nil},
		{"bfloat16 int32_data", Tensor{Dims: []int64{1}, DataType: BFloat16, Int32Data: []int32{0x4049}}, []float32{3.140625}, nil},
		{"double_data", Tensor{Dims: []int64{2}, DataType: Double, DoubleData: []float64{0.1, -1e300}}, []float32{0.1, float32(math.Inf(-1))}, nil},
		{"double raw", Tensor{Dims: []int64{1}, DataType: Double, RawData: le(8, math.Float64bits(2.5))}, []float32{2.5}, nil},
		{"int type", Tensor{Dims: []int64{1}, DataType: Int64, Int64Data: []int64{1}}, nil, ErrDataType},
		{"too few values", Tensor{Dims: []int64{3}, DataType: Float, FloatData: []float32{1, 2}}, nil, ErrShape},
		{"no data", Tensor{Dims: []int64{3}, DataType: Float}, nil, ErrShape},
		{"raw not a multiple", Tensor{Dims: []int64{1}, DataType: Float, RawData: []byte{1, 2, 3}}, nil, ErrShape},
		{"raw too long", Tensor{Dims: []int64{1}, DataType: Float16, RawData: le(2, 1, 2)}, nil, ErrShape},
		{"negative dim", Tensor{Dims: []int64{-1}, DataType: Float}, nil, ErrShape},
		{"overflowing dims", Tensor{Dims: []int64{1 << 40, 1 << 40}, DataType: Float}, nil, ErrShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.t.Float32s()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(tt.want, got); d != "" {
				t.Fatalf("got %v, want %v: %s", got, tt.want, d)
			}
		})
	}
}

func TestInt64s(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want []int64
		err  error
	}{
		{"int64_data", Tensor{Dims: []int64{2}, DataType: Int64, Int64Data: []int64{-1, math.MaxInt64}}, []int64{-1, math.MaxInt64}, nil},
		{"int64 raw", Tensor{Dims: []int64{2}, DataType: Int64, RawData: le(8, math.MaxUint64, 5)}, []int64{-1, 5}, nil},
		{"int32 raw", Tensor{Dims: []int64{2}, DataType: Int32, RawData: le(4, 0xffffffff, 7)}, []int64{-1, 7}, nil},
		{"int32_data", Tensor{Dims: []int64{2}, DataType: Int32, Int32Data: []int32{math.MinInt32, 3}}, []int64{math.MinInt32, 3}, nil},
		{"int16 raw", Tensor{Dims: []int64{2}, DataType: Int16, RawData: le(2, 0x8000, 1)}, []int64{-32768, 1}, nil},
		{"int16 int32_data", Tensor{Dims: []int64{1}, DataType: Int16, Int32Data: []int32{-5}}, []int64{-5}, nil},
		{"uint16 raw", Tensor{Dims: []int64{1}, DataType: Uint16, RawData: le(2, 0xffff)}, []int64{65535}, nil},
		{"uint16 int32_data", Tensor{Dims: []int64{1}, DataType: Uint16, Int32Data: []int32{65535}}, []int64{65535}, nil},
		{"int8 raw", Tensor{Dims: []int64{3}, DataType: Int8, RawData: []byte{0xff, 0x80, 0x7f}}, []int64{-1, -128, 127}, nil},
		{"int8 int32_data", Tensor{Dims: []int64{1}, DataType: Int8, Int32Data: []int32{-128}}, []int64{-128}, nil},
		{"uint8 raw", Tensor{Dims: []int64{2}, DataType: Uint8, RawData: []byte{0xff, 0}}, []int64{255, 0}, nil},
		{"uint8 int32_data", Tensor{Dims: []int64{1}, DataType: Uint8, Int32Data: []int32{200}}, []int64{200}, nil},
		{"uint32 raw", Tensor{Dims: []int64{1}, DataType: Uint32, RawData: le(4, 0xffffffff)}, []int64{0xffffffff}, nil},
		{"uint32 uint64_data", Tensor{Dims: []int64{1}, DataType: Uint32, Uint64Data: []uint64{0xffffffff}}, []int64{0xffffffff}, nil},
		{"uint64 uint64_data", Tensor{Dims: []int64{1}, DataType: Uint64, Uint64Data: []uint64{1 << 62}}, []int64{1 << 62}, nil},
		{"uint64 overflow", Tensor{Dims: []int64{1}, DataType: Uint64, Uint64Data: []uint64{1 << 63}}, nil, ErrDataType},
		{"uint64 raw overflow", Tensor{Dims: []int64{1}, DataType: Uint64, RawData: le(8, 1<<63)}, nil, ErrDataType},
		{"bool raw", Tensor{Dims: []int64{3}, DataType: Bool, RawData: []byte{1, 0, 2}}, []int64{1, 0, 1}, nil},
		{"bool int32_data", Tensor{Dims: []int64{2}, DataType: Bool, Int32Data: []int32{0, 1}}, []int64{0, 1}, nil},
		{"scalar", Tensor{DataType: Int64, Int64Data: []int64{9}}, []int64{9}, nil},
		{"float type", Tensor{Dims: []int64{1}, DataType: Float, FloatData: []float32{1}}, nil, ErrDataType},
		{"string type", Tensor{Dims: []int64{1}, DataType: String, StringData: [][]byte{{'a'}}}, nil, ErrDataType},
		{"mismatch", Tensor{Dims: []int64{2, 2}, DataType: Int64, Int64Data: []int64{1, 2, 3}}, nil, ErrShape},
		{"raw mismatch", Tensor{Dims: []int64{2}, DataType: Int32, RawData: le(4, 1)}, nil, ErrShape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.t.Int64s()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(tt.want, got); d != "" {
				t.Fatalf("got %v, want %v: %s", got, tt.want, d)
			}
		})
	}
}

func TestNumElements(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		want int
		err  error
	}{
		{"scalar", Tensor{DataType: Float, FloatData: []float32{1}}, 1, nil},
		{"matrix", Tensor{Dims: []int64{2, 3}, DataType: Int32, Int32Data: make([]int32, 6)}, 6, nil},
		{"zero dim with huge others", Tensor{Dims: []int64{1 << 62, 0, 1 << 62}, DataType: Float}, 0, nil},
		{"strings", Tensor{Dims: []int64{2}, DataType: String, StringData: [][]byte{{}, {}}}, 2, nil},
		{"raw uint8", Tensor{Dims: []int64{4}, DataType: Uint8, RawData: make([]byte, 4)}, 4, nil},
		{"scalar without data", Tensor{DataType: Float}, 0, ErrShape},
		{"overflow", Tensor{Dims: []int64{math.MaxInt64, 2}, DataType: Float}, 0, ErrShape},
		{"negative", Tensor{Dims: []int64{2, -3}, DataType: Float}, 0, ErrShape},
		{"undefined type", Tensor{Dims: []int64{1}}, 0, ErrDataType},
		{"string in raw_data", Tensor{Dims: []int64{1}, DataType: String, RawData: []byte{1}}, 0, ErrDataType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.t.NumElements()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NumElements() = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// TestFloat32sAliasesFloatData documents that no copy is made when the
// values are already float32.
func TestFloat32sAliasesFloatData(t *testing.T) {
	x := &Tensor{Dims: []int64{1}, DataType: Float, FloatData: []float32{1}}
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	v[0] = 2
	if x.FloatData[0] != 2 {
		t.Fatal("Float32s copied FloatData")
	}
}
