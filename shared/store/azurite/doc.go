// Package azurite starts and stops the Azurite storage emulator from the
// project's pinned node_modules, for tests and for `make run`.
//
// Invariants: Azurite listens on loopback only, on ports the OS picks (read
// back from its own output, so two test packages never race for a port);
// telemetry is off; each server gets a freshly generated account key, so no
// storage key is ever written into the repository; the process dies with its
// parent (Pdeathsig), so a killed test binary leaves no emulator behind.
package azurite
