// Command server is tlserve's HTTP server: it loads a pretrained backbone
// from an ONNX file, serves ImageNet predictions and embeddings, and
// fine-tunes classifier heads on uploaded images.
//
// Usage:
//
//	server [-addr :8080] [-model models/resnet50.onnx] [-data-dir data] [flags]
//
// Every flag has an environment fallback (TLSERVE_ADDR, TLSERVE_MODEL, ...);
// run server -h for the list. A flag given on the command line wins over
// the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

func run() int {
	cfg, err := parseConfig(os.Args[1:], os.LookupEnv, os.Stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		return 2
	}
	logger, err := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger, nil); err != nil {
		logger.Error("server stopped", "err", err)
		return 1
	}
	return 0
}
