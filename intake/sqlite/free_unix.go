//go:build unix

package sqlite

import "syscall"

// freeBytes is the space on dir's filesystem that this process may fill, and whether it could
// be read.
func freeBytes(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true
}
