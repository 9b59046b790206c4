package eventspartitionerextension

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind: a
// component must stop everything it started on Shutdown.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
