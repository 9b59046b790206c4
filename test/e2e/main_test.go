//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/otelcol-events/otelcol-events/internal/openapitest"
)

// conformance checks every exchange of the suite with the API against
// docs/openapi.yaml: every client that uses http.DefaultTransport (call,
// callWith, http.Get) goes through it, and a call whose answer the
// description does not allow fails.
var conformance *openapitest.Transport

func TestMain(m *testing.M) {
	tr, err := openapitest.New(http.DefaultTransport)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	conformance = tr
	http.DefaultTransport = tr
	code := m.Run()
	if failures := tr.Failures(); len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "%d exchanges do not conform to docs/openapi.yaml:\n", len(failures))
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, "  "+f)
		}
		code = 1
	}
	fmt.Printf("docs/openapi.yaml: %d exchanges checked, %d failed\n", tr.Checked(), len(tr.Failures()))
	os.Exit(code)
}
