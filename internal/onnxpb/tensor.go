package onnxpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrDataType is wrapped by the errors of the typed accessors when the
// tensor's data type cannot be read as the requested Go type.
var ErrDataType = errors.New("unsupported tensor data type")

// ErrShape is wrapped by the errors of the typed accessors when a tensor's
// dims are negative, overflow int, or do not match the amount of data.
var ErrShape = errors.New("tensor data does not match its dims")

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

func float32frombits(v uint32) float32 { return math.Float32frombits(v) }
func float64frombits(v uint64) float64 { return math.Float64frombits(v) }

// rawSize returns the size in bytes of one element of data type dt in
// raw_data, or 0 when dt cannot be stored there.
func rawSize(dt int32) int {
	switch dt {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Int64, Double, Uint64:
		return 8
	}
	return 0
}

// typedLen returns the number of values in the typed field that the .proto
// assigns to data type dt, and false when dt has no such field here.
func (t *Tensor) typedLen() (int, bool) {
	switch t.DataType {
	case Float:
		return len(t.FloatData), true
	case Int32, Int16, Int8, Uint16, Uint8, Bool, Float16, BFloat16:
		return len(t.Int32Data), true
	case Int64:
		return len(t.Int64Data), true
	case Double:
		return len(t.DoubleData), true
	case Uint32, Uint64:
		return len(t.Uint64Data), true
	case String:
		return len(t.StringData), true
	}
	return 0, false
}

func (t *Tensor) errorf(format string, args ...any) error {
	return fmt.Errorf("onnxpb: tensor %q: "+format, append([]any{t.Name}, args...)...)
}

// NumElements returns the number of elements given by t.Dims (1 for a
// scalar with no dims). Returns an error wrapping ErrShape when a dim is
// negative, the product overflows int, or the data held by the tensor
// (RawData when non-nil, otherwise the typed field its data type uses) has
// a different number of elements, and one wrapping ErrDataType for a data
// type it cannot size.
func (t *Tensor) NumElements() (int, error) {
	n := 1
	zero := false
	for _, d := range t.Dims {
		if d < 0 {
			return 0, t.errorf("negative dim in %v: %w", t.Dims, ErrShape)
		}
		if d == 0 {
			zero = true
		}
	}
	if zero {
		n = 0
	} else {
		for _, d := range t.Dims {
			if d > math.MaxInt/int64(n) {
				return 0, t.errorf("dims %v overflow: %w", t.Dims, ErrShape)
			}
			n *= int(d)
		}
	}
	var have int
	if t.RawData != nil {
		size := rawSize(t.DataType)
		if size == 0 {
			return 0, t.errorf("data type %d in raw_data: %w", t.DataType, ErrDataType)
		}
		if len(t.RawData)%size != 0 {
			return 0, t.errorf("raw_data length %d is not a multiple of %d: %w", len(t.RawData), size, ErrShape)
		}
		have = len(t.RawData) / size
	} else {
		var ok bool
		if have, ok = t.typedLen(); !ok {
			return 0, t.errorf("data type %d: %w", t.DataType, ErrDataType)
		}
	}
	if have != n {
		return 0, t.errorf("dims %v hold %d elements but the data holds %d: %w", t.Dims, n, have, ErrShape)
	}
	return n, nil
}

// Float32s returns the values of a float, float16, bfloat16 or double
// tensor as float32: float16 and bfloat16 are widened exactly, double is
// rounded to the nearest float32. When the values are stored in FloatData
// the returned slice is FloatData itself; otherwise it is newly allocated.
//
// Returns an error wrapping ErrDataType for any other data type, and the
// errors of NumElements.
func (t *Tensor) Float32s() ([]float32, error) {
	switch t.DataType {
	case Float, Float16, BFloat16, Double:
	default:
		return nil, t.errorf("data type %d is not a floating-point type: %w", t.DataType, ErrDataType)
	}
	n, err := t.NumElements()
	if err != nil {
		return nil, err
	}
	raw := t.RawData
	if raw == nil && t.DataType == Float {
		return t.FloatData, nil
	}
	out := make([]float32, n)
	switch t.DataType {
	case Float:
		for i := range out {
			out[i] = math.Float32frombits(le32(raw[4*i:]))
		}
	case Float16, BFloat16:
		conv := Float16ToFloat32
		if t.DataType == BFloat16 {
			conv = BFloat16ToFloat32
		}
		if raw != nil {
			for i := range out {
				out[i] = conv(le16(raw[2*i:]))
			}
		} else {
			for i, v := range t.Int32Data {
				out[i] = conv(uint16(v))
			}
		}
	case Double:
		if raw != nil {
			for i := range out {
				out[i] = float32(math.Float64frombits(le64(raw[8*i:])))
			}
		} else {
			for i, v := range t.DoubleData {
				out[i] = float32(v)
			}
		}
	}
	return out, nil
}

