package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanReadOnlyMappings(t *testing.T) {
	const lib = "/opt/lib/libchdb.so"
	smaps := `7f0000000000-7f0000100000 r--p 00000000 fe:00 42                         /opt/lib/libchdb.so
Size:               1024 kB
Rss:                 512 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd mr mw me sd
7f0000100000-7f0000300000 r-xp 00100000 fe:00 42                         /opt/lib/libchdb.so
Size:               2048 kB
Rss:                1024 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
7f0000300000-7f0000310000 r--p 00300000 fe:00 42                         /opt/lib/libchdb.so
Size:                 64 kB
Rss:                  64 kB
Private_Dirty:        64 kB
Anonymous:            64 kB
VmFlags: rd mr mw me ac sd
7f0000310000-7f0000320000 rw-p 00310000 fe:00 42                         /opt/lib/libchdb.so
Size:                 64 kB
Anonymous:             0 kB
7f0000320000-7f0000330000 r--s 00000000 fe:00 43                         /opt/lib/libchdb.so
Size:                 64 kB
Anonymous:             0 kB
7f0000330000-7f0000340000 r-xp 00000000 fe:00 44                         /opt/lib/libother.so
Anonymous:             0 kB
7f0000340000-7f0000350000 rw-p 00000000 00:00 0
Anonymous:            64 kB
7f0000350000-7f0000360000 r--p 00000000 fe:00 45                         /opt/lib/libchdb.so (deleted)
Anonymous:             0 kB
`
	// The constants and the code; not the relocated segment (copied on
	// write), the writable one, a shared mapping, another file, anonymous
	// memory or a replaced file.
	assert.Equal(t, []mapping{
		{start: 0x7f0000000000, end: 0x7f0000100000},
		{start: 0x7f0000100000, end: 0x7f0000300000},
	}, cleanReadOnlyMappings([]byte(smaps), lib))
	assert.Empty(t, cleanReadOnlyMappings([]byte(smaps), "/opt/lib/libchdb"))
}

// TestReleaseLibraryPages drops the engine's code from the resident set
// while the engine runs; it keeps answering.
func TestReleaseLibraryPages(t *testing.T) {
	conn := openTemp(t)
	lib, err := filepath.Abs(libPath(t))
	require.NoError(t, err)
	assert.Equal(t, "499500\n", mustQuery(t, conn, "SELECT sum(number) FROM numbers(1000)", "TabSeparated"))

	before := libraryResident(t, lib)
	released, err := releaseLibraryPages(lib)
	require.NoError(t, err)
	assert.Greater(t, released, int64(100<<20), "the library maps hundreds of MB of code and constants")
	assert.Less(t, libraryResident(t, lib), before)

	assert.Equal(t, "499500\n", mustQuery(t, conn, "SELECT sum(number) FROM numbers(1000)", "TabSeparated"))
}

// libraryResident returns the resident bytes of the library's clean
// read-only mappings.
func libraryResident(t *testing.T, lib string) int64 {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	var total int64
	for _, m := range cleanReadOnlyMappings(smaps, lib) {
		total += residentBytes(t, smaps, m)
	}
	return total
}

// residentBytes returns the Rss of the smaps entry that starts at m.start.
func residentBytes(t *testing.T, smaps []byte, m mapping) int64 {
	t.Helper()
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if start, _, ok := parseRange(fields[0]); ok {
			in = start == m.start
			continue
		}
		if in && fields[0] == "Rss:" && len(fields) >= 2 {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	return 0
}
