# Hive — build, test and CI entry points. `make help` lists the targets.

GO        ?= go
BIN       := bin/hive
PKGS      := ./...
# Fuzz budgets are execution counts: a duration budget trips Go 1.26's fuzz
# coordinator race (golang/go#75804), failing a clean run with
# "context deadline exceeded" when the machine is loaded.
FUZZTIME  ?= 20000x
STATICCHECK_VERSION := v0.8.2

IMAGE     ?= hive:dev
COMPOSE   := docker-compose -f deploy/docker-compose.yml -p hive

.PHONY: help build static image swarm swarm-down run test test-short lint fmt-check vet staticcheck fuzz bench ci clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

build: ## build bin/hive and the built-in agent plugins bin/hive-agent-*
	$(GO) build -o $(BIN) ./cmd/hive
	$(GO) build -o bin/hive-agent-shell ./agents/shell
	$(GO) build -o bin/hive-agent-test ./agents/test

static: ## build a static bin/hive and agent plugins (CGO_ENABLED=0) for FROM scratch images
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BIN) ./cmd/hive
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/hive-agent-shell ./agents/shell
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/hive-agent-test ./agents/test

image: static ## build the FROM scratch node image $(IMAGE) (deploy/Dockerfile) from the static binaries
	mkdir -p bin/rootfs/data
	docker build -t $(IMAGE) -f deploy/Dockerfile .

swarm: image ## start a three-node swarm of containers (deploy/docker-compose.yml); n1's API on 127.0.0.1:7070
	HIVE_IMAGE=$(IMAGE) $(COMPOSE) up -d

swarm-down: ## stop the container swarm and delete its data
	HIVE_IMAGE=$(IMAGE) $(COMPOSE) down -v

run: build ## run a one-node dev swarm on http://127.0.0.1:7070
	./$(BIN) agent -dev

test: ## the test suite: every package, race detector on
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short: ## quick unit tests without the race detector
	$(GO) test -short -count=1 $(PKGS)

fmt-check: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

staticcheck: ## staticcheck (installed on demand)
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	staticcheck $(PKGS)

lint: fmt-check vet staticcheck ## gofmt, vet and staticcheck

fuzz: ## run every fuzz target briefly (FUZZTIME executions each)
	@./scripts/fuzz.sh $(FUZZTIME)

bench: ## go test benchmarks of the state machine and the bare-raft baseline
	$(GO) test -run '^$$' -bench . -benchtime 2s ./fsm ./bench

ci: lint test fuzz ## what .ci/run runs

clean:
	rm -rf bin
