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

# Rewrite environments/images.lock: push deterministic stand-ins for the
# example's images to a registry on loopback and lock against it with
# --mirror registry.example.com=127.0.0.1:PORT. Same input, same bytes.
.PHONY: example-images
example-images:
	$(GO) run ./internal/exampleimages environments
