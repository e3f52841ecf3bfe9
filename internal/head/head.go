package head

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
)

// Head is a trained classifier. Its fields are read-only once trained.
//
// The forward pass is: z = (emb - Mean) / Std; if Hidden > 0,
// h = relu(z·W1 + B1) and logits = h·W2 + B2; otherwise logits = z·W2 + B2;
// probabilities = softmax(logits). W1 is InputDim x Hidden and W2 is
// (Hidden or InputDim) x len(Labels), both row-major.
type Head struct {
	Labels   []string
	InputDim int
	Hidden   int
	Mean     []float32
	Std      []float32
	W1, B1   []float32
	W2, B2   []float32
}

// Limits on a head's dimensions. Embeddings of up to maxDim floats cover
// every ImageNet CNN (VGG's 4096 and EfficientNet-B7's 2560 included).
const (
	maxDim     = 1 << 16
	maxClasses = 1 << 16
	maxHidden  = 1 << 14
)

// stackScratch is the scratch Predict keeps on the stack; larger heads take
// theirs from scratchPool.
const stackScratch = 4096

var scratchPool = sync.Pool{New: func() any { return new([]float32) }}

// Predict writes the class probabilities of one embedding into dst, which
// must hold len(h.Labels) values; emb must hold h.InputDim values (it panics
// otherwise: a programmer error). It is safe for concurrent use and does not
// allocate in steady state.
func (h *Head) Predict(dst, emb []float32) {
	if len(emb) != h.InputDim || len(dst) != len(h.Labels) {
		panic("head: Predict slice lengths do not match the head")
	}
	var stack [stackScratch]float32
	scratch := stack[:]
	if need := h.InputDim + h.Hidden; need > stackScratch {
		p := scratchPool.Get().(*[]float32)
		defer scratchPool.Put(p)
		if cap(*p) < need {
			*p = make([]float32, need)
		}
		scratch = (*p)[:need]
	}
	z := scratch[:h.InputDim]
	for i, v := range emb {
		z[i] = (v - h.Mean[i]) / h.Std[i]
	}
	in := z
	if h.Hidden > 0 {
		hid := scratch[h.InputDim : h.InputDim+h.Hidden]
		affine(hid, in, h.W1, h.B1)
		for i, v := range hid {
			hid[i] = max(v, 0)
		}
		in = hid
	}
	affine(dst, in, h.W2, h.B2)
	softmax(dst)
}

// affine computes dst = x·W + b with W of len(x) x len(dst), row-major.
func affine(dst, x, w, b []float32) {
	n := len(dst)
	copy(dst, b)
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		row := w[i*n : (i+1)*n : (i+1)*n]
		for j, wij := range row {
			dst[j] += xi * wij
		}
	}
}

// softmax replaces s by its softmax, computed stably.
func softmax(s []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range s {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range s {
		e := math.Exp(float64(v - mx))
		s[i] = float32(e)
		sum += e
	}
	for i := range s {
		s[i] = float32(float64(s[i]) / sum)
	}
}

// validate checks that the head's dimensions agree.
func (h *Head) validate() error {
	k := len(h.Labels)
	in := h.InputDim
	switch {
	case k < 2:
		return fmt.Errorf("%d labels, want at least 2", k)
	case in < 1 || in > maxDim:
		return fmt.Errorf("input dimension %d out of range [1, %d]", in, maxDim)
	case h.Hidden < 0 || h.Hidden > maxHidden:
		return fmt.Errorf("hidden units %d out of range [0, %d]", h.Hidden, maxHidden)
	case k > maxClasses:
		return fmt.Errorf("%d labels, at most %d", k, maxClasses)
	case len(h.Mean) != in || len(h.Std) != in:
		return errors.New("standardization vectors do not match the input dimension")
	}
	last := in
	if h.Hidden > 0 {
		if len(h.W1) != in*h.Hidden || len(h.B1) != h.Hidden {
			return errors.New("hidden layer weights do not match its dimensions")
		}
		last = h.Hidden
	} else if len(h.W1) != 0 || len(h.B1) != 0 {
		return errors.New("hidden layer weights without hidden units")
	}
	if len(h.W2) != last*k || len(h.B2) != k {
		return errors.New("output layer weights do not match its dimensions")
	}
	for _, s := range h.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return errors.New("standard deviations must be positive and finite")
		}
	}
	return nil
}

