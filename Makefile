# gitopsc — build, test and check the shipped output.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all build test fmt-check vet unit out out-check

all: build

build:
	$(GO) build ./...

# make test: formatting, go vet and every test (testscripts included).
test: fmt-check vet unit

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

# Rewrite the golden sections of the testscripts.
update-golden:
	$(GO) test ./cmd/gitopsc/cmd -run TestScripts -update

# Rewrite environments/images.lock: push deterministic stand-ins for the
# example's images to a registry on loopback and lock against it with
# --mirror registry.example.com=127.0.0.1:PORT. Same input, same bytes.
.PHONY: example-images
example-images:
	$(GO) run ./internal/exampleimages environments
