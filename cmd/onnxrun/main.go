// Command onnxrun runs an ONNX model with tlserve's pure-Go engine.
//
//	onnxrun -model m.onnx -input NAME=x.npy [-input NAME=y.pb ...] -out DIR
//	onnxrun -model m.onnx -image photo.jpg [-top 5]
//	onnxrun -model m.onnx -bench 20 -batch 8 -threads 2
//	onnxrun -model m.onnx -info
//
// With -input, every graph output is written as DIR/<output name>.npy, plus
// DIR/embedding.npy when the model is an image classifier. Inputs are .npy
// files or ONNX TensorProto .pb files.
//
// With -image, the model's manifest (the .json beside it) says how to
// preprocess the photo and where the labels are; the top labels are printed
// with their probabilities.
//
// With -bench N, the model runs N timed batches after one warm-up batch on a
// deterministic input; the line before the last gives the load time (file
// to ready plan, load_ms=812.4) and the last line printed is, for scripts:
//
//	ms_per_image=41.7 images_per_second=24.0 peak_rss_mb=310
//
// The flag names and that line are a contract.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/manifest"
	"github.com/tlserve/tlserve/internal/npy"
	"github.com/tlserve/tlserve/internal/onnxmodel"
	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/procstat"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// inputFlags collects repeated -input NAME=FILE flags.
type inputFlags []string

func (f *inputFlags) String() string     { return strings.Join(*f, ",") }
func (f *inputFlags) Set(s string) error { *f = append(*f, s); return nil }

