package dataset

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors returned by FromArchive.
var (
	// ErrNotArchive is returned when the bytes are not a zip, tar or
	// gzip-compressed tar archive.
	ErrNotArchive = errors.New("dataset: not a zip, tar or tar.gz archive")
	// ErrCorrupt is returned for an archive that cannot be read.
	ErrCorrupt = errors.New("dataset: corrupt archive")
	// ErrTooManyFiles is returned when an archive holds more files than
	// Limits.MaxFiles allows.
	ErrTooManyFiles = errors.New("dataset: too many files in archive")
	// ErrTooLarge is returned when the decompressed content exceeds
	// Limits.MaxBytes.
	ErrTooLarge = errors.New("dataset: archive content too large")
	// ErrUnsafePath is returned for an entry whose name is absolute or
	// climbs out of the archive with "..".
	ErrUnsafePath = errors.New("dataset: unsafe path in archive")
	// ErrLayout is returned for a file that is not inside a class folder.
	ErrLayout = errors.New("dataset: archive must hold one folder per class")
)

// Default limits used for zero fields of Limits.
const (
	DefaultMaxFiles       = 10000
	DefaultMaxBytes int64 = 1 << 30
)

// Limits bounds what FromArchive accepts. Zero fields take the defaults
// DefaultMaxFiles and DefaultMaxBytes.
type Limits struct {
	// MaxFiles is the largest number of image files kept. Skipped entries
	// (hidden files, __MACOSX) count against a separate bound of
	// 2*MaxFiles+100 entries so that they cannot be used to stall a reader.
	MaxFiles int
	// MaxBytes bounds the total decompressed size of the files kept (for
	// tar streams, of all regular files, since skipping one still means
	// inflating it).
	MaxBytes int64
}

func (l Limits) withDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	return l
}

func (l Limits) maxEntries() int { return 2*l.MaxFiles + 100 }

type archiveKind int

const (
	kindNone archiveKind = iota
	kindZip
	kindTar
	kindGzip
)

func detect(b []byte) archiveKind {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return kindZip
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return kindGzip
	case len(b) >= 262 && string(b[257:262]) == "ustar":
		return kindTar
	}
	return kindNone
}

// IsArchive reports whether b starts like a zip, a POSIX/GNU tar or a gzip
// stream (assumed to hold a tar). Detection is by content only.
func IsArchive(b []byte) bool { return detect(b) != kindNone }

// FromArchive reads a .zip, .tar or .tar.gz archive holding one folder per
// class and returns its files as examples labeled with their folder name,
// in archive order. A single top-level wrapper folder around the class
// folders is accepted and stripped; files in nested subfolders take the
// label of their class folder. Hidden files and folders (leading "."),
// __MACOSX, Thumbs.db, desktop.ini, directories, links and other special
// entries are skipped. Labels are not checked here; see Validate.
//
// It returns an error wrapping ErrNotArchive, ErrCorrupt, ErrTooManyFiles,
// ErrTooLarge, ErrUnsafePath, ErrLayout or ErrNoExamples; errors about an
// entry name it.
func FromArchive(b []byte, lim Limits) ([]Example, error) {
	lim = lim.withDefaults()
	var (
		files []archived
		err   error
	)
	switch detect(b) {
	case kindZip:
		files, err = readZip(b, lim)
	case kindTar:
		files, err = readTar(bytes.NewReader(b), lim)
	case kindGzip:
		zr, gerr := gzip.NewReader(bytes.NewReader(b))
		if gerr != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, gerr)
		}
		files, err = readTar(zr, lim)
	default:
		return nil, ErrNotArchive
	}
	if err != nil {
		return nil, err
	}
	return layout(files)
}

type archived struct {
	parts []string
	data  []byte
}

