package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel limit Decode applies when
// DecodeOptions.MaxPixels is zero: 40 megapixels, enough for the photographs
// of current phones, while a decoded image of that size stays below 160 MiB.
const DefaultMaxPixels = 40_000_000

// Errors returned by Decode. Callers branch on them with errors.Is; the
// returned errors wrap them with detail.
var (
	// ErrEmpty means there were no bytes to decode.
	ErrEmpty = errors.New("imageprep: empty image data")
	// ErrUnsupportedFormat means the data is not an image in a supported
	// format, or uses a feature of the format that the decoder lacks.
	ErrUnsupportedFormat = errors.New("imageprep: unsupported image format")
	// ErrTooLarge means the image has more pixels than the limit allows.
	ErrTooLarge = errors.New("imageprep: image too large")
	// ErrCorrupt means the data is recognised but truncated or invalid,
	// including a header that declares a zero width or height.
	ErrCorrupt = errors.New("imageprep: corrupt image data")
)

// DecodeOptions configures Decode. The zero value is ready to use.
type DecodeOptions struct {
	// MaxPixels is the largest width*height accepted. Zero means
	// DefaultMaxPixels; negative values are invalid.
	MaxPixels int
}

// format is one supported image format. The table is used instead of the
// image package's global registry so that the set of accepted formats does
// not depend on what other packages of the program happen to import.
type format struct {
	name   string
	magic  func(b []byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var formats = [...]format{
	{"jpeg", hasPrefix("\xff\xd8"), jpeg.DecodeConfig, jpeg.Decode},
	{"png", hasPrefix("\x89PNG\r\n\x1a\n"), png.DecodeConfig, png.Decode},
	{"gif", func(b []byte) bool { return hasPrefix("GIF87a")(b) || hasPrefix("GIF89a")(b) }, gif.DecodeConfig, gif.Decode},
	{"bmp", hasPrefix("BM"), bmp.DecodeConfig, bmp.Decode},
	{"webp", isWebP, webp.DecodeConfig, webp.Decode},
}

func hasPrefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

func isWebP(b []byte) bool {
	return len(b) >= 15 && string(b[:4]) == "RIFF" && string(b[8:15]) == "WEBPVP8"
}

// Format reports the name of the format of b ("jpeg", "png", "gif", "bmp"
// or "webp") judging by its magic bytes only, or "" when none matches.
func Format(b []byte) string {
	if f := sniff(b); f != nil {
		return f.name
	}
	return ""
}

func sniff(b []byte) *format {
	for i := range formats {
		if formats[i].magic(b) {
			return &formats[i]
		}
	}
	return nil
}

// Decode decodes the image in b. The format is recognised by its magic
// bytes; GIF yields its first frame. JPEG images are turned upright
// according to their EXIF orientation; a corrupt EXIF block is ignored.
//
// The header is read first and an image whose width*height exceeds
// o.MaxPixels is refused before its pixels are allocated. Returns ErrEmpty
// when b is empty, ErrUnsupportedFormat when b is not an image in a
// supported format, ErrTooLarge when the image is over the pixel limit, and
// ErrCorrupt when the data is truncated or invalid. Decode never panics.
func Decode(b []byte, o DecodeOptions) (image.Image, error) {
	maxPixels := o.MaxPixels
	switch {
	case maxPixels < 0:
		return nil, fmt.Errorf("imageprep: negative MaxPixels %d", maxPixels)
	case maxPixels == 0:
		maxPixels = DefaultMaxPixels
	}
	if len(b) == 0 {
		return nil, ErrEmpty
	}
	f := sniff(b)
	if f == nil {
		return nil, ErrUnsupportedFormat
	}
	cfg, err := f.config(bytes.NewReader(b))
	if err != nil {
		return nil, decodeError(f.name, "header", err)
	}
	if err := checkSize(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	img, err := f.decode(bytes.NewReader(b))
	if err != nil {
		return nil, decodeError(f.name, "image", err)
	}
	// The decoders size their images from the header checked above; this
	// guards against a decoder that trusts a different field.
	r := img.Bounds()
	if err := checkSize(r.Dx(), r.Dy(), maxPixels); err != nil {
		return nil, err
	}
	if f.name == "jpeg" {
		img = orient(img, jpegOrientation(b))
	}
	return img, nil
}

// checkSize returns ErrCorrupt for an empty size and ErrTooLarge for one
// over maxPixels.
func checkSize(w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: image size %dx%d", ErrCorrupt, w, h)
	}
	if h > maxPixels/w {
		return fmt.Errorf("%w: %dx%d pixels exceeds the limit of %d pixels", ErrTooLarge, w, h, maxPixels)
	}
	return nil
}

// decodeError classifies an error of a decoder: a missing feature of the
// decoder is ErrUnsupportedFormat, anything else is ErrCorrupt.
func decodeError(format, what string, err error) error {
	var (
		jpegErr jpeg.UnsupportedError
		pngErr  png.UnsupportedError
	)
	if errors.As(err, &jpegErr) || errors.As(err, &pngErr) || errors.Is(err, bmp.ErrUnsupported) {
		return fmt.Errorf("%w: %s %s: %w", ErrUnsupportedFormat, format, what, err)
	}
	return fmt.Errorf("%w: %s %s: %w", ErrCorrupt, format, what, err)
}
