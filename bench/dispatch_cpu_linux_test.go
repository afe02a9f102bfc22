//go:build linux

package bench

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	line := []byte("4242 (hive agent) S 17 4242 17 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0 123 0 0")
	ppid, cpu, ok := parseProcStat(line)
	if !ok || ppid != 17 || cpu != 3250*time.Millisecond {
		t.Fatalf("parseProcStat = %d, %v, %v; want 17, 3.25s, true", ppid, cpu, ok)
	}
	if _, _, ok := parseProcStat([]byte("4242 (x) S")); ok {
		t.Fatal("a short line parsed")
	}
	self, _ := processCPU()
	if self <= 0 {
		t.Fatalf("processCPU: self %v", self)
	}
}
