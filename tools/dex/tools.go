//go:build tools

// Package dex pins the Dex OpenID Connect provider that the sign-in tests run
// on loopback. Dex cannot be `go install`ed from its release tags (its go.mod
// says github.com/dexidp/dex, not /v2, and it replaces its api/v2 module with
// a directory), so this module requires a pseudo-version of it and builds
// github.com/dexidp/dex/cmd/dex from here. It is a module of its own so that
// Dex's many dependencies never enter the service's go.mod.
package dex

import _ "github.com/dexidp/dex/cmd/dex"
