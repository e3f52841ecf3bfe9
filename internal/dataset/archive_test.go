package dataset

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"
)

// entry is one archive member built by the test helpers; a name ending in
// "/" is a directory.
type entry struct {
	name string
	data string
}

func makeZip(tb testing.TB, entries []entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			tb.Fatalf("zip create %q: %v", e.name, err)
		}
		if _, err := w.Write([]byte(e.data)); err != nil {
			tb.Fatalf("zip write: %v", err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("zip close: %v", err)
	}
	return buf.Bytes()
}

func makeTar(tb testing.TB, entries []entry, gz bool) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var w = &buf
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(w)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(w)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size, h.Mode = tar.TypeDir, 0, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			tb.Fatalf("tar header %q: %v", e.name, err)
		}
		if _, err := tw.Write([]byte(e.data)); err != nil {
			tb.Fatalf("tar write: %v", err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatalf("tar close: %v", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			tb.Fatalf("gzip close: %v", err)
		}
	}
	return buf.Bytes()
}

var formats = []struct {
	name string
	make func(testing.TB, []entry) []byte
}{
	{"zip", makeZip},
	{"tar", func(tb testing.TB, e []entry) []byte { return makeTar(tb, e, false) }},
	{"tar.gz", func(tb testing.TB, e []entry) []byte { return makeTar(tb, e, true) }},
}

// got summarises examples as "label:name=data" strings.
func got(ex []Example) []string {
	var out []string
	for _, e := range ex {
		out = append(out, e.Label+":"+e.Name+"="+string(e.Data))
	}
	return out
}

func TestFromArchive(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
		want    []string
		wantErr error
	}{
		{
			name:    "class folders",
			entries: []entry{{"cat/", ""}, {"cat/a.jpg", "A"}, {"dog/b.jpg", "B"}, {"cat/c.png", "C"}},
			want:    []string{"cat:cat/a.jpg=A", "dog:dog/b.jpg=B", "cat:cat/c.png=C"},
		},
		{
			name:    "wrapper folder stripped",
			entries: []entry{{"pets/", ""}, {"pets/cat/a.jpg", "A"}, {"pets/dog/b.jpg", "B"}},
			want:    []string{"cat:pets/cat/a.jpg=A", "dog:pets/dog/b.jpg=B"},
		},
		{
			name:    "nested subfolders keep class label",
			entries: []entry{{"cat/indoor/a.jpg", "A"}, {"dog/b.jpg", "B"}},
			want:    []string{"cat:cat/indoor/a.jpg=A", "dog:dog/b.jpg=B"},
		},
		{
			name: "clutter skipped",
			entries: []entry{
				{"__MACOSX/cat/._a.jpg", "junk"}, {"cat/.DS_Store", "junk"}, {".hidden/x.jpg", "junk"},
				{"cat/a.jpg", "A"}, {"dog/Thumbs.db", "junk"}, {"dog/b.jpg", "B"},
			},
			want: []string{"cat:cat/a.jpg=A", "dog:dog/b.jpg=B"},
		},
		{
			name:    "backslash separators",
			entries: []entry{{`cat\a.jpg`, "A"}, {`dog\b.jpg`, "B"}},
			want:    []string{"cat:cat/a.jpg=A", "dog:dog/b.jpg=B"},
		},
		{
			name:    "file at root",
			entries: []entry{{"cat/a.jpg", "A"}, {"loose.jpg", "L"}},
			wantErr: ErrLayout,
		},
		{
			name:    "zip slip",
			entries: []entry{{"cat/a.jpg", "A"}, {"../../etc/cron.d/x.jpg", "X"}},
			wantErr: ErrUnsafePath,
		},
		{
			name:    "zip slip inside folder",
			entries: []entry{{"cat/../../x.jpg", "X"}},
			wantErr: ErrUnsafePath,
		},
		{
			name:    "absolute path",
			entries: []entry{{"/etc/passwd", "X"}},
			wantErr: ErrUnsafePath,
		},
		{
			name:    "drive letter",
			entries: []entry{{`C:\cat\a.jpg`, "X"}},
			wantErr: ErrUnsafePath,
		},
		{
			name:    "too many files",
			entries: []entry{{"cat/a.jpg", "A"}, {"cat/b.jpg", "B"}, {"dog/c.jpg", "C"}},
			lim:     Limits{MaxFiles: 2},
			wantErr: ErrTooManyFiles,
		},
		{
			name:    "too many skipped entries",
			entries: manyEntries(".junk/f%d", 2*1+100+1),
			lim:     Limits{MaxFiles: 1},
			wantErr: ErrTooManyFiles,
		},
		{
			name:    "too many bytes",
			entries: []entry{{"cat/a.jpg", strings.Repeat("a", 600)}, {"dog/b.jpg", strings.Repeat("b", 600)}},
			lim:     Limits{MaxBytes: 1000},
			wantErr: ErrTooLarge,
		},
		{
			name:    "empty",
			entries: []entry{{"cat/", ""}},
			wantErr: ErrNoExamples,
		},
	}
	for _, f := range formats {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				b := f.make(t, tt.entries)
				if !IsArchive(b) {
					t.Fatalf("IsArchive = false for a %s", f.name)
				}
				ex, err := FromArchive(b, tt.lim)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("FromArchive: %v", err)
				}
				if g := got(ex); !reflect.DeepEqual(g, tt.want) {
					t.Fatalf("got %q\nwant %q", g, tt.want)
				}
			})
		}
	}
}

