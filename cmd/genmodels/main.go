// Command genmodels writes the synthetic ResNet50 test models of
// internal/modelgen, each with its manifest JSON beside it.
//
//	go run ./cmd/genmodels -out DIR [-variant NAME] [-width 0.125 -size 64] [-seed 0] [-embedding]
//	go run ./cmd/genmodels -out DIR -zoo NAME|all [-full] [-size 224] [-seed 0] [-embedding]
//
// Without -variant it writes every ResNet50 variant. -zoo writes the other
// CNN families instead (MobileNetV2, EfficientNet-B0, DenseNet-121,
// GoogLeNet-style): small test sizes unless -full. Files are named NAME.onnx and
// NAME.json; existing files are replaced atomically.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tlserve/tlserve/internal/modelgen"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// config is the parsed command line.
type config struct {
	out     string
	variant string
	opts    modelgen.Options
	zoo     string
	full    bool
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("genmodels", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.out, "out", "", "output directory (created if missing)")
	fs.StringVar(&c.variant, "variant", "", fmt.Sprintf("variant to write; all when empty: %v", modelgen.Variants()))
	fs.Float64Var(&c.opts.Width, "width", 1, "channel width multiplier")
	fs.IntVar(&c.opts.InputSize, "size", 224, "input height and width")
	fs.IntVar(&c.opts.Classes, "classes", 1000, "number of classes")
	fs.Uint64Var(&c.opts.Seed, "seed", 0, "weight seed")
	fs.BoolVar(&c.opts.ExposeEmbedding, "embedding", false, "also expose the pooled embedding as graph output \""+modelgen.EmbeddingName+"\"")
	fs.StringVar(&c.zoo, "zoo", "", fmt.Sprintf("write this other CNN family instead, or all: %v", modelgen.ZooNames()))
	fs.BoolVar(&c.full, "full", false, "with -zoo: the real network's width, depth and 224x224 input")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if c.out == "" {
		return c, errors.New("-out is required")
	}
	if c.zoo != "" && c.zoo != "all" && !slices.Contains(modelgen.ZooNames(), c.zoo) {
		return c, fmt.Errorf("unknown -zoo %q (have all or %v)", c.zoo, modelgen.ZooNames())
	}
	if c.zoo != "" && c.variant != "" {
		return c, errors.New("-zoo and -variant are exclusive")
	}
	if c.variant != "" && !slices.Contains(modelgen.Variants(), c.variant) {
		return c, fmt.Errorf("unknown -variant %q (have %v)", c.variant, modelgen.Variants())
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "genmodels:", err)
		}
		return 2
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		fmt.Fprintln(stderr, "genmodels:", err)
		return 1
	}
	if c.zoo != "" {
		return writeZoo(c, stdout, stderr)
	}
	variants := modelgen.Variants()
	if c.variant != "" {
		variants = []string{c.variant}
	}
	for _, v := range variants {
		o := c.opts
		o.Variant = v
		path := filepath.Join(c.out, v+".onnx")
		if err := writeTimed(stdout, path, func() error { return modelgen.WriteFiles(path, o) }); err != nil {
			fmt.Fprintln(stderr, "genmodels:", err)
			return 1
		}
	}
	return 0
}

// writeZoo writes the -zoo models. -size keeps its own default of 224 for
// ResNet50, so it applies to zoo models only when -full is off and it was
// changed, or with -full.
func writeZoo(c config, stdout, stderr io.Writer) int {
	names := modelgen.ZooNames()
	if c.zoo != "all" {
		names = []string{c.zoo}
	}
	o := modelgen.ZooOptions{Full: c.full, Classes: c.opts.Classes, Seed: c.opts.Seed, ExposeEmbedding: c.opts.ExposeEmbedding}
	if c.full || c.opts.InputSize != 224 {
		o.InputSize = c.opts.InputSize
	}
	for _, name := range names {
		path := filepath.Join(c.out, name+".onnx")
		if err := writeTimed(stdout, path, func() error { return modelgen.WriteZooFiles(path, name, o) }); err != nil {
			fmt.Fprintln(stderr, "genmodels:", err)
			return 1
		}
	}
	return 0
}

// writeTimed runs write, which writes a model to path, and reports the
// file's size and the time taken on stdout. It returns write's error or
// the error of reading the file's size.
func writeTimed(stdout io.Writer, path string, write func() error) error {
	start := time.Now()
	if err := write(); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %d bytes in %.2fs\n", path, st.Size(), time.Since(start).Seconds())
	return nil
}
