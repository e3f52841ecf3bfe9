package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/tlserve/tlserve/internal/onnxpb"
)

// ErrFormat is wrapped by the errors returned for input that is not a
// well-formed .npy file.
var ErrFormat = errors.New("npy: malformed file")

// ErrUnsupported is wrapped by the errors returned for well-formed files
// this package does not handle: Fortran order, big-endian or other data
// types.
var ErrUnsupported = errors.New("npy: unsupported array")

// ErrShape is wrapped by the errors of the writers when the data length
// does not match the shape, or the shape has a negative dimension.
var ErrShape = errors.New("npy: data does not match shape")

const (
	magic = "\x93NUMPY"
	// maxHeader bounds the header a reader accepts; numpy itself refuses
	// headers above 10000 bytes by default.
	maxHeader = 1 << 20
	// alignment is the multiple numpy pads magic, length and header to.
	alignment = 64
	// chunk is how many bytes of data Read decodes at a time, so that a
	// header claiming a huge shape costs no more memory than the data that
	// actually follows it.
	chunk = 1 << 20
)

// Array is an array read from a .npy file. Exactly one of F32 and I64 is
// non-nil, even for an array with no elements.
type Array struct {
	// Shape is the array's shape; empty for a 0-d (scalar) array.
	Shape []int
	// Descr is the dtype descriptor from the header, such as "<f4".
	Descr string
	// F32 holds the values of a floating-point array in C order: float16
	// is widened exactly, float64 rounded to the nearest float32.
	F32 []float32
	// I64 holds the values of an integer or boolean array in C order.
	I64 []int64
}

// dtype describes how to decode one element of a supported descriptor.
type dtype struct {
	size  int
	float bool
	f     func(b []byte) float32
	i     func(b []byte) int64
}

var dtypes = map[string]dtype{
	"<f2": {size: 2, float: true, f: func(b []byte) float32 { return onnxpb.Float16ToFloat32(binary.LittleEndian.Uint16(b)) }},
	"<f4": {size: 4, float: true, f: func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }},
	"<f8": {size: 8, float: true, f: func(b []byte) float32 { return float32(math.Float64frombits(binary.LittleEndian.Uint64(b))) }},
	"|b1": {size: 1, i: func(b []byte) int64 {
		if b[0] != 0 {
			return 1
		}
		return 0
	}},
	"|i1": {size: 1, i: func(b []byte) int64 { return int64(int8(b[0])) }},
	"|u1": {size: 1, i: func(b []byte) int64 { return int64(b[0]) }},
	"<i2": {size: 2, i: func(b []byte) int64 { return int64(int16(binary.LittleEndian.Uint16(b))) }},
	"<u2": {size: 2, i: func(b []byte) int64 { return int64(binary.LittleEndian.Uint16(b)) }},
	"<i4": {size: 4, i: func(b []byte) int64 { return int64(int32(binary.LittleEndian.Uint32(b))) }},
	"<u4": {size: 4, i: func(b []byte) int64 { return int64(binary.LittleEndian.Uint32(b)) }},
	"<i8": {size: 8, i: func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }},
}

// Read reads one array from r. Bytes after the array's data are not read
// (r is buffered internally, so some may be consumed).
//
// Returns an error wrapping ErrFormat for a malformed file or data shorter
// than the shape requires, and one wrapping ErrUnsupported for Fortran
// order, big-endian data or an unsupported dtype.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if string(pre[:6]) != magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrFormat, pre[:6])
	}
	var hlen int
	switch major := pre[6]; major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("%w: reading header length: %v", ErrFormat, err)
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxHeader {
			return nil, fmt.Errorf("%w: header of %d bytes exceeds %d", ErrFormat, n, maxHeader)
		}
		hlen = int(n)
	default:
		return nil, fmt.Errorf("%w: format version %d.%d", ErrUnsupported, major, pre[7])
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(br, header); err != nil {
		return nil, fmt.Errorf("%w: reading %d-byte header: %v", ErrFormat, hlen, err)
	}
	h, err := parseHeader(string(header))
	if err != nil {
		return nil, err
	}
	if h.fortran {
		return nil, fmt.Errorf("%w: fortran_order arrays are not supported; save with numpy.ascontiguousarray", ErrUnsupported)
	}
	dt, ok := dtypes[h.descr]
	if !ok {
		if len(h.descr) > 0 && h.descr[0] == '>' {
			return nil, fmt.Errorf("%w: big-endian dtype %q; convert with arr.astype(arr.dtype.newbyteorder('<'))", ErrUnsupported, h.descr)
		}
		return nil, fmt.Errorf("%w: dtype %q", ErrUnsupported, h.descr)
	}
	n := 1
	for _, d := range h.shape {
		if d != 0 && n > math.MaxInt/d/dt.size {
			return nil, fmt.Errorf("%w: shape %v overflows", ErrFormat, h.shape)
		}
		n *= d
	}
	a := &Array{Shape: h.shape, Descr: h.descr}
	if dt.float {
		a.F32 = make([]float32, 0, min(n, chunk/4))
	} else {
		a.I64 = make([]int64, 0, min(n, chunk/8))
	}
	buf := make([]byte, min(n*dt.size, chunk))
	for left := n; left > 0; {
		k := min(left, len(buf)/dt.size)
		b := buf[:k*dt.size]
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, fmt.Errorf("%w: data ends after %d of %d elements: %v", ErrFormat, n-left, n, err)
		}
		for i := 0; i < len(b); i += dt.size {
			if dt.float {
				a.F32 = append(a.F32, dt.f(b[i:]))
			} else {
				a.I64 = append(a.I64, dt.i(b[i:]))
			}
		}
		left -= k
	}
	return a, nil
}

