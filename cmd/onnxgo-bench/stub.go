//go:build !onnxgo

// Command onnxgo-bench is built only with the onnxgo build tag, which pulls
// in onnx-go and gorgonia; see main.go. Without the tag it explains how to
// build it and exits 2.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "onnxgo-bench: built without onnx-go; run: go run -tags onnxgo ./cmd/onnxgo-bench -model FILE")
	os.Exit(2)
}
