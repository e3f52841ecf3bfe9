package imageprep

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"
)

var update = flag.Bool("update", false, "rewrite the generated files under testdata")

// randomRGBA returns a w x h image of random opaque colours from a fixed
// seed, with its bounds starting at (x0, y0).
func randomRGBA(w, h, x0, y0 int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := image.NewRGBA(image.Rect(x0, y0, x0+w, y0+h))
	for i := range m.Pix {
		m.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 0xff
		}
	}
	return m
}

// quadrants returns a w x h image whose four quadrants are red, green,
// blue and white (top left, top right, bottom left, bottom right): a
// pattern that survives JPEG compression and shows every flip and turn.
func quadrants(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, quadrantColour(x >= w/2, y >= h/2))
		}
	}
	return m
}

func quadrantColour(right, bottom bool) color.RGBA {
	switch {
	case !right && !bottom:
		return color.RGBA{255, 0, 0, 255}
	case right && !bottom:
		return color.RGBA{0, 255, 0, 255}
	case !right && bottom:
		return color.RGBA{0, 0, 255, 255}
	default:
		return color.RGBA{255, 255, 255, 255}
	}
}

func encodeJPEG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNG(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeBMP(tb testing.TB, m image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, m); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// withExif returns the JPEG j with an APP1 EXIF segment holding
// orientation o inserted after SOI, written in the given byte order.
func withExif(j []byte, o uint16, bigEndian bool) []byte {
	return insertAPP1(j, exifPayload(o, bigEndian))
}

// exifPayload returns an APP1 EXIF payload whose IFD0 holds a dummy tag
// and then the orientation tag.
func exifPayload(o uint16, bigEndian bool) []byte {
	put16 := func(b []byte, v uint16) {
		if bigEndian {
			b[0], b[1] = byte(v>>8), byte(v)
		} else {
			b[0], b[1] = byte(v), byte(v>>8)
		}
	}
	put32 := func(b []byte, v uint32) {
		if bigEndian {
			put16(b, uint16(v>>16))
			put16(b[2:], uint16(v))
		} else {
			put16(b, uint16(v))
			put16(b[2:], uint16(v>>16))
		}
	}
	t := make([]byte, 8+2+2*12+4)
	if bigEndian {
		copy(t, "MM\x00*")
	} else {
		copy(t, "II*\x00")
	}
	put32(t[4:], 8)
	put16(t[8:], 2)
	e := t[10:]
	put16(e, 0x010f) // Make, ASCII, pointing nowhere in particular.
	put16(e[2:], 2)
	put32(e[4:], 4)
	put32(e[8:], 0)
	e = t[22:]
	put16(e, orientationTag)
	put16(e[2:], 3)
	put32(e[4:], 1)
	put16(e[8:], o)
	return append([]byte("Exif\x00\x00"), t...)
}

// insertAPP1 inserts an APP1 segment with the payload after the SOI of j.
func insertAPP1(j, payload []byte) []byte {
	n := len(payload) + 2
	seg := append([]byte{0xff, 0xe1, byte(n >> 8), byte(n)}, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// writeSeed writes a generated seed file under testdata when -update is
// given and otherwise checks that the committed one exists.
func writeSeed(t *testing.T, name string, b []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("seed %s missing; run go test -run TestSeeds -update: %v", path, err)
	}
}

var errorsIs = errors.Is
