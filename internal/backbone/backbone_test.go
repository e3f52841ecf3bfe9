package backbone_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlserve/tlserve/internal/backbone"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/refdata"
)

func copyFile(t testing.TB, dst, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// stageCounter counts observed stages.
type stageCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *stageCounter) ObserveStage(stage string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d < 0 {
		panic("negative duration")
	}
	s.n[stage]++
}

var (
	loadOnce sync.Once
	shared   *backbone.Backbone
	sharedC  = &stageCounter{n: map[string]int{}}
	loadErr  error
)

// squeezenet returns one SqueezeNet backbone shared by the tests of this
// package (loading it costs a second or two), with batches of 2.
func squeezenet(t *testing.T) (*backbone.Backbone, *stageCounter) {
	t.Helper()
	path := refdata.SqueezeNet(t)
	loadOnce.Do(func() {
		shared, loadErr = backbone.New(backbone.Options{ModelPath: path, BatchSize: 2, Observer: sharedC})
	})
	if loadErr != nil {
		t.Fatalf("New: %v", loadErr)
	}
	return shared, sharedC
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

func TestClassifyReferencePhotos(t *testing.T) {
	b, _ := squeezenet(t)
	if b.Name() != "squeezenet1.1" || b.InputSize() != 224 || len(b.Labels()) != 1000 || len(b.ID()) != 64 {
		t.Fatalf("name %q input %d labels %d id %q", b.Name(), b.InputSize(), len(b.Labels()), b.ID())
	}
	tests := []struct {
		file  string
		label string // expected top-1 label, substring
	}{
		{"dog.jpg", "golden retriever"},
		{"hummingbird.jpg", "hummingbird"},
	}
	var images [][]byte
	for _, tt := range tests {
		images = append(images, refdata.Image(t, tt.file))
	}
	images = append(images, refdata.Image(t, "cat.jpg"))
	// Three images with batches of 2: one full batch and one partial.
	probs, err := b.Classify(context.Background(), images)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := probs[i]
			var sum float64
			for _, v := range p {
				sum += float64(v)
			}
			if sum < 0.99 || sum > 1.01 {
				t.Errorf("probabilities sum to %v", sum)
			}
			top := argmax(p)
			t.Logf("%s: %s (%.3f)", tt.file, b.Labels()[top], p[top])
			if !strings.Contains(b.Labels()[top], tt.label) {
				t.Errorf("top-1 %q (%.3f), want %q", b.Labels()[top], p[top], tt.label)
			}
		})
	}
}

func TestFeaturesAgree(t *testing.T) {
	b, _ := squeezenet(t)
	ctx := context.Background()
	images := [][]byte{refdata.Image(t, "cat.jpg"), refdata.Image(t, "kitten_224.png"), refdata.Image(t, "dog.jpg")}
	feats, err := b.Features(ctx, images)
	if err != nil {
		t.Fatal(err)
	}
	embs, err := b.Embed(ctx, images)
	if err != nil {
		t.Fatal(err)
	}
	// One image alone must give what it gave inside a batch.
	single, err := b.Features(ctx, images[2:])
	if err != nil {
		t.Fatal(err)
	}
	for i := range images {
		if len(feats[i].Embedding) != b.Dim() || len(feats[i].Probs) != 1000 {
			t.Fatalf("image %d: embedding %d, probs %d", i, len(feats[i].Embedding), len(feats[i].Probs))
		}
		if d := maxDiff(feats[i].Embedding, embs[i]); d > 1e-4 {
			t.Errorf("image %d: Embed differs from Features by %g", i, d)
		}
	}
	if d := maxDiff(single[0].Embedding, feats[2].Embedding); d > 1e-3 {
		t.Errorf("batch of 1 differs from batch position 3 by %g", d)
	}
	if d := maxDiff(feats[0].Embedding, feats[2].Embedding); d < 1e-3 {
		t.Errorf("cat and dog embeddings are the same (diff %g)", d)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e9
	}
	var m float64
	for i := range a {
		m = max(m, float64(abs(a[i]-b[i])))
	}
	return m
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestImageErrors(t *testing.T) {
	b, _ := squeezenet(t)
	good := refdata.Image(t, "kitten_224.png")
	tests := []struct {
		name   string
		images [][]byte
		index  int
		want   error
	}{
		{"empty", [][]byte{good, {}}, 1, imageprep.ErrEmpty},
		{"not an image", [][]byte{[]byte("hello")}, 0, imageprep.ErrUnsupportedFormat},
		{"truncated", [][]byte{good, good, good[:len(good)/3]}, 2, imageprep.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Embed(context.Background(), tt.images)
			var ie *backbone.ImageError
			if !errors.As(err, &ie) || ie.ImageIndex() != tt.index || !errors.Is(err, tt.want) {
				t.Errorf("err %v, want image %d wrapping %v", err, tt.index, tt.want)
			}
		})
	}
}

