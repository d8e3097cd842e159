//go:build race

package host

// raceEnabled: the tests run with the race detector, so the handler they
// build for TestThreeInstances gets it too.
const raceEnabled = true
