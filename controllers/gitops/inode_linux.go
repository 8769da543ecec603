package gitops

import (
	"os"
	"syscall"
)

// inode returns the inode number behind info.
func inode(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