// Int64s returns the values of an int64, int32, int16, int8, uint8,
// uint16, uint32, uint64 or bool tensor as int64 (bool as 0 or 1). Values
// kept in Int32Data or Uint64Data are truncated to the width of the data
// type, as a C++ reader would. When the values are stored in Int64Data the
// returned slice is Int64Data itself; otherwise it is newly allocated.
//
// Returns an error wrapping ErrDataType for any other data type or for a
// uint64 value above math.MaxInt64, and the errors of NumElements.
func (t *Tensor) Int64s() ([]int64, error) {
	switch t.DataType {
	case Int64, Int32, Int16, Int8, Uint8, Uint16, Uint32, Uint64, Bool:
	default:
		return nil, t.errorf("data type %d is not an integer type: %w", t.DataType, ErrDataType)
	}
	n, err := t.NumElements()
	if err != nil {
		return nil, err
	}
	raw := t.RawData
	if raw == nil && t.DataType == Int64 {
		return t.Int64Data, nil
	}
	out := make([]int64, n)
	if raw != nil {
		for i := range out {
			switch t.DataType {
			case Int64:
				out[i] = int64(le64(raw[8*i:]))
			case Int32:
				out[i] = int64(int32(le32(raw[4*i:])))
			case Uint32:
				out[i] = int64(le32(raw[4*i:]))
			case Int16:
				out[i] = int64(int16(le16(raw[2*i:])))
			case Uint16:
				out[i] = int64(le16(raw[2*i:]))
			case Int8:
				out[i] = int64(int8(raw[i]))
			case Uint8:
				out[i] = int64(raw[i])
			case Bool:
				out[i] = b2i(raw[i] != 0)
			case Uint64:
				v := le64(raw[8*i:])
				if v > math.MaxInt64 {
					return nil, t.errorf("uint64 value %d overflows int64: %w", v, ErrDataType)
				}
				out[i] = int64(v)
			}
		}
		return out, nil
	}
	switch t.DataType {
	case Uint32, Uint64:
		for i, v := range t.Uint64Data {
			if t.DataType == Uint32 {
				v = uint64(uint32(v))
			}
			if v > math.MaxInt64 {
				return nil, t.errorf("uint64 value %d overflows int64: %w", v, ErrDataType)
			}
			out[i] = int64(v)
		}
	default:
		for i, v := range t.Int32Data {
			switch t.DataType {
			case Int32:
				out[i] = int64(v)
			case Int16:
				out[i] = int64(int16(v))
			case Uint16:
				out[i] = int64(uint16(v))
			case Int8:
				out[i] = int64(int8(v))
			case Uint8:
				out[i] = int64(uint8(v))
			case Bool:
				out[i] = b2i(v != 0)
			}
		}
	}
	return out, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Float16ToFloat32 returns the IEEE 754 binary16 value with bits h as a
// float32. Every binary16 value, subnormals included, is exactly
// representable; infinities keep their sign and NaNs keep their payload.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch exp {
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: man·2⁻²⁴. Normalize so the leading one becomes the
		// implicit bit of a float32.
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// Float32ToFloat16 returns the bits of the IEEE 754 binary16 value nearest
// to f, ties to even. Values beyond the binary16 range become infinities,
// values below half its smallest subnormal become signed zeros, and NaNs
// stay (quiet) NaNs.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>13)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// The result is a binary16 subnormal (or zero): the significand
		// with its implicit bit, shifted to units of 2⁻²⁴.
		shift := uint32(14 - e)
		if shift > 24 {
			return sign
		}
		full := man | 0x800000
		h := full >> shift
		rem := full & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++ // may carry into the smallest normal, which is correct
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to infinity, which is correct
	}
	return sign | uint16(h)
}

// BFloat16ToFloat32 returns the bfloat16 value with bits h as a float32;
// the conversion is exact.
func BFloat16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}
