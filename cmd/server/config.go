package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/tlserve/tlserve/internal/backbone"
	tlhttp "github.com/tlserve/tlserve/internal/http"
	"github.com/tlserve/tlserve/internal/imageprep"
	"github.com/tlserve/tlserve/internal/jobs"
)

// config is the server's whole configuration, parsed once from flags with
// environment fallbacks and passed down.
type config struct {
	Addr             string
	Model            string
	DataDir          string
	Threads          int
	BatchSize        int
	PredictMaxBytes  int64
	FinetuneMaxBytes int64
	ArchiveMaxBytes  int64
	MaxPixels        int
	MaxFiles         int
	MaxInFlight      int
	QueueSize        int
	JobTimeout       time.Duration
	ReadTimeout      time.Duration
	ShutdownTimeout  time.Duration
	LogLevel         string
	LogFormat        string
}

// errHelp is returned by parseConfig after printing the usage for -h.
var errHelp = flag.ErrHelp

// parseConfig parses args into a config. Each flag falls back to its
// environment variable (looked up with getenv) when absent from args, and
// to its default when neither is set. Usage goes to out.
func parseConfig(args []string, getenv func(string) (string, bool), out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(out)
	type envFlag struct{ name, env string }
	var vars []envFlag
	str := func(p *string, name, env, def, usage string) {
		fs.StringVar(p, name, def, usage+" (env "+env+")")
		vars = append(vars, envFlag{name, env})
	}
	num := func(p *int, name, env string, def int, usage string) {
		fs.IntVar(p, name, def, usage+" (env "+env+")")
		vars = append(vars, envFlag{name, env})
	}
	size := func(p *int64, name, env string, def int64, usage string) {
		*p = def
		fs.Var((*byteSize)(p), name, usage+"; accepts KiB, MiB, GiB suffixes (env "+env+")")
		vars = append(vars, envFlag{name, env})
	}
	dur := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		fs.DurationVar(p, name, def, usage+" (env "+env+")")
		vars = append(vars, envFlag{name, env})
	}
	str(&c.Addr, "addr", "TLSERVE_ADDR", ":8080", "listen address")
	str(&c.Model, "model", "TLSERVE_MODEL", "models/resnet50.onnx", "backbone ONNX file; its manifest (.json) and labels sit beside it")
	str(&c.DataDir, "data-dir", "TLSERVE_DATA_DIR", "data", "directory for everything the server writes: heads, datasets, embeddings, jobs")
	num(&c.Threads, "threads", "TLSERVE_THREADS", 0, "goroutines per network run; 0 means all CPUs")
	num(&c.BatchSize, "batch-size", "TLSERVE_BATCH_SIZE", backbone.DefaultBatchSize, "images per network run")
	size(&c.PredictMaxBytes, "max-predict-bytes", "TLSERVE_MAX_PREDICT_BYTES", tlhttp.DefaultPredictMaxBytes, "body limit of /predict and /embed")
	size(&c.FinetuneMaxBytes, "max-finetune-bytes", "TLSERVE_MAX_FINETUNE_BYTES", tlhttp.DefaultFinetuneMaxBytes, "body limit of /finetune")
	size(&c.ArchiveMaxBytes, "max-archive-bytes", "TLSERVE_MAX_ARCHIVE_BYTES", tlhttp.DefaultArchiveMaxBytes, "decompressed content of the archives of one /finetune upload, all together")
	num(&c.MaxPixels, "max-pixels", "TLSERVE_MAX_PIXELS", imageprep.DefaultMaxPixels, "largest width*height of one image")
	num(&c.MaxFiles, "max-files", "TLSERVE_MAX_FILES", tlhttp.DefaultMaxFiles, "most files in one upload, archive entries included")
	num(&c.MaxInFlight, "max-in-flight", "TLSERVE_MAX_IN_FLIGHT", 4*runtime.GOMAXPROCS(0), "concurrent /predict, /embed and /finetune requests before 503")
	num(&c.QueueSize, "queue-size", "TLSERVE_QUEUE_SIZE", jobs.DefaultQueueSize, "fine-tune jobs waiting to run before 429")
	dur(&c.JobTimeout, "job-timeout", "TLSERVE_JOB_TIMEOUT", 2*time.Hour, "longest run of one fine-tune job; 0 means no limit")
	dur(&c.ReadTimeout, "read-timeout", "TLSERVE_READ_TIMEOUT", 10*time.Minute, "longest time to read one request, body included, so slow uploads cannot hold a slot forever; 0 means no limit")
	dur(&c.ShutdownTimeout, "shutdown-timeout", "TLSERVE_SHUTDOWN_TIMEOUT", 30*time.Second, "time to drain requests and stop the running job on SIGTERM")
	str(&c.LogLevel, "log-level", "TLSERVE_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "TLSERVE_LOG_FORMAT", "text", "text or json")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, v := range vars {
		if set[v.name] {
			continue
		}
		if val, ok := getenv(v.env); ok && val != "" {
			if err := fs.Set(v.name, val); err != nil {
				return c, fmt.Errorf("%s=%q: %w", v.env, val, err)
			}
		}
	}
	return c, c.validate()
}

func (c config) validate() error {
	var errs []error
	if c.Model == "" {
		errs = append(errs, errors.New("-model is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("-data-dir is required"))
	}
	for _, n := range []struct {
		name string
		v    int64
		min  int64
	}{
		{"threads", int64(c.Threads), 0}, {"batch-size", int64(c.BatchSize), 1},
		{"max-predict-bytes", c.PredictMaxBytes, 1}, {"max-finetune-bytes", c.FinetuneMaxBytes, 1},
		{"max-archive-bytes", c.ArchiveMaxBytes, 1},
		{"max-pixels", int64(c.MaxPixels), 1}, {"max-files", int64(c.MaxFiles), 1},
		{"max-in-flight", int64(c.MaxInFlight), 1}, {"queue-size", int64(c.QueueSize), 1},
		{"job-timeout", int64(c.JobTimeout), 0}, {"shutdown-timeout", int64(c.ShutdownTimeout), 0},
		{"read-timeout", int64(c.ReadTimeout), 0},
	} {
		if n.v < n.min {
			errs = append(errs, fmt.Errorf("-%s must be at least %d", n.name, n.min))
		}
	}
	return errors.Join(errs...)
}

// byteSize is a flag.Value for a byte count with an optional binary
// (KiB, MiB, GiB) or decimal (KB, MB, GB) suffix.
type byteSize int64

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("invalid size %q: want a byte count such as 16MiB", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// newLogger returns a slog logger writing to w at level in format (text
// or json).
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}
