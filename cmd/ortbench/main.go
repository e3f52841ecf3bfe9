//go:build ort

// Command ortbench times ONNX Runtime on a model, for side-by-side
// comparison with tlserve's engine (cmd/onnxrun); scripts/bench.sh runs both.
//
//	ortbench -model m.onnx [-bench 20] [-batch 8] [-threads 2] [-size 224] [-lib PATH]
//
// After one untimed warm-up run it times -bench runs of a batch of the
// deterministic modelgen.Input (seed 1) and prints, as its last line, the
// same machine-readable line as onnxrun:
//
//	ms_per_image=41.7 images_per_second=24.0 peak_rss_mb=310
//
// peak_rss_mb is the process's VmHWM from /proc/self/status in MiB (0 where
// that file does not exist). The library comes from -lib, else $ORT_LIB,
// else ortrun.FindLibrary's defaults.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tlserve/tlserve/internal/modelgen"
	"github.com/tlserve/tlserve/internal/ortrun"
	"github.com/tlserve/tlserve/internal/procstat"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv("ORT_LIB"), os.Stdout, os.Stderr)) }

// config is the parsed command line.
type config struct {
	model   string
	bench   int
	batch   int
	threads int
	size    int
	lib     string
}

func parse(args []string, envLib string, stderr io.Writer) (config, error) {
	c := config{lib: envLib}
	fs := flag.NewFlagSet("ortbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.model, "model", "", "ONNX model file")
	fs.IntVar(&c.bench, "bench", 20, "number of timed runs")
	fs.IntVar(&c.batch, "batch", 1, "images per run")
	fs.IntVar(&c.threads, "threads", 1, "intra-op threads")
	fs.IntVar(&c.size, "size", 224, "input height and width when the model's are symbolic")
	fs.StringVar(&c.lib, "lib", c.lib, "ONNX Runtime shared library (default $ORT_LIB)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	case c.model == "":
		return c, errors.New("-model is required")
	case c.bench < 1 || c.batch < 1 || c.threads < 1 || c.size < 1:
		return c, errors.New("-bench, -batch, -threads and -size must be positive")
	}
	return c, nil
}

func run(args []string, envLib string, stdout, stderr io.Writer) int {
	c, err := parse(args, envLib, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "ortbench:", err)
		}
		return 2
	}
	if err := bench(c, stdout); err != nil {
		fmt.Fprintln(stderr, "ortbench:", err)
		return 1
	}
	return 0
}

func bench(c config, stdout io.Writer) error {
	s, err := ortrun.Open(c.model, ortrun.Options{Threads: c.threads, Library: c.lib})
	if err != nil {
		return err
	}
	defer s.Close()
	names := s.InputNames()
	if len(names) != 1 {
		return fmt.Errorf("%s has %d inputs %v; ortbench feeds models with one image input", c.model, len(names), names)
	}
	shape := s.InputShape(names[0])
	if len(shape) != 4 {
		return fmt.Errorf("input %q has shape %v, want [N,C,H,W]", names[0], shape)
	}
	shape[0] = int64(c.batch)
	for i := 1; i < 4; i++ {
		if shape[i] < 1 {
			shape[i] = int64(c.size)
		}
	}
	data := make([]float32, shape[0]*shape[1]*shape[2]*shape[3])
	modelgen.Input(data, 1)
	in := map[string]ortrun.Tensor{names[0]: {Shape: shape, Data: data}}
	if _, err := s.Run(in); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	start := time.Now()
	for range c.bench {
		if _, err := s.Run(in); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	images := float64(c.bench * c.batch)
	fmt.Fprintf(stdout, "ortbench: onnxruntime %s, model %s, input %v, %d threads, %d runs in %.3fs\n",
		ortrun.Version(), c.model, shape, c.threads, c.bench, elapsed.Seconds())
	fmt.Fprintf(stdout, "ms_per_image=%.1f images_per_second=%.1f peak_rss_mb=%d\n",
		elapsed.Seconds()*1000/images, images/elapsed.Seconds(), peakRSSMiB())
	return nil
}

// peakRSSMiB returns the peak resident set size in MiB, or 0 if unknown.
func peakRSSMiB() int {
	mb, err := procstat.PeakRSSMiB()
	if err != nil {
		return 0
	}
	return mb
}
