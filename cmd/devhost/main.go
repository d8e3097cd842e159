// Command devhost is the local stand-in for the Azure Functions host (Core
// Tools cannot be installed here). With -azurite and -maildev it is also what
// `make run` uses to start the whole local stack and stop it on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/studio-collab/collab/cmd/devhost/host"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/devproc"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/store/azurite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devhost:", err)
		os.Exit(1)
	}
}

type flags struct {
	root, settings, handler string
	port                    int
	azurite, maildev        bool
	azuritePortBase         int
	smtpPort, mailWebPort   int
	banner                  bool
	devAuth                 bool
	seedWith                string
	standinPort             int
	instances               int
	logFile                 string
}

func run() error {
	var f flags
	flag.StringVar(&f.root, "root", ".", "the function app root (host.json, functions/)")
	flag.StringVar(&f.settings, "settings", "", "local settings file (default <root>/local.settings.json; missing = none)")
	flag.StringVar(&f.handler, "handler", "", "handler binary (default host.json's defaultExecutablePath)")
	flag.IntVar(&f.port, "port", 7071, "port to listen on (loopback)")
	flag.BoolVar(&f.azurite, "azurite", false, "start Azurite (data in <root>/.azurite) and give its connection string to the handler")
	flag.IntVar(&f.azuritePortBase, "azurite-port", 10000, "Azurite blob port; queue and table use the next two (0 = any free ports)")
	flag.BoolVar(&f.maildev, "maildev", false, "start MailDev as the SMTP catcher")
	flag.IntVar(&f.smtpPort, "smtp-port", 1025, "MailDev SMTP port")
	flag.IntVar(&f.mailWebPort, "mail-web-port", 1080, "MailDev web UI port")
	flag.BoolVar(&f.banner, "banner", false, "print where everything is once it is up")
	flag.StringVar(&f.seedWith, "seed-with", "", "once healthy, run `<this collab binary> dev seed --api <devhost>` to seed the demo")
	flag.BoolVar(&f.devAuth, "dev-auth", false, "turn on the handler's dev token issuer at http://127.0.0.1:<port>/api/dev")
	flag.IntVar(&f.standinPort, "workportal-standin", 0, "serve the Work Portal STAND-IN (not the Work Portal) on this loopback port, and point the seeded demo environments at it (0 = off)")
	flag.IntVar(&f.instances, "instances", 1, "handler processes to run side by side, as Flex Consumption scales out (requests and messages are spread across them)")
	flag.StringVar(&f.logFile, "log-file", "", "write the JSON log (devhost and handler) to this file and show a readable line per invocation instead (make run: .run/devhost.log)")
	flag.Parse()

	root, err := filepath.Abs(f.root)
	if err != nil {
		return err
	}
	if f.settings == "" {
		f.settings = filepath.Join(root, "local.settings.json")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var view *logView
	var handlerOut io.Writer // nil: the handler's output on stderr, as is
	if f.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(f.logFile), 0o700); err != nil {
			return err
		}
		lf, err := os.Create(f.logFile)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		defer lf.Close()
		view = newLogView(lf, os.Stdout, f.logFile)
		log, handlerOut = slog.New(slog.NewJSONHandler(view, nil)), view
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.port))
	if err != nil {
		return fmt.Errorf("port %d: %w (is another devhost running? use -port)", f.port, err)
	}
	// The devhost is a developer's machine by definition: the only place,
	// with tests, that sets the local policy (dev sign-in, loopback egress,
	// http callbacks, mail without TLS). Without it the handler runs with
	// the cloud policy, as on Flex Consumption.
	overrides := map[string]string{"COLLAB_ENVIRONMENT": "local"}
	if f.devAuth {
		// The issuer URL must be where clients (and go-oidc discovery) reach
		// it: through this devhost, on this port.
		overrides["COLLAB_DEV_AUTH"] = "true"
		overrides["COLLAB_DEV_ISSUER_URL"] = "http://127.0.0.1:" + strconv.Itoa(f.port) + "/api/dev"
		if f.seedWith != "" {
			// The console's sign-in offers the seeded demo users with one click.
			overrides["COLLAB_CONSOLE_DEMO_USERS"] = demoUsers
		}
	}
	var storageURLs string
	var inbound devMail
	if f.azurite {
		opt := azurite.Options{Root: root, Location: filepath.Join(root, ".azurite"), Log: io.Discard}
		if f.azuritePortBase > 0 {
			opt.BlobPort, opt.QueuePort, opt.TablePort = f.azuritePortBase, f.azuritePortBase+1, f.azuritePortBase+2
		}
		az, err := azurite.Start(ctx, opt)
		if err != nil {
			return fmt.Errorf("%w (ports %d-%d busy? use -azurite-port 0)", err, f.azuritePortBase, f.azuritePortBase+2)
		}
		defer az.Stop()
		overrides["AzureWebJobsStorage"] = az.ConnectionString()
		storageURLs = fmt.Sprintf("blob http://127.0.0.1:%d  queue http://127.0.0.1:%d  table http://127.0.0.1:%d  (account %s, key generated for this run)",
			az.BlobPort, az.QueuePort, az.TablePort, az.Account)
	}
	if f.maildev {
		md, err := startMailDev(root, f.smtpPort, f.mailWebPort)
		if err != nil {
			return err
		}
		defer md.stop()
		if inbound, err = mailOverrides(root, f.port, f.smtpPort, overrides); err != nil {
			return err
		}
	}

	app, err := manifest.Load(root, f.settings, func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return os.Getenv(k)
	})
	if err != nil {
		return err
	}
	h, err := host.New(host.Options{App: app, HandlerPath: f.handler, Overrides: overrides, Log: log, Output: handlerOut, Schedules: scheduleParser(), Instances: f.instances})
	if err != nil {
		return err
	}
	if err := h.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()

	if f.banner || f.seedWith != "" {
		waitHealthy(ctx, f.port)
	}
	standinURL := ""
	if f.standinPort > 0 {
		sln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.standinPort))
		if err != nil {
			return fmt.Errorf("work portal stand-in port %d: %w (use -workportal-standin with another port)", f.standinPort, err)
		}
		// Unhealthy for 3 s after a restart, so a window's health wait shows.
		ssrv := &http.Server{Handler: standin.New(3*time.Second, nil), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = ssrv.Serve(sln) }()
		defer ssrv.Close()
		standinURL = "http://127.0.0.1:" + strconv.Itoa(f.standinPort)
	}
	if f.seedWith != "" {
		seedArgs := []string{"dev", "seed", "--api", "http://127.0.0.1:" + strconv.Itoa(f.port)}
		if standinURL != "" {
			seedArgs = append(seedArgs, "--workportal", standinURL)
		}
		seed := exec.CommandContext(ctx, f.seedWith, seedArgs...)
		seed.Stdout, seed.Stderr = os.Stdout, os.Stderr
		if err := seed.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "devhost: seeding the demo failed:", err)
		}
	}
	if f.banner {
		banner := func(w io.Writer) {
			printBanner(w, f, storageURLs, app, inbound, func(w io.Writer) {
				if standinURL != "" {
					printDeployBanner(w, f.port, standinURL)
				}
			})
		}
		if view != nil {
			view.Last(banner)
		} else {
			banner(os.Stdout)
		}
	}
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "devhost: stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	h.Close()
	return nil
}

