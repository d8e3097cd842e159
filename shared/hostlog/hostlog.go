package hostlog

import (
	"context"
	"io"
	"log/slog"
)

// New returns a JSON logger that writes records below Warn to stdout and
// the others to stderr, at level and above.
func New(stdout, stderr io.Writer, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	return slog.New(split{info: slog.NewJSONHandler(stdout, opts), problems: slog.NewJSONHandler(stderr, opts)})
}

// split routes each record by level to one of two handlers.
type split struct {
	info, problems slog.Handler
}

func (s split) Enabled(ctx context.Context, l slog.Level) bool {
	return s.pick(l).Enabled(ctx, l)
}

func (s split) Handle(ctx context.Context, r slog.Record) error {
	return s.pick(r.Level).Handle(ctx, r)
}

func (s split) WithAttrs(as []slog.Attr) slog.Handler {
	return split{info: s.info.WithAttrs(as), problems: s.problems.WithAttrs(as)}
}

func (s split) WithGroup(name string) slog.Handler {
	return split{info: s.info.WithGroup(name), problems: s.problems.WithGroup(name)}
}

func (s split) pick(l slog.Level) slog.Handler {
	if l >= slog.LevelWarn {
		return s.problems
	}
	return s.info
}
