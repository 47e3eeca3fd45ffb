//go:build !unix

package sqlite

// freeBytes cannot be read here: the probe relies on its write alone.
func freeBytes(string) (uint64, bool) { return 0, false }
