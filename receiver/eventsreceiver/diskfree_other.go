//go:build !unix

package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import "errors"

// freeBytes is not implemented here: the guard lets every write through.
func freeBytes(string) (uint64, error) {
	return 0, errors.New("min_free_space is not supported on this platform")
}
