//go:build windows

package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import "golang.org/x/sys/windows"

// freeBytes returns the bytes the collector's user can still use on the
// volume of dir.
func freeBytes(dir string) (uint64, error) {
	path, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(path, &free, &total, &totalFree); err != nil {
		return 0, err
	}
	return free, nil
}