type header struct {
	descr   string
	fortran bool
	shape   []int
}

// parseHeader parses the Python dict literal of a .npy header, such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }.
func parseHeader(s string) (header, error) {
	var h header
	p := &parser{s: strings.TrimRight(s, " \n\x00")}
	bad := func(what string) (header, error) {
		return header{}, fmt.Errorf("%w: header %q: %s", ErrFormat, s, what)
	}
	if !p.eat('{') {
		return bad("no opening brace")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, ok := p.str()
		if !ok {
			return bad("expected a quoted key")
		}
		if !p.eat(':') {
			return bad("expected ':' after " + strconv.Quote(key))
		}
		switch key {
		case "descr":
			if h.descr, ok = p.str(); !ok {
				return bad("descr is not a string")
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return bad("fortran_order is not True or False")
			}
		case "shape":
			if h.shape, ok = p.tuple(); !ok {
				return bad("shape is not a tuple of non-negative integers")
			}
		default:
			return bad("unexpected key " + strconv.Quote(key))
		}
		seen[key] = true
		if !p.eat(',') {
			if !p.eat('}') {
				return bad("expected ',' or '}'")
			}
			break
		}
	}
	p.space()
	if p.i != len(p.s) {
		return bad("trailing characters")
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return bad("missing key " + strconv.Quote(k))
		}
	}
	return h, nil
}

// parser scans a Python literal.
type parser struct {
	s string
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// eat consumes c, after optional spaces, and reports whether it was there.
func (p *parser) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) word(w string) bool {
	p.space()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// str consumes a single- or double-quoted string without escapes.
func (p *parser) str() (string, bool) {
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", false
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	if strings.ContainsRune(v, '\\') {
		return "", false
	}
	p.i += end + 2
	return v, true
}

// tuple consumes a tuple of non-negative integers: (), (3,), (2, 3).
// Python 2's long suffix L is accepted.
func (p *parser) tuple() ([]int, bool) {
	if !p.eat('(') {
		return nil, false
	}
	shape := []int{}
	for {
		if p.eat(')') {
			return shape, true
		}
		p.space()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil {
			return nil, false
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		shape = append(shape, d)
		if !p.eat(',') {
			return shape, p.eat(')')
		}
	}
}

// WriteFloat32 writes data, in C order with the given shape, to w as a
// version 1.0 .npy file of dtype <f4 (version 2.0 when the header would
// not fit). An empty shape writes a 0-d array holding data[0].
//
// Returns an error wrapping ErrShape when len(data) is not the product of
// shape or a dimension is negative, and any error from w.
func WriteFloat32(w io.Writer, shape []int, data []float32) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	buf := make([]byte, 0, min(4*len(data), chunk))
	return write(w, "<f4", shape, len(data), func(i int) {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(data[i]))
	}, &buf)
}

// WriteInt64 writes data, in C order with the given shape, to w as a .npy
// file of dtype <i8. Errors are as for WriteFloat32.
func WriteInt64(w io.Writer, shape []int, data []int64) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	buf := make([]byte, 0, min(8*len(data), chunk))
	return write(w, "<i8", shape, len(data), func(i int) {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(data[i]))
	}, &buf)
}

func checkShape(shape []int, n int) error {
	want := 1
	for _, d := range shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension in %v", ErrShape, shape)
		}
		if d != 0 && want > math.MaxInt/d {
			return fmt.Errorf("%w: shape %v overflows", ErrShape, shape)
		}
		want *= d
	}
	if want != n {
		return fmt.Errorf("%w: shape %v holds %d elements, data has %d", ErrShape, shape, want, n)
	}
	return nil
}

// write writes the header and then the n elements appended to *buf by
// put, flushing *buf whenever it nears chunk bytes.
func write(w io.Writer, descr string, shape []int, n int, put func(i int), buf *[]byte) error {
	if _, err := w.Write(encodeHeader(descr, shape)); err != nil {
		return err
	}
	for i := range n {
		put(i)
		if len(*buf) >= chunk-8 {
			if _, err := w.Write(*buf); err != nil {
				return err
			}
			*buf = (*buf)[:0]
		}
	}
	if len(*buf) > 0 {
		if _, err := w.Write(*buf); err != nil {
			return err
		}
	}
	return nil
}

// encodeHeader returns the magic, version, header length and header of a .npy
// file holding a C-order array of the given dtype descriptor and shape,
// laid out as numpy.save does: padded with spaces and a newline so the
// data starts at a multiple of 64 bytes.
func encodeHeader(descr string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(descr)
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, d := range shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(d))
	}
	if len(shape) == 1 {
		sb.WriteByte(',')
	}
	sb.WriteString("), }")
	dict := sb.String()

	version, lenSize := byte(1), 2
	if total := len(magic) + 2 + 2 + len(dict) + 1; total > math.MaxUint16 {
		version, lenSize = 2, 4
	}
	pre := len(magic) + 2 + lenSize
	pad := (alignment - (pre+len(dict)+1)%alignment) % alignment
	hlen := len(dict) + pad + 1
	out := make([]byte, 0, pre+hlen)
	out = append(out, magic...)
	out = append(out, version, 0)
	if lenSize == 2 {
		out = binary.LittleEndian.AppendUint16(out, uint16(hlen))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(hlen))
	}
	out = append(out, dict...)
	out = append(out, strings.Repeat(" ", pad)...)
	return append(out, '\n')
}