func manyEntries(format string, n int) []entry {
	out := make([]entry, n)
	for i := range out {
		out[i] = entry{name: strings.Replace(format, "%d", string(rune('a'+i%26))+strings.Repeat("x", i/26), 1), data: "j"}
	}
	return out
}

func TestFromArchiveErrorNamesEntry(t *testing.T) {
	b := makeZip(t, []entry{{"cat/a.jpg", "A"}, {"../evil.jpg", "X"}})
	_, err := FromArchive(b, Limits{})
	if err == nil || !strings.Contains(err.Error(), "../evil.jpg") {
		t.Fatalf("err = %v, want it to name ../evil.jpg", err)
	}
}

// TestGzipBomb checks that a highly compressed entry, even a skipped one,
// is stopped by the decompressed-bytes budget instead of being inflated.
func TestGzipBomb(t *testing.T) {
	zeros := strings.Repeat("\x00", 16<<20)
	for _, name := range []string{"cat/big.jpg", ".hidden/big.bin"} {
		t.Run(name, func(t *testing.T) {
			b := makeTar(t, []entry{{"cat/a.jpg", "A"}, {"dog/b.jpg", "B"}, {name, zeros}}, true)
			if len(b) > 1<<20 {
				t.Fatalf("test archive is %d bytes, expected a small bomb", len(b))
			}
			_, err := FromArchive(b, Limits{MaxBytes: 1 << 20})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
		})
	}
}

func TestZipBomb(t *testing.T) {
	zeros := bytes.Repeat([]byte{0}, 16<<20)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	fw.Write(zeros)
	fw.Close()
	tests := []struct {
		name     string
		declared uint64
		wantErr  []error
	}{
		{"honest size", uint64(len(zeros)), []error{ErrTooLarge}},
		// A header that lies about the size must not let the content
		// through: it is cut by the limited read or by the zip reader.
		{"lying size", 10, []error{ErrTooLarge, ErrCorrupt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, n := range []string{"cat/a.jpg", "dog/b.jpg"} {
				w, _ := zw.Create(n)
				w.Write([]byte("x"))
			}
			w, err := zw.CreateRaw(&zip.FileHeader{
				Name: "cat/big.jpg", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(zeros),
				CompressedSize64: uint64(comp.Len()), UncompressedSize64: tt.declared,
			})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(comp.Bytes())
			zw.Close()
			_, err = FromArchive(buf.Bytes(), Limits{MaxBytes: 1 << 20})
			for _, want := range tt.wantErr {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("err = %v, want one of %v", err, tt.wantErr)
		})
	}
}

func TestFromArchiveCorrupt(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("this is not a tar stream at all, just text inside gzip"))
	zw.Close()
	good := makeZip(t, []entry{{"cat/a.jpg", strings.Repeat("A", 100)}, {"dog/b.jpg", "B"}})
	tests := []struct {
		name    string
		b       []byte
		wantErr error
	}{
		{"gzip without tar", gz.Bytes(), ErrCorrupt},
		{"truncated zip", good[:len(good)/2], ErrCorrupt},
		{"zip magic only", []byte("PK\x03\x04garbage"), ErrCorrupt},
		{"truncated gzip", makeTar(t, []entry{{"cat/a.jpg", "A"}}, true)[:20], ErrCorrupt},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), ErrNotArchive},
		{"empty", nil, ErrNotArchive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := FromArchive(tt.b, Limits{}); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestIsArchive(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"zip", makeZip(t, []entry{{"a/b", "c"}}), true},
		{"empty zip", makeZip(t, nil), true},
		{"tar", makeTar(t, []entry{{"a/b", "c"}}, false), true},
		{"tar.gz", makeTar(t, []entry{{"a/b", "c"}}, true), true},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), false},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), false},
		{"gif", []byte("GIF89a"), false},
		{"short", []byte("P"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g := IsArchive(tt.b); g != tt.want {
				t.Fatalf("IsArchive = %v, want %v", g, tt.want)
			}
		})
	}
}

func FuzzFromArchive(f *testing.F) {
	seed := []entry{{"pets/cat/a.jpg", "A"}, {"pets/dog/b.jpg", "B"}, {".x/y", "z"}}
	f.Add(makeZip(f, seed))
	f.Add(makeTar(f, seed, false))
	f.Add(makeTar(f, seed, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		ex, err := FromArchive(b, Limits{MaxFiles: 50, MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		var total int
		for _, e := range ex {
			total += len(e.Data)
			if e.Label == "" || strings.Contains(e.Label, "/") {
				t.Fatalf("bad label %q", e.Label)
			}
		}
		if len(ex) > 50 || total > 1<<20 {
			t.Fatalf("limits exceeded: %d files, %d bytes", len(ex), total)
		}
	})
}
