// Package docs holds the API description, docs/openapi.yaml, for the
// eventsquery extension to serve and the tests to validate against: the
// file beside this one is the only copy.
package docs // import "github.com/otelcol-events/otelcol-events/docs"

import _ "embed"

// OpenAPI is docs/openapi.yaml, the OpenAPI 3.1 description of the HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
