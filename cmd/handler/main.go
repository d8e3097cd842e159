// Command handler is the Azure Functions custom handler: one HTTP server that
// the Functions host (or cmd/devhost locally) calls for every function.
// main only reads the configuration, has the composition root
// (internal/app) build the service, and serves.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/hostlog"
	"github.com/studio-collab/collab/shared/settings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := settings.Load(getenv)
	if err != nil {
		return err
	}
	// Information to stdout, warnings and errors to stderr: the host logs
	// every other stderr line as an error (shared/hostlog).
	log := hostlog.New(os.Stdout, os.Stderr, cfg.LogLevel)

	srv, err := app.NewServer(ctx, cfg, log, version)
	if err != nil {
		return err
	}
	defer srv.Close()
	go srv.Bootstrap(ctx)

	ln, err := net.Listen("tcp", "127.0.0.1:"+cfg.Port)
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", cfg.Port, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("handler listening", "port", cfg.Port, "maxInFlight", cfg.MaxInFlight, "version", version, "environment", cfg.Environment, "local", cfg.Local)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("handler stopped")
	return nil
}
