// Package hostlog writes the handler's log where the Azure Functions host
// reads it right.
//
// The host reads a custom handler's two output streams line by line
// (azure-functions-host src/WebJobs.Script/Workers/WorkerProcess.cs):
// every stdout line is logged as Information; a stderr line is logged as a
// Warning if it contains "warn", and as an Error otherwise (an HTTP worker
// uses the stderr stream for errors only). A handler that writes its whole
// log to stderr therefore fills Application Insights with errors.
//
// Invariants: a record below slog.LevelWarn is written to stdout, a record
// at Warn or above to stderr, one JSON object per line (slog's
// JSONHandler), so the level name "WARN" or "ERROR" is in the line the host
// classifies; attributes and groups apply to both streams alike.
package hostlog
