package imageprep

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlserve/tlserve/internal/refdata"
)

// TestSeeds regenerates (with -update) or checks the small images under
// testdata that seed FuzzDecode and the format tests. seed.webp is made
// from seed.png with "cwebp -lossless" (see testdata/README).
func TestSeeds(t *testing.T) {
	small := randomRGBA(9, 7, 0, 0, 1)
	writeSeed(t, "seed.jpg", withExif(encodeJPEG(t, quadrants(16, 12)), 6, true))
	writeSeed(t, "seed.png", encodePNG(t, small))
	writeSeed(t, "seed.gif", encodeGIF(t, small))
	writeSeed(t, "seed.bmp", encodeBMP(t, small))
	if _, err := os.Stat(filepath.Join("testdata", "seed.webp")); err != nil {
		t.Errorf("testdata/seed.webp missing: make it with cwebp -lossless testdata/seed.png -o testdata/seed.webp: %v", err)
	}
}

func readSeed(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		file   string
		format string
		w, h   int
	}{
		{"seed.jpg", "jpeg", 12, 16}, // Stored 16x12 with orientation 6.
		{"seed.png", "png", 9, 7},
		{"seed.gif", "gif", 9, 7},
		{"seed.bmp", "bmp", 9, 7},
		{"seed.webp", "webp", 9, 7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readSeed(t, tt.file)
			if got := Format(b); got != tt.format {
				t.Errorf("Format = %q, want %q", got, tt.format)
			}
			img, err := Decode(b, DecodeOptions{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := img.Bounds().Size(); got != image.Pt(tt.w, tt.h) {
				t.Errorf("size = %v, want %dx%d", got, tt.w, tt.h)
			}
		})
	}
}

// TestDecodeLossless checks that the lossless formats give back exactly
// the pixels that were encoded.
func TestDecodeLossless(t *testing.T) {
	want := randomRGBA(9, 7, 0, 0, 1)
	for _, name := range []string{"seed.png", "seed.bmp", "seed.webp"} {
		t.Run(name, func(t *testing.T) {
			img, err := Decode(readSeed(t, name), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for y := range 7 {
				for x := range 9 {
					got := color.RGBAModel.Convert(img.At(x, y))
					if w := want.RGBAAt(x, y); got != w {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, w)
					}
				}
			}
		})
	}
}

// pngChunk returns a PNG chunk with a correct CRC.
func pngChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngHeader returns a PNG signature and a valid IHDR for an 8-bit RGB
// image of w x h, followed by a tiny IDAT and IEND: the shape of a
// decompression bomb.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, pngChunk("IHDR", ihdr)...)
	b = append(b, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(b, pngChunk("IEND", nil)...)
}

// jpegHeader returns a JPEG with a JFIF APP0 and a baseline SOF for a
// one-component image of w x h, and nothing else.
func jpegHeader(w, h int) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	return append(b, 0xff, 0xc0, 0, 11, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
}

func TestDecodeErrors(t *testing.T) {
	jpg := encodeJPEG(t, randomRGBA(64, 48, 0, 0, 2))
	png := encodePNG(t, randomRGBA(64, 48, 0, 0, 2))
	gif := encodeGIF(t, randomRGBA(64, 48, 0, 0, 2))
	bmp := encodeBMP(t, randomRGBA(64, 48, 0, 0, 2))
	webp := readSeed(t, "seed.webp")
	unsupportedBMP := append([]byte{}, bmp[:54]...)
	unsupportedBMP[28] = 7 // 7 bits per pixel.
	tests := []struct {
		name      string
		data      []byte
		maxPixels int
		want      error
	}{
		{"empty", nil, 0, ErrEmpty},
		{"text", []byte("hello, world"), 0, ErrUnsupportedFormat},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), 0, ErrUnsupportedFormat},
		{"png bomb 50000x50000", pngHeader(50000, 50000), 0, ErrTooLarge},
		{"png over a small limit", pngHeader(101, 100), 10000, ErrTooLarge},
		{"png zero width", pngHeader(0, 10), 0, ErrCorrupt},
		{"jpeg bomb 50000x50000", jpegHeader(50000, 50000), 0, ErrTooLarge},
		{"jpeg 65535x65535", jpegHeader(65535, 65535), 0, ErrTooLarge},
		{"jpeg zero width", jpegHeader(0, 10), 0, ErrCorrupt},
		{"jpeg header only", jpegHeader(10, 10), 0, ErrCorrupt},
		{"jpeg arithmetic coding", append(jpegHeader(10, 10)[:20], 0xff, 0xc9, 0, 11, 8, 0, 10, 0, 10, 1, 1, 0x11, 0), 0, ErrUnsupportedFormat},
		{"jpeg cut in half", jpg[:len(jpg)/2], 0, ErrCorrupt},
		{"jpeg without EOI", jpg[:len(jpg)-2], 0, ErrCorrupt},
		{"jpeg SOI only", jpg[:2], 0, ErrCorrupt},
		{"png cut in half", png[:len(png)/2], 0, ErrCorrupt},
		{"png without IEND", png[:len(png)-12], 0, ErrCorrupt},
		{"png signature only", png[:8], 0, ErrCorrupt},
		{"gif cut in half", gif[:len(gif)/2], 0, ErrCorrupt},
		{"gif header only", gif[:13], 0, ErrCorrupt},
		{"bmp cut in half", bmp[:len(bmp)/2], 0, ErrCorrupt},
		{"bmp 7 bits per pixel", unsupportedBMP, 0, ErrUnsupportedFormat},
		{"webp cut in half", webp[:len(webp)/2], 0, ErrCorrupt},
		{"webp header only", webp[:16], 0, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Decode(tt.data, DecodeOptions{MaxPixels: tt.maxPixels})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if img != nil {
				t.Errorf("Decode returned an image with error %v", err)
			}
		})
	}
}

