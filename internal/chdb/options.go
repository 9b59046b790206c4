package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Option configures the engine that Open starts. The engine is process-wide
// and starts once, so every Open of an engine that is already running must
// ask for the same settings.
type Option func(*options)

type options struct {
	settings  map[string]string
	allocator string
}

// WithSettings passes ClickHouse server settings to the engine as
// clickhouse-local arguments (--name=value): cache sizes, memory limits and
// the like. They override the package's defaults (see defaultSettings); path
// is set by Open and cannot be given.
func WithSettings(settings map[string]string) Option {
	return func(o *options) {
		for name, value := range settings {
			o.settings[name] = value
		}
	}
}

// WithAllocator sets the options of the engine's memory allocator, jemalloc,
// in its MALLOC_CONF syntax (e.g. "dirty_decay_ms:1000,narenas:1"). jemalloc
// reads them once, while the library loads, from the environment variable
// JE_MALLOC_CONF: they apply only when this Open loads the library, and a
// JE_MALLOC_CONF already in the environment takes precedence.
func WithAllocator(conf string) Option {
	return func(o *options) { o.allocator = conf }
}

// defaultSettings are the server settings of every engine this package
// starts. The engine shares its process with a Go program, so its memory
// worker must measure the engine's own allocations (jemalloc) rather than the
// cgroup, which also holds the Go heap and, on a shared host, other processes
// (a cgroup-wide figure can make the engine refuse queries for memory it does
// not use); and the memory limit stays the configured one instead of
// following the host's free memory.
var defaultSettings = map[string]string{
	"memory_worker_use_cgroup":         "0",
	"memory_worker_dynamic_hard_limit": "0",
}

var (
	settingName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	allocatorOption = regexp.MustCompile(`^[a-z_]+:[^,:\s]+$`)
)

// resolve applies opts over the defaults and checks the result.
func resolve(opts []Option) (options, error) {
	o := options{settings: maps.Clone(defaultSettings)}
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(o.settings)) {
		value := o.settings[name]
		switch {
		case name == "path":
			errs = append(errs, errors.New("setting path: set by the data directory, it cannot be given"))
		case !settingName.MatchString(name):
			errs = append(errs, fmt.Errorf("setting %q: not a setting name", name))
		case strings.ContainsAny(value, "\x00\n"):
			errs = append(errs, fmt.Errorf("setting %s: the value contains a NUL or a newline", name))
		}
	}
	if o.allocator != "" {
		for _, opt := range strings.Split(o.allocator, ",") {
			if !allocatorOption.MatchString(opt) {
				errs = append(errs, fmt.Errorf("allocator options %q: %q is not name:value", o.allocator, opt))
				break
			}
		}
	}
	return o, errors.Join(errs...)
}

// args returns the engine's arguments for the settings, sorted by name so
// that equal settings give equal arguments.
func (o options) args() []string {
	args := make([]string, 0, len(o.settings))
	for _, name := range slices.Sorted(maps.Keys(o.settings)) {
		args = append(args, "--"+name+"="+o.settings[name])
	}
	return args
}
