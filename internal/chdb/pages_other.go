//go:build !linux

package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

// releaseLibraryPages is a Linux optimization (see pages_linux.go); elsewhere
// the pages stay resident.
func releaseLibraryPages(string) (int64, error) { return 0, nil }