// cleanPath splits an entry name into its components. It returns
// ErrUnsafePath for absolute names, drive letters and ".." components,
// which could escape the archive root if the entry were ever extracted.
func cleanPath(name string) ([]string, error) {
	n := strings.ReplaceAll(name, "\\", "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') || strings.ContainsRune(n, 0) {
		return nil, fmt.Errorf("%w: %q", ErrUnsafePath, name)
	}
	var parts []string
	for _, p := range strings.Split(n, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("%w: %q", ErrUnsafePath, name)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// skipped reports whether an entry is operating-system clutter.
func skipped(parts []string) bool {
	if len(parts) == 0 {
		return true
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") || p == "__MACOSX" {
			return true
		}
	}
	switch strings.ToLower(parts[len(parts)-1]) {
	case "thumbs.db", "desktop.ini":
		return true
	}
	return false
}

func readZip(b []byte, lim Limits) ([]archived, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return nil, fmt.Errorf("%w: zip: %v", ErrCorrupt, err)
	}
	if len(zr.File) > lim.maxEntries() {
		return nil, fmt.Errorf("%w: %d entries, at most %d files allowed", ErrTooManyFiles, len(zr.File), lim.MaxFiles)
	}
	budget := lim.MaxBytes
	var out []archived
	for _, f := range zr.File {
		parts, err := cleanPath(f.Name)
		if err != nil {
			return nil, err
		}
		if f.FileInfo().IsDir() || !f.Mode().IsRegular() || skipped(parts) {
			continue
		}
		if len(out) == lim.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrTooManyFiles, lim.MaxFiles)
		}
		// The declared size is only a hint (it can lie); the limited read
		// below is what actually bounds memory.
		if f.UncompressedSize64 > uint64(budget) {
			return nil, fmt.Errorf("%w: %q would exceed %d bytes", ErrTooLarge, f.Name, lim.MaxBytes)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, f.Name, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, budget+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrCorrupt, f.Name, err)
		}
		if int64(len(data)) > budget {
			return nil, fmt.Errorf("%w: %q exceeds %d bytes", ErrTooLarge, f.Name, lim.MaxBytes)
		}
		budget -= int64(len(data))
		out = append(out, archived{parts: parts, data: data})
	}
	return out, nil
}

// errBudget marks a decompressed stream that grew past its allowance.
var errBudget = errors.New("decompressed stream exceeds its budget")

// budgetReader fails with errBudget once more than n bytes were read, so a
// gzip bomb is stopped even inside entries that are skipped.
type budgetReader struct {
	r io.Reader
	n int64
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	return n, err
}

func readTar(r io.Reader, lim Limits) ([]archived, error) {
	// Headers and padding take at most 1536 bytes per entry (a PAX or GNU
	// long-name header, the header, the padding); the end marker 10 KiB.
	br := &budgetReader{r: r, n: lim.MaxBytes + int64(lim.maxEntries())*1536 + 10240}
	tr := tar.NewReader(br)
	budget := lim.MaxBytes
	var out []archived
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return nil, tarErr("", err, lim)
		}
		if entries == lim.maxEntries() {
			return nil, fmt.Errorf("%w: more than %d entries", ErrTooManyFiles, lim.maxEntries())
		}
		parts, err := cleanPath(hdr.Name)
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		// A tar stream must be inflated to reach the next entry, so
		// skipped files are charged against the budget too.
		if hdr.Size > budget {
			return nil, fmt.Errorf("%w: %q would exceed %d bytes", ErrTooLarge, hdr.Name, lim.MaxBytes)
		}
		if skipped(parts) {
			budget -= hdr.Size
			continue
		}
		if len(out) == lim.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d files", ErrTooManyFiles, lim.MaxFiles)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, tarErr(hdr.Name, err, lim)
		}
		budget -= hdr.Size
		out = append(out, archived{parts: parts, data: data})
	}
}

func tarErr(name string, err error, lim Limits) error {
	where := "tar"
	if name != "" {
		where = fmt.Sprintf("tar: %q", name)
	}
	if errors.Is(err, errBudget) {
		return fmt.Errorf("%w: %s: decompressed data exceeds %d bytes", ErrTooLarge, where, lim.MaxBytes)
	}
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, where, err)
}

// layout strips an optional wrapper folder and labels each file with its
// class folder.
func layout(files []archived) ([]Example, error) {
	if len(files) == 0 {
		return nil, ErrNoExamples
	}
	strip := 0
	if wrapped(files) {
		strip = 1
	}
	out := make([]Example, 0, len(files))
	for _, f := range files {
		rel := f.parts[strip:]
		name := strings.Join(f.parts, "/")
		if len(rel) < 2 {
			return nil, fmt.Errorf("%w: file %q is not inside a class folder", ErrLayout, name)
		}
		out = append(out, Example{Label: rel[0], Name: name, Data: f.data})
	}
	return out, nil
}

// wrapped reports whether every file sits at least two folders deep under
// one common top-level folder, as when a folder of class folders is zipped.
func wrapped(files []archived) bool {
	top := files[0].parts[0]
	for _, f := range files {
		if len(f.parts) < 3 || f.parts[0] != top {
			return false
		}
	}
	return true
}
