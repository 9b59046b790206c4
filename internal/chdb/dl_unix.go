//go:build darwin || linux

package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import "github.com/ebitengine/purego"

// dlopen resolves every symbol at load time (RTLD_NOW) so that a broken or
// incompatible library fails here rather than at the first query, and keeps
// the library's many symbols out of the global namespace (RTLD_LOCAL).
func dlopen(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func dlsym(handle uintptr, name string) (uintptr, error) {
	return purego.Dlsym(handle, name)
}

func dlclose(handle uintptr) error {
	return purego.Dlclose(handle)
}