func TestDecodeTooLargeMessage(t *testing.T) {
	_, err := Decode(pngHeader(50000, 40000), DecodeOptions{MaxPixels: 1000})
	const want = "imageprep: image too large: 50000x40000 pixels exceeds the limit of 1000 pixels"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestDecodeMaxPixels(t *testing.T) {
	b := encodePNG(t, randomRGBA(100, 100, 0, 0, 3))
	tests := []struct {
		maxPixels int
		ok        bool
	}{
		{0, true},
		{10000, true},
		{9999, false},
		{-1, false},
	}
	for _, tt := range tests {
		_, err := Decode(b, DecodeOptions{MaxPixels: tt.maxPixels})
		if (err == nil) != tt.ok {
			t.Errorf("MaxPixels %d: error %v, want ok=%v", tt.maxPixels, err, tt.ok)
		}
	}
}

// TestDecodeOrientation encodes the quadrant pattern as a JPEG with each
// EXIF orientation, in both byte orders, and checks that Decode turns it
// upright: the stored image is the upright one transformed by the inverse
// of the orientation, here built from the orientation's own pixel map.
func TestDecodeOrientation(t *testing.T) {
	const w, h = 32, 16 // The upright size.
	upright := quadrants(w, h)
	for o := 1; o <= 8; o++ {
		stored := unorient(upright, o)
		for _, big := range []bool{false, true} {
			name := map[bool]string{false: "II", true: "MM"}[big]
			t.Run(string(rune('0'+o))+name, func(t *testing.T) {
				img, err := Decode(withExif(encodeJPEG(t, stored), uint16(o), big), DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := img.Bounds().Size(); got != image.Pt(w, h) {
					t.Fatalf("size %v, want %dx%d", got, w, h)
				}
				for _, p := range []image.Point{{4, 4}, {w - 5, 4}, {4, h - 5}, {w - 5, h - 5}} {
					if !near(img.At(p.X, p.Y), upright.At(p.X, p.Y)) {
						t.Errorf("pixel %v = %v, want about %v", p, img.At(p.X, p.Y), upright.At(p.X, p.Y))
					}
				}
			})
		}
	}
}

// unorient returns the stored image that orientation o turns into m.
// It is written independently of orientMaps, from the EXIF definitions of
// where the stored image's first row and column are shown.
func unorient(m *image.RGBA, o int) *image.RGBA {
	w, h := m.Bounds().Dx(), m.Bounds().Dy()
	sw, sh := w, h
	if o >= 5 {
		sw, sh = h, w
	}
	s := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for y := range sh {
		for x := range sw {
			// (ux, uy) is where stored pixel (x, y) is displayed.
			var ux, uy int
			switch o {
			case 1:
				ux, uy = x, y
			case 2: // Row 0 at the top, column 0 on the right.
				ux, uy = w-1-x, y
			case 3: // Row 0 at the bottom, column 0 on the right.
				ux, uy = w-1-x, h-1-y
			case 4: // Row 0 at the bottom, column 0 on the left.
				ux, uy = x, h-1-y
			case 5: // Row 0 on the left, column 0 at the top.
				ux, uy = y, x
			case 6: // Row 0 on the right, column 0 at the top.
				ux, uy = w-1-y, x
			case 7: // Row 0 on the right, column 0 at the bottom.
				ux, uy = w-1-y, h-1-x
			case 8: // Row 0 on the left, column 0 at the bottom.
				ux, uy = y, h-1-x
			}
			s.Set(x, y, m.At(ux, uy))
		}
	}
	return s
}

func near(a, b color.Color) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) bool { return x>>8 < y>>8+40 && y>>8 < x>>8+40 }
	return d(ar, br) && d(ag, bg) && d(ab, bb)
}

func TestDecodeCorruptExifIgnored(t *testing.T) {
	j := encodeJPEG(t, quadrants(16, 8))
	payloads := map[string][]byte{
		"short":          []byte("Exif\x00\x00II*"),
		"bad byte order": []byte("Exif\x00\x00XX*\x00\x08\x00\x00\x00"),
		"offset too big": []byte("Exif\x00\x00II*\x00\xff\xff\x00\x00"),
		"entries cut":    exifPayload(6, false)[:20],
		"orientation 9":  exifPayload(9, true),
		"orientation 0":  exifPayload(0, true),
		"not exif (xmp)": []byte("http://ns.adobe.com/xap/1.0/\x00<x/>"),
		"empty":          nil,
	}
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			img, err := Decode(insertAPP1(j, p), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(16, 8) {
				t.Errorf("size %v, want 16x8 (orientation ignored)", got)
			}
		})
	}
}

func TestDecodeSharedImages(t *testing.T) {
	tests := []struct {
		name string
		w, h int
	}{
		{"dog.jpg", 1080, 1080},
		{"cat.jpg", 1000, 1000},
		{"hummingbird.jpg", 450, 450},
		{"fish.png", 224, 224},
		{"kitten_224.png", 224, 224},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := refdata.Image(t, tt.name)
			img, err := Decode(b, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(tt.w, tt.h) {
				t.Errorf("size %v, want %dx%d", got, tt.w, tt.h)
			}
			if _, err := Decode(b[:len(b)/2], DecodeOptions{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("first half: error %v, want ErrCorrupt", err)
			}
			if _, err := Decode(b, DecodeOptions{MaxPixels: tt.w*tt.h - 1}); !errors.Is(err, ErrTooLarge) {
				t.Errorf("limit one under: error %v, want ErrTooLarge", err)
			}
		})
	}
}
