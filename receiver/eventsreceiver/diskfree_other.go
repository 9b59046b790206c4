//go:build !unix && !windows

package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import "errors"

// freeBytes has no file system statistics to read on this platform (plan9,
// wasm): the guard lets every write through, as for a file system it cannot
// read (diskGuard.check).
func freeBytes(string) (uint64, error) {
	return 0, errors.New("min_free_space is not supported on this platform")
}
