# gitopsc — build, test and check the shipped output.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build test fmt-check vet unit out out-check

all: build

build:
	$(GO) build ./...

# make test: formatting, go vet, every test (testscripts included), and the
# committed out/ must match what the shipped environments render.
test: fmt-check vet unit out-check

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

# Render the shipped environments into out/.
out:
	$(GO) run ./cmd/gitopsc build

out-check:
	$(GO) run ./cmd/gitopsc build --check

# Rewrite the golden sections of the testscripts.
update-golden:
	$(GO) test ./cmd/gitopsc/cmd -run TestScripts -update

# Rewrite environments/images.lock, and those of the system gitopsc init
# writes and of examples/tenants: push deterministic stand-ins for the example's images to a registry on loopback and lock against it with
# --mirror registry.example.com=127.0.0.1:PORT. Same input, same bytes.
.PHONY: example-images
example-images:
	$(GO) run ./internal/exampleimages environments
	$(GO) run ./internal/exampleimages cmd/gitopsc/cmd/initsystem
	$(GO) run ./internal/exampleimages examples/tenants

# make e2e: both end-to-end runs below, one after the other, each on a
# control plane of its own: e2e-apply, then e2e-flux. Knobs: see e2e/run.sh.
.PHONY: e2e e2e-apply e2e-flux
e2e: e2e-apply e2e-flux

# make e2e-apply: apply every rendered environment, and the broken variants
# in testdata/e2e/, to a real control plane (etcd, kube-apiserver and
# kube-controller-manager on loopback, built once into ~/.cache/gitopsc-e2e)
# and check that Kubernetes admits and refuses what the rules do (and a
# clean variant with every workload kind is admitted), and that each
# rendered prometheus.yml loads with Prometheus's own config loader
# (e2e/promconfig, built once into the same cache).
e2e-apply:
	bash e2e/run.sh

# make e2e-flux: each shipped environment, then each broken variant, then
# a chart (testdata/e2e/helm), reconciled by the real Flux controllers
# (source-controller v1.9.0, kustomize-controller v1.9.6, helm-controller
# v1.6.4) run as local processes against the e2e
# control plane, with kube-scheduler and kwok so that pods become Ready,
# from a git repository served over loopback HTTP as flux bootstrap leaves
# it, on a cluster given exactly what gitopsc build says each environment
# needs (e2e/flux_test.go, TestFlux). Everything is built once into the
# same cache.
e2e-flux:
	E2E_FLUX=1 E2E_TEST_RUN="$${E2E_TEST_RUN:-^TestFlux$$}" E2E_RUN_TIMEOUT="$${E2E_RUN_TIMEOUT:-30m}" bash e2e/run.sh

# make fuzz: the loader's fuzz target, random edits of the shipped input.
FUZZTIME ?= 60s
.PHONY: fuzz
fuzz:
	$(GO) test ./compiler/load -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

# make bench: Go benchmarks of each stage, then whole-process medians and
# peak RSS of build and vet against cue export, checked against the budgets.
.PHONY: bench
bench:
	$(GO) test ./compiler/ ./compiler/emit/ ./policies/reach/ -run '^$$' -bench . -benchtime 3x -benchmem
	$(GO) run ./internal/bench/run -runs 5
