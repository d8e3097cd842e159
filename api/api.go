// Package api holds the HTTP API's contract, api/openapi.yaml, embedded so
// that Go code (the contract tests, the response validation of every test
// server) reads the very document that is linted and published.
package api

import _ "embed"

// OpenAPI is api/openapi.yaml as committed.
//
//go:embed openapi.yaml
var OpenAPI []byte
