package plugins

import "syscall"

// sysProcAttr has the kernel kill a plugin when the node dies, so that no
// orphaned plugin outlives it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
