package imageprep

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden decodes each seed image and preprocesses it with a small
// torchvision-like spec, comparing the tensor, printed to four decimals,
// with testdata/golden/<seed>.txt. Run with -update to rewrite the files
// after an intended change, and review the diff.
func TestGolden(t *testing.T) {
	s := TorchvisionSpec()
	s.InputSize, s.Resize = 6, 7
	seeds, err := filepath.Glob(filepath.Join("testdata", "seed.*"))
	if err != nil || len(seeds) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	for _, seed := range seeds {
		name := filepath.Base(seed)
		t.Run(name, func(t *testing.T) {
			img, err := Decode(readSeed(t, name), DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			dst := make([]float32, s.Len())
			s.Preprocess(dst, img)
			var buf bytes.Buffer
			fmt.Fprintf(&buf, "# %s %v, spec %+v\n", name, img.Bounds().Size(), s)
			for i, v := range dst {
				sep := " "
				if (i+1)%s.InputSize == 0 {
					sep = "\n"
				}
				fmt.Fprintf(&buf, "%.4f%s", v, sep)
			}
			path := filepath.Join("testdata", "golden", strings.ReplaceAll(name, ".", "_")+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from the golden file; got:\n%s", path, buf.Bytes())
			}
		})
	}
}
