# edgeguard — the README's two commands are `make demo` and `make test`.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
FUZZTIME ?= 10s
PREFIX ?= /usr/local
# What `edgeguard version` prints, in `make build` and the image (-X main.version).
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
GO_LDFLAGS = -X main.version=$(VERSION)
# The image's build stage is golang:$(GO_VERSION)-bookworm, go.mod's go line.
GO_VERSION := $(shell sed -n 's/^go \([0-9]*\.[0-9]*\).*/\1/p' go.mod)
IMAGE ?= edgeguard

.PHONY: setup build install image demo test vet fuzz leakcheck bench bench-e2e eval eval-real clean

setup:
	@bash .ci/setup

build: setup
	$(GO) build -trimpath -ldflags "$(GO_LDFLAGS)" -o bin/edgeguard ./cmd/edgeguard

# The binary to $(DESTDIR)$(PREFIX)/bin and the verified face model to
# $(DESTDIR)$(PREFIX)/share/edgeguard/models, which the installed binary
# searches (<exe dir>/../share/edgeguard/models, see models.DefaultDirs).
# models/fetch copies the file .ci/setup fetched, checking its SHA-256.
install: build
	install -D -m 0755 bin/edgeguard $(DESTDIR)$(PREFIX)/bin/edgeguard
	bash models/fetch $(DESTDIR)$(PREFIX)/share/edgeguard/models

# The container image (Dockerfile; docs/deployment.md, "The image") with the
# first builder that works: docker (when its daemon answers), podman,
# buildah. Tagged $(IMAGE):$(VERSION) and $(IMAGE):latest. podman and buildah
# write Docker's image format: OCI images have no HEALTHCHECK.
image:
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then b="docker build"; \
	elif command -v podman >/dev/null 2>&1; then b="podman build --format docker"; \
	elif command -v buildah >/dev/null 2>&1; then b="buildah bud --layers --format docker"; \
	else \
	  why=""; if command -v docker >/dev/null 2>&1; then why=" (the docker command is installed, but no Docker daemon answers 'docker info')"; fi; \
	  echo "make image: no container builder found$$why. Install one of: docker with its daemon running, podman, buildah (Debian/Ubuntu: apt-get install buildah)." >&2; \
	  exit 1; \
	fi; \
	echo "make image: $$b, edgeguard $(VERSION), Go $(GO_VERSION)"; \
	$$b --build-arg VERSION=$(VERSION) --build-arg GO_VERSION=$(GO_VERSION) -t $(IMAGE):$(VERSION) -t $(IMAGE):latest .

demo: setup
	$(GO) run ./cmd/edgeguard-demo

# The whole suite: vet, every test under the race detector (one package at
# a time: the end-to-end tests stream video in real time and must not starve
# each other on a 2-core box), the Mat leak check, and a short run
# of every fuzz target.
test: setup vet
	$(GO) test -race -count=1 -p 1 -timeout 40m ./...
	$(MAKE) --no-print-directory leakcheck
	$(MAKE) --no-print-directory fuzz

vet:
	$(GO) vet ./...

# Each fuzz target briefly (FUZZTIME each); see .ci/fuzz for why a target
# that fails with no input written is run once more.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash .ci/fuzz

# gocv Mats are C memory the Go GC does not see. Built with gocv's
# matprofile tag, gocv counts every Mat made and not yet closed; the test
# runs a camera end to end (RTSP, decode, analysis with every rule,
# anonymised snapshots) through two sessions and checks the count is back
# where it started. About 30 s.
leakcheck: setup
	$(GO) test -tags matprofile -count=1 -run '^TestMatLeak$$' -v ./pipeline/internal/camera

# Per-frame benchmarks; figures go to docs/performance.md.
bench: setup
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./pipeline/...

# End to end: N simulated 1080p/360p H.264 cameras over RTSP, the service
# as its own process, a real Mosquitto and a subscriber; prints CPU per
# stream-second against ffmpeg's decode floor, latency, RSS and drops, and
# writes docs/perf-e2e.png (see docs/performance.md). About 10 minutes.
bench-e2e: setup
	EDGEGUARD_BENCH=1 $(GO) test -count=1 -v -run '^TestEndToEndBenchmark$$' -timeout 30m ./pipeline/tools/benchrun

# The behaviour-pattern scenario suite: prints precision, recall and start
# delay per pattern and fails below pipeline/tools/eval/testdata/floor.json.
eval: setup
	$(GO) test -count=1 -v -run '^TestEval$$' -timeout 10m ./pipeline/tools/eval

# The same patterns on real camera footage: the clips in ../shared/realclips
# beside the checkout (or $(EDGEGUARD_REALCLIPS)), never in the repository,
# with the expectations of pipeline/tools/evalreal/testdata/realclips.yaml;
# prints expected, found, false alarms and start delay per pattern, and
# skips when the clips are not there. CLIP=text runs only the clips whose
# file contains text; V=1 adds every start reported and the stages' log.
eval-real: setup
	EDGEGUARD_EVALREAL_CLIP='$(CLIP)' EDGEGUARD_EVALREAL_VERBOSE='$(V)' $(GO) test -count=1 -v -run '^TestEvalReal$$' -timeout 20m ./pipeline/tools/evalreal

clean:
	rm -rf bin
