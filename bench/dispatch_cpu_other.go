//go:build !linux

package bench

import "time"

// processCPU is not measured on this platform.
func processCPU() (self, children time.Duration) { return 0, 0 }