// The binary format: magic, a little-endian uint32 length and a JSON header,
// the float32 arrays in header order (little-endian), and a CRC-32 (IEEE) of
// everything before it.
var magic = []byte("TLSHEAD1")

type header struct {
	Labels   []string `json:"labels"`
	InputDim int      `json:"input_dim"`
	Hidden   int      `json:"hidden"`
}

// ErrCorrupt reports data that is not a head written by MarshalBinary.
var ErrCorrupt = errors.New("head: corrupt or truncated head data")

// MarshalBinary encodes the head in tlserve's versioned, checksummed format.
func (h *Head) MarshalBinary() ([]byte, error) {
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	hdr, err := json.Marshal(header{Labels: h.Labels, InputDim: h.InputDim, Hidden: h.Hidden})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Write(magic)
	binary.Write(&buf, binary.LittleEndian, uint32(len(hdr)))
	buf.Write(hdr)
	for _, a := range [][]float32{h.Mean, h.Std, h.W1, h.B1, h.W2, h.B2} {
		binary.Write(&buf, binary.LittleEndian, a)
	}
	binary.Write(&buf, binary.LittleEndian, crc32.ChecksumIEEE(buf.Bytes()))
	return buf.Bytes(), nil
}

// UnmarshalBinary decodes a head written by MarshalBinary. It returns an
// error wrapping ErrCorrupt for anything else, and never panics.
func (h *Head) UnmarshalBinary(b []byte) error {
	if len(b) < len(magic)+8 || !bytes.Equal(b[:len(magic)], magic) {
		return fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	rest := body[len(magic):]
	n := binary.LittleEndian.Uint32(rest)
	rest = rest[4:]
	if uint64(n) > uint64(len(rest)) {
		return fmt.Errorf("%w: header length %d exceeds the data", ErrCorrupt, n)
	}
	var hd header
	if err := json.Unmarshal(rest[:n], &hd); err != nil {
		return fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	rest = rest[n:]
	if hd.InputDim < 1 || hd.InputDim > maxDim || hd.Hidden < 0 || hd.Hidden > maxHidden || len(hd.Labels) > maxClasses {
		return fmt.Errorf("%w: dimensions out of range", ErrCorrupt)
	}
	k, last := len(hd.Labels), hd.InputDim
	if hd.Hidden > 0 {
		last = hd.Hidden
	}
	sizes := []int{hd.InputDim, hd.InputDim, hd.InputDim * hd.Hidden, hd.Hidden, last * k, k}
	total := 0
	for _, s := range sizes {
		total += s
	}
	if len(rest) != 4*total {
		return fmt.Errorf("%w: %d bytes of weights, want %d", ErrCorrupt, len(rest), 4*total)
	}
	arrays := make([][]float32, len(sizes))
	for i, s := range sizes {
		a := make([]float32, s)
		for j := range a {
			a[j] = math.Float32frombits(binary.LittleEndian.Uint32(rest[4*j:]))
		}
		rest = rest[4*s:]
		arrays[i] = a
	}
	out := Head{Labels: hd.Labels, InputDim: hd.InputDim, Hidden: hd.Hidden,
		Mean: arrays[0], Std: arrays[1], W1: arrays[2], B1: arrays[3], W2: arrays[4], B2: arrays[5]}
	if hd.Hidden == 0 {
		out.W1, out.B1 = nil, nil
	}
	if err := out.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	*h = out
	return nil
}
