package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tlserve/tlserve/internal/backbone"
	"github.com/tlserve/tlserve/internal/finetune"
	tlhttp "github.com/tlserve/tlserve/internal/http"
	"github.com/tlserve/tlserve/internal/jobs"
	"github.com/tlserve/tlserve/internal/metrics"
	"github.com/tlserve/tlserve/internal/store"
)

// serve runs the server until ctx is done, then shuts it down gracefully:
// /readyz turns 503, in-flight requests finish, the running fine-tune job
// is stopped and recorded, and serve returns nil. It listens before
// loading the backbone, so /healthz answers during the load while every
// other route answers 503. listening, when not nil, is called with the
// bound address (tests listen on port 0).
func serve(ctx context.Context, cfg config, logger *slog.Logger, listening func(addr string)) error {
	if _, err := os.Stat(cfg.Model); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backbone model %s not found: run `make model` (or scripts/get-model.sh %s) to download ResNet50, "+
				"or point -model / TLSERVE_MODEL at an ONNX file with its manifest beside it", cfg.Model, cfg.Model)
		}
		return fmt.Errorf("backbone model: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	gate := tlhttp.NewGate()
	srv := &http.Server{
		Handler:           gate,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())
	if listening != nil {
		listening(ln.Addr().String())
	}

	app, err := start(ctx, cfg, logger)
	if err != nil {
		srv.Close()
		return err
	}
	gate.Open(app.api)
	logger.Info("ready", "backbone", app.bb.Name(), "embedding_dim", app.bb.Dim())

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		app.close(context.Background(), logger)
		return fmt.Errorf("http server: %w", err)
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	gate.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Requests drain while the job manager stops the running job: neither
	// waits for the other.
	jobsDone := make(chan error, 1)
	go func() { jobsDone <- app.jobs.Close(sctx) }()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("requests still in flight at the shutdown deadline", "err", err)
		srv.Close()
	}
	if err := <-jobsDone; err != nil {
		logger.Warn("fine-tune job did not stop before the shutdown deadline", "err", err)
	}
	app.close(sctx, logger)
	logger.Info("stopped")
	return nil
}

// app holds the loaded components.
type app struct {
	bb   *backbone.Backbone
	jobs *jobs.Manager
	api  *tlhttp.Server
}

// start loads the backbone, warms it up and wires the store, the job queue
// and the HTTP API.
func start(ctx context.Context, cfg config, logger *slog.Logger) (*app, error) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)

	t := time.Now()
	bb, err := backbone.New(backbone.Options{
		ModelPath: cfg.Model, Threads: cfg.Threads, MaxPixels: cfg.MaxPixels,
		BatchSize: cfg.BatchSize, Observer: m, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	if err := bb.Warmup(ctx); err != nil {
		bb.Close()
		return nil, err
	}
	logger.Info("backbone warmed up", "took", time.Since(t).Round(time.Millisecond))
	m.SetBackbone(bb.Name(), bb.ID(), bb.InputSize(), bb.Dim())

	st, err := store.Open(cfg.DataDir, store.Options{Logger: logger})
	if err != nil {
		bb.Close()
		return nil, err
	}
	ft, err := finetune.New(finetune.Options{Store: st, Embedder: bb, MaxPixels: cfg.MaxPixels, Observer: m, Logger: logger})
	if err != nil {
		bb.Close()
		return nil, err
	}
	jm, err := jobs.New(jobs.Options{Runner: ft, Store: st, QueueSize: cfg.QueueSize, Timeout: cfg.JobTimeout, Observer: m, Logger: logger})
	if err != nil {
		bb.Close()
		return nil, err
	}
	api, err := tlhttp.NewServer(tlhttp.Options{
		Backbone: bb, Models: st, Jobs: jm, Observer: m,
		Metrics:         promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}),
		Logger:          logger,
		PredictMaxBytes: cfg.PredictMaxBytes, FinetuneMaxBytes: cfg.FinetuneMaxBytes, ArchiveMaxBytes: cfg.ArchiveMaxBytes,
		MaxFiles: cfg.MaxFiles, MaxInFlight: cfg.MaxInFlight,
	})
	if err != nil {
		jm.Close(context.Background())
		bb.Close()
		return nil, err
	}
	return &app{bb: bb, jobs: jm, api: api}, nil
}

// close releases the backbone once nothing uses it any more.
func (a *app) close(ctx context.Context, logger *slog.Logger) {
	if err := a.jobs.Close(ctx); err != nil {
		logger.Warn("close job manager", "err", err)
	}
	if err := a.bb.Close(); err != nil {
		logger.Warn("close backbone", "err", err)
	}
}
