// Package settings is the catalogue of every app setting the handler reads,
// and the one place that reads them.
//
// Why a catalogue: the same names must appear in local.settings.json.example,
// in the Function App's app settings in infra/, and in the docs; tests compare
// those against Catalogue, so a setting added here and forgotten there fails
// the build instead of failing in production.
//
// Invariant: Load reads only names listed in Catalogue (a test checks this by
// recording every name Load asks for).
package settings
