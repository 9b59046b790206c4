package configs

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAPIKeysOverlayKeepsSingleNodeExtensions: config/api-keys.yaml replaces
// service::extensions of config/single-node.yaml (lists are not merged), so
// it must list all of them, and its two authenticators, which it configures.
func TestAPIKeysOverlayKeepsSingleNodeExtensions(t *testing.T) {
	base, overlay := load(t, "config/single-node.yaml"), load(t, "config/api-keys.yaml")
	want := append(slices.Clone(base.Service.Extensions), "bearertokenauth/write", "bearertokenauth/read")
	slices.Sort(want)
	got := slices.Sorted(slices.Values(overlay.Service.Extensions))
	require.Equal(t, want, got, "config/api-keys.yaml service::extensions")
	for _, auth := range []string{"bearertokenauth/write", "bearertokenauth/read"} {
		require.Contains(t, overlay.Extensions, auth)
	}
	for _, name := range []string{"events", "otlp"} {
		require.Contains(t, base.Receivers, name, "the overlay sets auth on a receiver config/single-node.yaml has")
	}
	require.Contains(t, base.Extensions, "eventsquery")
}
