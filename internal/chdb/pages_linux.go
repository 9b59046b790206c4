package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseLibraryPages drops from the process's resident set the pages of the
// library's mappings that hold code and constants only, and returns how many
// bytes of mappings it released.
//
// Starting the engine runs the initializers of all of ClickHouse (functions,
// formats, settings, table engines ...) and leaves about 170 MB of the
// library resident, most of it never run again; a later access faults the
// page back in from the page cache (a minor fault). Only read-only private
// mappings without a private (copy-on-write) page qualify: for them
// MADV_DONTNEED is exactly "forget the pages, read them from the file again",
// whereas the relocated and writable segments hold data that exists nowhere
// else.
func releaseLibraryPages(path string) (int64, error) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	var released int64
	for _, m := range cleanReadOnlyMappings(smaps, path) {
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			return released, fmt.Errorf("madvise %#x-%#x: %w", m.start, m.end, errno)
		}
		released += int64(m.end - m.start)
	}
	return released, nil
}

// mapping is an address range [start, end) of the process.
type mapping struct{ start, end uintptr }

// cleanReadOnlyMappings returns, from the text of /proc/self/smaps, the
// mappings of the file at path that are private, not writable, and have no
// anonymous (copied-on-write) or swapped page.
func cleanReadOnlyMappings(smaps []byte, path string) []mapping {
	var (
		out     []mapping
		cur     mapping
		inFile  bool // the current entry maps path read-only and privately
		touched bool // the current entry has a private page
	)
	flush := func() {
		if inFile && !touched {
			out = append(out, cur)
		}
		inFile, touched = false, false
	}
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if start, end, ok := parseRange(fields[0]); ok && len(fields) >= 5 {
			// A mapping's header: range, perms, offset, device, inode, path.
			flush()
			perms := fields[1]
			inFile = len(fields) == 6 && fields[5] == path && len(perms) == 4 && perms[1] == '-' && perms[3] == 'p'
			cur = mapping{start: start, end: end}
			continue
		}
		// A copied-on-write page is anonymous (or swapped out). Private_Dirty
		// is no sign of one: it also counts file pages that are dirty in the
		// page cache, as the whole library is right after it was unpacked,
		// and those are safe to drop (the page cache keeps them).
		switch fields[0] {
		case "Anonymous:", "Swap:":
			if len(fields) >= 2 && fields[1] != "0" {
				touched = true
			}
		}
	}
	flush()
	return out
}

// parseRange parses "start-end" in hexadecimal.
func parseRange(s string) (start, end uintptr, ok bool) {
	lo, hi, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	a, err := strconv.ParseUint(lo, 16, 64)
	if err != nil {
		return 0, 0, false
	}
	b, err := strconv.ParseUint(hi, 16, 64)
	if err != nil || b <= a {
		return 0, 0, false
	}
	return uintptr(a), uintptr(b), true
}
