//go:build !linux

package gemm

import "time"

// threadCPU is not available: CPU-time metrics are omitted.
func threadCPU() time.Duration { return 0 }

func lockThread() func() { return func() {} }
