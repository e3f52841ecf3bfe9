//go:build onnxgo

// Command onnxgo-bench times a model under github.com/owulveryck/onnx-go
// with its gorgonia backend (gorgonnx), as the baseline against which
// tlserve's own engine is compared.
//
// It decodes the model once with internal/onnxpb to find the graph's first
// non-initializer input and its shape (onnx-go drops symbolic dims), feeds
// a deterministic float32 input of that shape, runs once to warm up, times
// -bench runs, and prints one final line:
//
//	ms_per_image=%.1f images_per_second=%.1f peak_rss_mb=%d
//
// where an image is one item of the batch (the first input dimension) and
// peak_rss_mb is VmHWM from /proc/self/status. It exits 1, printing the
// error, when onnx-go cannot load or run the model.
//
// Build with the onnxgo tag:
//
//	go run -tags onnxgo ./cmd/onnxgo-bench -model resnet50.onnx -bench 5
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/owulveryck/onnx-go"
	"github.com/owulveryck/onnx-go/backend/x/gorgonnx"
	"gorgonia.org/tensor"

	"github.com/tlserve/tlserve/internal/onnxpb"
	"github.com/tlserve/tlserve/internal/procstat"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type config struct {
	model string
	bench int
	batch int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("onnxgo-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.model, "model", "", "path of the .onnx model (required)")
	fs.IntVar(&c.bench, "bench", 10, "number of timed runs after one warm-up run")
	fs.IntVar(&c.batch, "batch", 1, "value of symbolic (dim_param) input dimensions")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.model == "":
		return c, errors.New("-model is required")
	case c.bench < 1:
		return c, errors.New("-bench must be at least 1")
	case c.batch < 1:
		return c, errors.New("-batch must be at least 1")
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "onnxgo-bench:", err)
		return 2
	}
	msPerImage, err := bench(c, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "onnxgo-bench:", err)
		return 1
	}
	rss, err := procstat.PeakRSSMiB()
	if err != nil {
		fmt.Fprintln(stderr, "onnxgo-bench:", err)
		return 1
	}
	fmt.Fprintf(stdout, "ms_per_image=%.1f images_per_second=%.1f peak_rss_mb=%d\n", msPerImage, 1000/msPerImage, rss)
	return 0
}

// bench loads the model and returns the mean milliseconds per image over
// c.bench runs. gorgonia panics on some unsupported graphs; the panic is
// returned as an error.
func bench(c config, log io.Writer) (msPerImage float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("onnx-go/gorgonnx panicked: %v", r)
		}
	}()
	b, err := os.ReadFile(c.model)
	if err != nil {
		return 0, err
	}
	backend := gorgonnx.NewGraph()
	model := onnx.NewModel(backend)
	if err := model.UnmarshalBinary(b); err != nil {
		return 0, fmt.Errorf("onnx-go cannot load %s: %w", c.model, err)
	}
	idx, shape, err := inputShape(b, c.batch)
	if err != nil {
		return 0, err
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		// A fixed pattern over 0..255, like pixel values.
		data[i] = float32((i * 7919) % 256)
	}
	if err := model.SetInput(idx, tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))); err != nil {
		return 0, fmt.Errorf("set input %d %v: %w", idx, shape, err)
	}
	fmt.Fprintf(log, "model %s: input %d shape %v, warming up\n", c.model, idx, shape)
	if err := backend.Run(); err != nil {
		return 0, fmt.Errorf("onnx-go cannot run %s: %w", c.model, err)
	}
	start := time.Now()
	for range c.bench {
		if err := backend.Run(); err != nil {
			return 0, fmt.Errorf("onnx-go cannot run %s: %w", c.model, err)
		}
	}
	elapsed := time.Since(start)
	if out, err := model.GetOutputTensors(); err == nil && len(out) > 0 {
		fmt.Fprintf(log, "output 0 shape %v\n", out[0].Shape())
	}
	return float64(elapsed.Microseconds()) / 1e3 / float64(c.bench*shape[0]), nil
}

// inputShape returns the onnx-go index and the shape, with symbolic dims
// set to batch, of the first graph input that is not an initializer. Old
// models list initializers among the inputs too; onnx-go does not count
// them, so that index is always 0.
func inputShape(b []byte, batch int) (int, []int, error) {
	m, err := onnxpb.DecodeModel(b)
	if err != nil {
		return 0, nil, err
	}
	if m.Graph == nil {
		return 0, nil, errors.New("model has no graph")
	}
	inits := make(map[string]bool, len(m.Graph.Initializer))
	for _, t := range m.Graph.Initializer {
		inits[t.Name] = true
	}
	for _, in := range m.Graph.Input {
		if inits[in.Name] {
			continue
		}
		if in.ElemType != onnxpb.Float {
			return 0, nil, fmt.Errorf("input %q has element type %d; only float32 inputs are fed", in.Name, in.ElemType)
		}
		if len(in.Shape) == 0 {
			return 0, nil, fmt.Errorf("input %q has no shape", in.Name)
		}
		shape := make([]int, len(in.Shape))
		for k, d := range in.Shape {
			shape[k] = int(d.Value)
			if d.Param != "" || d.Value < 0 {
				shape[k] = batch
			}
		}
		return 0, shape, nil
	}
	return 0, nil, errors.New("model has no non-initializer input")
}
