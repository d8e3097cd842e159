//go:build race

package main

// raceBuild: the test binary runs under the race detector, so the handler
// processes the chaos test starts are built with it too.
const raceBuild = true
