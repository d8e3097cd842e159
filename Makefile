# Studio Collaboration Services — the two commands are `make run` and `make test`.
# Everything they need is installed from pinned versions (go.mod/go.sum, package-lock.json).

SHELL       := /bin/bash
GO          ?= go
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
DIST        ?= dist
# The zip of $(DIST) that zip deploy uploads (handler executable inside).
PACKAGE_ZIP ?= $(DIST).zip
PORT        ?= 7071
# Ports of the local stack, for running beside another `make run`: AZURITE_PORT=0 picks free ones.
AZURITE_PORT  ?= 10000
SMTP_PORT     ?= 1025
MAIL_WEB_PORT ?= 1080
STANDIN_PORT  ?= 7072
TEST_FLAGS  ?= -race -timeout 30m
BENCH_FLAGS ?= -run '^$$' -bench . -benchmem -benchtime 1s
GO_PKGS     := ./...
# go test starts packages in the order named, two at a time (-p = the cores):
# the longest first, so that they run beside the many short ones instead of
# after them (web/console alone at the end was 2 of the 7.5 minutes of CI).
TEST_PKGS   := ./handlers ./web/console ./shared/catalog ./cmd/handler ./cmd/collab ./cmd/devhost/host $(GO_PKGS)
SYNC_SIZES  ?= 1000,2000,10000

# Dex, the OpenID Connect provider the sign-in tests run on loopback: built from its own
# wrapper module (tools/dex, pinned to a Dex pseudo-version) once per version into bin/.
DEX_VERSION := $(shell awk '$$1=="require" && $$2=="github.com/dexidp/dex" {print $$3}' tools/dex/go.mod)
DEX_BIN     := bin/dex-$(DEX_VERSION)

.PHONY: help deps run test bench package lint openapi-lint build clean params-key dex

help:
	@echo "make run      start Azurite, MailDev, the devhost and the handler (Ctrl-C stops all)"
	@echo "make test     install what is needed, then go vet and every test (Azurite included)"
	@echo "make bench    benchmarks (handler start-up and RSS, security, catalog, schedules, ...)"
	@echo "make bench-load  the overload benchmark alone (bench/load: saturation, then 2x, a few minutes)"
	@echo "make package  assemble $(DIST)/ for the Functions host / azd, and $(PACKAGE_ZIP) for zip deploy"
	@echo "make lint     gofmt, go vet and the OpenAPI lint (Redocly)"

# npm ci only when package-lock.json changed since the last install.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.package-lock.json
	$(GO) mod download

build: deps
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/handler ./cmd/handler
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/devhost ./cmd/devhost
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/collab ./cmd/collab

local.settings.json:
	cp local.settings.json.example $@

# Secret parameters are sealed locally with an AES-256 key from the local
# settings: generated here once per checkout into local.settings.json
# (git-ignored), never committed.
params-key: local.settings.json
	@grep -q '"COLLAB_PARAMS_KEY"' local.settings.json || { \
	  key=$$(head -c 32 /dev/urandom | base64 | tr -d '\n') && \
	  awk -v k="$$key" '{print} /"Values": *\{/ && !done {print "    \"COLLAB_PARAMS_KEY\": \"" k "\","; done=1}' local.settings.json > local.settings.json.tmp && \
	  mv local.settings.json.tmp local.settings.json && echo "generated COLLAB_PARAMS_KEY in local.settings.json"; }

run: build local.settings.json params-key
	./bin/devhost -root . -port $(PORT) -azurite-port $(AZURITE_PORT) -smtp-port $(SMTP_PORT) -mail-web-port $(MAIL_WEB_PORT) \
		-handler bin/handler -azurite -maildev -dev-auth -seed-with bin/collab -banner -workportal-standin $(STANDIN_PORT) \
		-log-file .run/devhost.log

$(DEX_BIN): tools/dex/go.mod tools/dex/go.sum
	@mkdir -p bin
	cd tools/dex && CGO_ENABLED=0 $(GO) build -trimpath -o ../../$@.tmp github.com/dexidp/dex/cmd/dex
	mv $@.tmp $@

dex: $(DEX_BIN)

# api/openapi.yaml linted by Redocly CLI (pinned in package.json, installed by
# `npm ci` from package-lock.json): redocly.yaml's rules, 0 errors and 0 warnings.
# Redocly fails only on errors, so the JSON totals are checked for warnings too.
LINT_TOTALS := let s = ""; process.stdin.on("data", d => s += d).on("end", () => { const t = JSON.parse(s).totals; \
  if (t.errors || t.warnings) { console.error(`api/openapi.yaml: $${t.errors} errors, $${t.warnings} warnings; 0 of each allowed`); process.exit(1); } })
REDOCLY := REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true ./node_modules/.bin/redocly
openapi-lint: deps
	$(REDOCLY) lint --max-problems 1000 api/openapi.yaml
	@$(REDOCLY) lint --format=json api/openapi.yaml 2>/dev/null | node -e '$(LINT_TOTALS)'

# go vet needs neither node_modules nor Dex: it runs while they install.
test:
	@$(GO) vet $(GO_PKGS) & vet=$$!; \
	  $(MAKE) --no-print-directory deps dex openapi-lint; rc=$$?; \
	  wait $$vet || { echo "go vet failed"; exit 1; }; exit $$rc
	$(GO) test $(TEST_FLAGS) $(TEST_PKGS)

bench: deps build
	$(GO) test $(BENCH_FLAGS) $(GO_PKGS)
	@echo "--- collab push/clone vs git push/clone of the same tree (bench/sync; SYNC_SIZES=$(SYNC_SIZES))"
	$(GO) run ./bench/sync -sizes $(SYNC_SIZES)
	@echo "--- Studio Security: compiled evaluator vs Casbin on the same model (bench/security, its own module)"
	cd bench/security && $(GO) test -run TestCasbinAgrees -bench . -benchmem -benchtime 2s .
	@$(MAKE) --no-print-directory bench-load

# The overload benchmark (issue 23): saturation of health, /api/me, the feed and
# the objects listing, then each at twice that rate, against the real devhost,
# handler and Azurite on loopback; bounded (LOAD_FLAGS: -step, -overload, -max-rate).
LOAD_FLAGS ?=
bench-load: deps build
	@echo "--- overload: saturation then 2x per route (bench/load)"
	$(GO) run ./bench/load $(LOAD_FLAGS)

# The layout the Functions host and `func azure functionapp publish` / azd expect:
# host.json, one top-level folder per function, and the handler binary; and the
# same as a zip with the handler's executable bit set (cmd/appzip).
package:
	rm -rf $(DIST) && mkdir -p $(DIST)
	cp host.json $(DIST)/
	for d in functions/*/; do cp -R "$$d" $(DIST)/; done
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/handler ./cmd/handler
	$(GO) run ./cmd/appzip -dir $(DIST) -out $(PACKAGE_ZIP)

lint: openapi-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GO_PKGS)

clean:
	rm -rf bin $(DIST) $(PACKAGE_ZIP) build