// waitHealthy polls /api/health until it answers 200, for up to 30 s, so the
// banner appears once the stack can actually be called.
func itoa(n int) string { return strconv.Itoa(n) }

func waitHealthy(ctx context.Context, port int) {
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/api/health"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// demoUsers are the users `collab dev seed` creates (cmd/collab/seed.go).
const demoUsers = "alice@example.com,bob@example.com,carol@example.com"

func printBanner(w io.Writer, f flags, storage string, app *manifest.App, inbound devMail, more func(io.Writer)) {
	fmt.Fprintf(w, `
  Studio Collaboration Services — local stack is up

  Console (web)      http://localhost:%d/
  API (devhost)      http://localhost:%d/api
  Functions          http://localhost:%d/admin/functions   (%d functions)
`, f.port, f.port, f.port, len(app.Functions))
	if storage != "" {
		fmt.Fprintf(w, "  Azurite            %s\n", storage)
	}
	if f.maildev {
		fmt.Fprintf(w, "  MailDev (e-mail)   http://localhost:%d   SMTP 127.0.0.1:%d\n", f.mailWebPort, f.smtpPort)
		fmt.Fprintf(w, "  Inbound e-mail     POST http://localhost:%d/api/inbound-email   user inbound, password %s (.run/mail-dev.json)\n", f.port, inbound.InboundSecret)
	}
	if f.devAuth {
		fmt.Fprintf(w, `
  Demo (subscription demo, project claims): alice (owner), bob (developer), carol (admin)
  The console: open http://localhost:%[1]d/ and sign in as any of them with one click.
  A token for each, for the CLI and curl (local dev issuer; any e-mail works):
    ALICE=$(bin/collab login --api http://localhost:%[1]d --email alice@example.com >/dev/null && bin/collab token)
    BOB=$(bin/collab login --api http://localhost:%[1]d --email bob@example.com >/dev/null && bin/collab token)
    CAROL=$(bin/collab login --api http://localhost:%[1]d --email carol@example.com >/dev/null && bin/collab token)
  or: curl -s -X POST localhost:%[1]d/api/dev/token -H 'Content-Type: application/json' -d '{"email":"bob@example.com"}'

  One call per area:
    curl -s localhost:%[1]d/api/me -H "Authorization: Bearer $BOB"
    curl -s localhost:%[1]d/api/subscriptions/demo/users -H "Authorization: Bearer $ALICE"   # Customer Portal
    curl -s localhost:%[1]d/api/projects/claims/members -H "Authorization: Bearer $CAROL"
    curl -s localhost:%[1]d/api/projects/claims/teams -H "Authorization: Bearer $BOB"
    curl -s localhost:%[1]d/api/projects/claims/environments -H "Authorization: Bearer $BOB"
    curl -s localhost:%[1]d/api/projects/claims/audit -H "Authorization: Bearer $ALICE"
  The CLI: bin/collab whoami | projects | members claims | teams claims | envs claims | users demo
`, f.port)
	}
	more(w)
	fmt.Fprintf(w, `
  Try:
    curl -s localhost:%[1]d/api/health
    curl -s localhost:%[1]d/api/nope          # a problem+json 404
    curl -s -X POST localhost:%[1]d/admin/functions/<Name> -d '{"input":"..."}'   # fire a non-HTTP function

  Ctrl-C stops everything.
`, f.port)
}

type mailDev struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startMailDev(root string, smtp, web int) (*mailDev, error) {
	bin := filepath.Join(root, "node_modules", ".bin", "maildev")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("maildev not installed (run npm ci): %w", err)
	}
	cmd := exec.Command(bin, "--ip", "127.0.0.1", "--smtp", strconv.Itoa(smtp), "--web", strconv.Itoa(web), "--silent")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start maildev: %w", err)
	}
	md := &mailDev{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(md.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(smtp), 200*time.Millisecond); err == nil {
			c.Close()
			return md, nil
		}
		select {
		case <-md.done:
			return nil, errors.New("maildev exited at start (ports busy? use -smtp-port / -mail-web-port)")
		case <-time.After(100 * time.Millisecond):
		}
	}
	md.stop()
	return nil, errors.New("maildev did not listen within 20 s")
}

func (m *mailDev) stop() {
	devproc.StopGroup(m.cmd.Process.Pid, m.done, 5*time.Second)
}

// printDeployBanner shows the deployment demo: the stand-in and the commands
// that walk a hot change and a window through.
func printDeployBanner(w io.Writer, port int, standinURL string) {
	fmt.Fprintf(w, `
  Deployments (docs/deployments.md)
  Work Portal STAND-IN %[2]s   (GET / shows what each stand-in component received)
    bin/collab login --api http://localhost:%[1]d --email carol@example.com
    bin/collab clone claims demo-wc && cd demo-wc
    mkdir -p applications/claims/forms && echo '{"title":"Search"}' > applications/claims/forms/search.json
    ../bin/collab push -m "a form"           # hot: live at once
    mkdir -p entities/application && echo '{"attributes":["amount"]}' > entities/application/Claim.json
    ../bin/collab push -m "an entity"        # waits for a maintenance window
    cd .. && bin/collab env status claims development     # development's demo policy: a window every 5 minutes
    bin/collab env windows claims development
    bin/collab env open-now claims development   # or wait for the window
  or follow it in the console, signed in as carol: http://localhost:%[1]d/console/projects/claims/environments
`, port, standinURL)
}
