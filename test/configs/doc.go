// Package configs checks the shipped collector configurations against each
// other; it has no code of its own, only tests that run in `go test ./...`.
package configs