type config struct {
	model     string
	inputs    inputFlags
	out       string
	image     string
	top       int
	bench     int
	batch     int
	threads   int
	embedding string
	info      bool
	loadTime  time.Duration // file to ready plan, measured by run
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("onnxrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.model, "model", "", "path of the ONNX model (required)")
	fs.Var(&c.inputs, "input", "graph input as NAME=FILE (.npy or TensorProto .pb); repeatable")
	fs.StringVar(&c.out, "out", "", "directory for the outputs of -input runs")
	fs.StringVar(&c.image, "image", "", "classify this image and print the top labels")
	fs.IntVar(&c.top, "top", 5, "how many labels -image prints")
	fs.IntVar(&c.bench, "bench", 0, "run this many timed batches and print the speed")
	fs.IntVar(&c.batch, "batch", 1, "batch size for -bench")
	fs.IntVar(&c.threads, "threads", 0, "threads per run (0: number of CPUs)")
	fs.StringVar(&c.embedding, "embedding", "", "tensor to use as the embedding (default: detected)")
	fs.BoolVar(&c.info, "info", false, "print the model's inputs, outputs and embedding")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.model == "" {
		return c, errors.New("-model is required")
	}
	modes := 0
	for _, on := range []bool{len(c.inputs) > 0, c.image != "", c.bench > 0, c.info} {
		if on {
			modes++
		}
	}
	switch {
	case modes == 0:
		return c, errors.New("give one of -input, -image, -bench or -info")
	case modes > 1:
		return c, errors.New("-input, -image, -bench and -info are exclusive")
	case len(c.inputs) > 0 && c.out == "":
		return c, errors.New("-input needs -out DIR")
	case c.batch < 1:
		return c, errors.New("-batch must be at least 1")
	case c.threads < 0:
		return c, errors.New("-threads must not be negative")
	case c.top < 1:
		return c, errors.New("-top must be at least 1")
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "onnxrun:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	start := time.Now()
	m, err := onnxmodel.Load(c.model, onnxmodel.Options{Threads: c.threads, Embedding: c.embedding})
	if err != nil {
		fmt.Fprintln(stderr, "onnxrun:", err)
		return 1
	}
	defer m.Close()
	c.loadTime = time.Since(start)

	switch {
	case c.info:
		err = printInfo(stdout, m, c)
	case c.image != "":
		err = classify(ctx, stdout, m, c)
	case c.bench > 0:
		err = bench(ctx, stdout, m, c)
	default:
		err = runInputs(ctx, stdout, m, c)
	}
	if err != nil {
		fmt.Fprintln(stderr, "onnxrun:", err)
		return 1
	}
	return 0
}

func printInfo(w io.Writer, m *onnxmodel.Model, c config) error {
	fmt.Fprintf(w, "id: %s\n", m.ID())
	fmt.Fprintf(w, "load_ms: %.1f\n", ms(c.loadTime))
	for _, in := range m.Inputs() {
		fmt.Fprintf(w, "input: %s %v %v\n", in.Name, in.DType, in.Shape)
	}
	for _, out := range m.Outputs() {
		fmt.Fprintf(w, "output: %s %v %v\n", out.Name, out.DType, out.Shape)
	}
	if m.EmbeddingDim() > 0 {
		fmt.Fprintf(w, "embedding: %s (%d floats)\nclasses: %d\n", m.EmbeddingName(), m.EmbeddingDim(), m.NumClasses())
	}
	return nil
}

func classify(ctx context.Context, w io.Writer, m *onnxmodel.Model, c config) error {
	man, err := manifest.ForModel(c.model)
	if err != nil {
		return err
	}
	if m.EmbeddingDim() == 0 {
		return errors.New("the model is not an image classifier")
	}
	if s := m.InputShape(); s[1] != man.InputSize || s[2] != man.InputSize {
		return fmt.Errorf("manifest input_size %d does not match the model's input %v", man.InputSize, s)
	}
	var labels []string
	if man.Labels != "" {
		if labels, err = man.LoadLabels(filepath.Dir(manifest.Path(c.model))); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(c.image)
	if err != nil {
		return err
	}
	img, err := imageprep.Decode(b, imageprep.DecodeOptions{})
	if err != nil {
		return err
	}
	x := make([]float32, 3*man.InputSize*man.InputSize)
	man.Spec().Preprocess(x, img)
	var f onnxmodel.Features
	if err := m.Extract(ctx, &f, x, 1); err != nil {
		return err
	}
	idx := make([]int, len(f.Probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return f.Probs[idx[a]] > f.Probs[idx[b]] })
	for _, i := range idx[:min(c.top, len(idx))] {
		label := strconv.Itoa(i)
		if i < len(labels) {
			label = labels[i]
		}
		fmt.Fprintf(w, "%.4f  %4d  %s\n", f.Probs[i], i, label)
	}
	return nil
}

func bench(ctx context.Context, w io.Writer, m *onnxmodel.Model, c config) error {
	shape := m.InputShape()
	if shape == nil {
		return errors.New("-bench needs a model with an image input [N,C,H,W]")
	}
	per := shape[0] * shape[1] * shape[2]
	x := make([]float32, c.batch*per)
	// A deterministic input in [-1, 1), the same one ortbench feeds.
	s := uint32(1)
	for i := range x {
		s = s*1664525 + 1013904223
		x[i] = float32(s>>8)/float32(1<<24)*2 - 1
	}
	var f onnxmodel.Features
	if err := m.Extract(ctx, &f, x, c.batch); err != nil { // warm-up
		return err
	}
	start := time.Now()
	for i := 0; i < c.bench; i++ {
		if err := m.Extract(ctx, &f, x, c.batch); err != nil {
			return err
		}
	}
	el := time.Since(start)
	images := float64(c.bench * c.batch)
	msPer := float64(el.Microseconds()) / 1000 / images
	fmt.Fprintf(w, "model=%s batch=%d threads=%d runs=%d total_s=%.2f\n", filepath.Base(c.model), c.batch, c.threads, c.bench, el.Seconds())
	fmt.Fprintf(w, "load_ms=%.1f\n", ms(c.loadTime))
	fmt.Fprintf(w, "ms_per_image=%.1f images_per_second=%.1f peak_rss_mb=%d\n", msPer, images/el.Seconds(), peakRSSMB())
	return nil
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakRSSMB returns the process's peak resident set size (VmHWM) in MiB, or
// -1 where /proc is unavailable.
func peakRSSMB() int {
	mb, err := procstat.PeakRSSMiB()
	if err != nil {
		return -1
	}
	return mb
}

func runInputs(ctx context.Context, w io.Writer, m *onnxmodel.Model, c config) error {
	ins := make(map[string]*onnxmodel.Tensor, len(c.inputs))
	for _, spec := range c.inputs {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return fmt.Errorf("-input %q: want NAME=FILE", spec)
		}
		t, err := readTensor(file)
		if err != nil {
			return fmt.Errorf("-input %s: %w", name, err)
		}
		ins[name] = t
	}
	outs, err := m.Run(ctx, ins)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	for _, o := range m.Outputs() {
		t := outs[o.Name]
		if err := writeNPY(filepath.Join(c.out, safeName(o.Name)+".npy"), t); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s %v -> %s.npy\n", o.Name, t.Shape, safeName(o.Name))
	}
	// The embedding comes from Extract, which needs the image input alone.
	if m.EmbeddingDim() > 0 && len(ins) == 1 {
		for _, t := range ins {
			if len(t.Shape) != 4 || t.Data == nil {
				break
			}
			var f onnxmodel.Features
			if err := m.Extract(ctx, &f, t.Data, t.Shape[0]); err != nil {
				return err
			}
			e := &onnxmodel.Tensor{Shape: []int{f.N, m.EmbeddingDim()}, Data: f.Embedding}
			if err := writeNPY(filepath.Join(c.out, "embedding.npy"), e); err != nil {
				return err
			}
			fmt.Fprintf(w, "embedding %v (from %s) -> embedding.npy\n", e.Shape, m.EmbeddingName())
		}
	}
	return nil
}

// safeName maps a tensor name to a file name: ONNX names may hold slashes.
func safeName(s string) string {
	return strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(s)
}

func readTensor(path string) (*onnxmodel.Tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(path), ".pb") {
		pt, err := onnxpb.DecodeTensor(b)
		if err != nil {
			return nil, err
		}
		shape := make([]int, len(pt.Dims))
		for i, d := range pt.Dims {
			shape[i] = int(d)
		}
		switch pt.DataType {
		case onnxpb.Float, onnxpb.Float16, onnxpb.Double, onnxpb.BFloat16:
			f, err := pt.Float32s()
			return &onnxmodel.Tensor{Shape: shape, Data: f}, err
		default:
			i, err := pt.Int64s()
			return &onnxmodel.Tensor{Shape: shape, Int64: i}, err
		}
	}
	a, err := npy.Read(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return &onnxmodel.Tensor{Shape: a.Shape, Data: a.F32, Int64: a.I64}, nil
}

// writeNPY writes t to path atomically.
func writeNPY(path string, t *onnxmodel.Tensor) error {
	var buf bytes.Buffer
	var err error
	if t.Int64 != nil {
		err = npy.WriteInt64(&buf, t.Shape, t.Int64)
	} else {
		err = npy.WriteFloat32(&buf, t.Shape, t.Data)
	}
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".onnxrun-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