func TestMaxPixels(t *testing.T) {
	path := refdata.SqueezeNet(t)
	b, err := backbone.New(backbone.Options{ModelPath: path, MaxPixels: 100 * 100})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Classify(context.Background(), [][]byte{refdata.Image(t, "kitten_224.png")})
	if !errors.Is(err, imageprep.ErrTooLarge) {
		t.Errorf("err %v, want ErrTooLarge", err)
	}
}

func TestCanceled(t *testing.T) {
	b, _ := squeezenet(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Embed(ctx, [][]byte{refdata.Image(t, "kitten_224.png")}); !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestStagesObserved(t *testing.T) {
	b, c := squeezenet(t)
	c.mu.Lock()
	before := maps(c.n)
	c.mu.Unlock()
	// Three images in batches of 2: two batches, so two of each stage.
	img := refdata.Image(t, "kitten_224.png")
	if _, err := b.Embed(context.Background(), [][]byte{img, img, img}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range []string{backbone.StageDecode, backbone.StagePreprocess, backbone.StageBackbone} {
		if got := c.n[s] - before[s]; got != 2 {
			t.Errorf("stage %s observed %d times, want 2", s, got)
		}
	}
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestConcurrentEmbed(t *testing.T) {
	b, _ := squeezenet(t)
	img := refdata.Image(t, "kitten_224.png")
	want, err := b.Embed(context.Background(), [][]byte{img})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			got, err := b.Embed(context.Background(), [][]byte{img})
			if err == nil && maxDiff(got[0], want[0]) > 1e-4 {
				err = errors.New("concurrent result differs")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestWarmup(t *testing.T) {
	b, _ := squeezenet(t)
	if err := b.Warmup(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestNewErrors(t *testing.T) {
	path := refdata.SqueezeNet(t)
	dir := filepath.Dir(path)
	shortLabels := filepath.Join(t.TempDir(), "m.onnx")
	copyFile(t, shortLabels, path)
	copyFile(t, strings.TrimSuffix(shortLabels, ".onnx")+".json", filepath.Join(dir, "squeezenet1.1-fp16.json"))
	if err := os.WriteFile(filepath.Join(filepath.Dir(shortLabels), "imagenet_classes.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noManifest := filepath.Join(t.TempDir(), "bare.onnx")
	copyFile(t, noManifest, path)
	garbage := filepath.Join(t.TempDir(), "g.onnx")
	if err := os.WriteFile(garbage, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    backbone.Options
		is   error
	}{
		{"no path", backbone.Options{}, nil},
		{"negative batch", backbone.Options{ModelPath: path, BatchSize: -1}, nil},
		{"missing file", backbone.Options{ModelPath: filepath.Join(dir, "nope.onnx")}, os.ErrNotExist},
		{"labels mismatch", backbone.Options{ModelPath: shortLabels}, backbone.ErrNoLabels},
		{"no manifest, so no labels", backbone.Options{ModelPath: noManifest}, backbone.ErrNoLabels},
		{"not a model", backbone.Options{ModelPath: garbage}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := backbone.New(tt.o)
			if err == nil {
				b.Close()
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %v, want %v", err, tt.is)
			}
		})
	}
}

// TestFishReference compares the whole probability vector for fish.png with
// the reference output shipped beside the model, computed at 224x224 with
// no resize: the manifest is rewritten to resize to 224, which leaves the
// 224x224 image untouched.
func TestFishReference(t *testing.T) {
	path := refdata.SqueezeNet(t)
	man := strings.TrimSuffix(path, ".onnx") + ".json"
	m, err := os.ReadFile(man)
	if err != nil {
		t.Fatal(err)
	}
	noResize := strings.Replace(string(m), `"resize": 256`, `"resize": 224`, 1)
	if noResize == string(m) {
		t.Fatal("manifest has no \"resize\": 256 to rewrite")
	}
	if err := os.WriteFile(man, []byte(noResize), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := backbone.New(backbone.Options{ModelPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	probs, err := b.Classify(context.Background(), [][]byte{refdata.Image(t, "fish.png")})
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(refdata.File(t, "models", "squeezenet1.1-fp16.fish-expected.csv"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(csv)), "\n") {
		var idx int
		var want float64
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d,%g", &idx, &want); err != nil {
			continue // header
		}
		n++
		// fp16 weights and outputs: about 3 significant digits.
		if got := float64(probs[0][idx]); math.Abs(got-want) > 2e-3+5e-3*want {
			t.Errorf("class %d (%s): %.5f, want %.5f", idx, b.Labels()[idx], got, want)
		}
	}
	if n != 1000 {
		t.Fatalf("read %d reference values, want 1000", n)
	}
	if top := argmax(probs[0]); b.Labels()[top] != "tench" {
		t.Errorf("top-1 %q, want tench", b.Labels()[top])
	}
}
