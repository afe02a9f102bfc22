//go:build unix

package bench

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) used so far by this process
// and by its children that have ended (the plugin processes of the
// clusters shut down so far).
func cpuTime() time.Duration {
	return rusageCPU(syscall.RUSAGE_SELF) + rusageCPU(syscall.RUSAGE_CHILDREN)
}

// rusageCPU is the CPU time (user and system) getrusage reports for who
// (0 when it fails).
func rusageCPU(who int) time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(who, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
