//go:build !darwin && !linux

package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"errors"
	"fmt"
	"runtime"
)

// chDB ships libraries for Linux and macOS only; elsewhere the package still
// compiles so that the collector builds, and loading reports why it cannot.
var errUnsupported = fmt.Errorf("chDB is not supported on %s: %w", runtime.GOOS, errors.ErrUnsupported)

func dlopen(string) (uintptr, error) { return 0, errUnsupported }

func dlsym(uintptr, string) (uintptr, error) { return 0, errUnsupported }

func dlclose(uintptr) error { return errUnsupported }
