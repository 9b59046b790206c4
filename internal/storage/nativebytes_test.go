package storage

import (
	"strings"
	"testing"
)

func TestNativeBytes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200) // a two-byte length prefix
	tests := []struct {
		name    string
		columns []Column
		want    int
	}{
		{"none", nil, 0},
		{"strings", []Column{{"s", []string{"", "ab", long}}}, 1 + 3 + 2 + 200},
		{"fixed", []Column{{"u", []uint64{1, 2}}, {"i", []int64{3}}, {"f", []float64{1.5}}, {"b", []uint8{1, 0, 1}}}, 16 + 8 + 8 + 3},
		{"arrays", []Column{{"a", [][]uint64{{1, 2}, {}}}, {"k", [][]string{{"ab"}, {}}}}, (8 + 16) + 8 + (8 + 3) + 8},
	}
	for _, tt := range tests {
		if got := nativeBytes(tt.columns); got != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, got, tt.want)
		}
	}
}
