//go:build linux

package bench

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/<pid>/stat. Linux
// reports them in USER_HZ, which is 100 on every architecture Go supports.
const clockTicks = 100

// processCPU returns the CPU time (user and system) this process has used
// so far, and the CPU time used so far by its live child processes (the
// agent plugin processes), read from /proc.
func processCPU() (self, children time.Duration) {
	self = rusageCPU(syscall.RUSAGE_SELF)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return self, 0
	}
	me := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == me {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		ppid, cpu, ok := parseProcStat(b)
		if ok && ppid == me {
			children += cpu
		}
	}
	return self, children
}

// parseProcStat returns the parent PID and the CPU time (utime + stime)
// of a /proc/<pid>/stat line.
func parseProcStat(b []byte) (ppid int, cpu time.Duration, ok bool) {
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	pp, err1 := strconv.Atoi(string(f[1]))
	ut, err2 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err3 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return pp, time.Duration(ut+st) * time.Second / clockTicks, true
}
