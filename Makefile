# Tradewind: every target sets up the virtual environment it needs on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PORT ?= 3000
OLIST_DIR ?= ../shared/data/olist
export PORT OLIST_DIR

.PHONY: run test unit integration e2e lint monitoring replay bench audit redrive clean

$(STAMP): requirements/function.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

## run: serve the API on http://127.0.0.1:$(PORT) with moto as the AWS endpoint (Ctrl-C stops)
run: $(STAMP)
	$(BIN)/python -m infra.local

.PHONY: token

## token: print a bearer token from the runtime on PORT (CUSTOMER=c1 for a customer, ADMIN=1 for an admin; TTL=seconds)
token: $(STAMP)
	@$(BIN)/python -m infra.local.token $(if $(CUSTOMER),--customer '$(CUSTOMER)') $(if $(ADMIN),--admin) $(if $(TTL),--ttl '$(TTL)')

## test: lint the template, then run unit, integration and end-to-end tests
test: $(STAMP) lint
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

## lint: check template.yaml with cfn-lint
lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

## monitoring: rewrite the generated alarms and dashboard of template.yaml from its functions and queues
monitoring: $(STAMP)
	$(BIN)/python -m infra.template.monitoring

## replay: replay the Olist orders through the API (TARGET=url uses a running `make run`)
replay: $(STAMP)
	$(BIN)/python -m infra.replay

## bench: checkouts/s, latency and $ per million checkouts for BENCH_ORDERS (250) seeded Olist orders, BENCH_CONCURRENCY (16) at a time (reports/bench.json and .png)
bench: $(STAMP)
	$(BIN)/python -m infra.bench

## audit: check the running stack's tables for inconsistent stock, orders and money (REPORT=path also writes JSON)
audit: $(STAMP)
	$(BIN)/python -m infra.ops.audit

## redrive: move a dead-letter queue's messages back to its queue (QUEUE=ReserveStockQueue, MAX=n limits the count)
redrive: $(STAMP)
	$(BIN)/python -m infra.ops.redrive $(QUEUE)

.PHONY: status
## status: print the queues, dead-letter queues, orders by status, function errors, metric totals and recent errors of the runtime on PORT
status: $(STAMP)
	@$(BIN)/python -m infra.local.status

.PHONY: sign-webhook
## sign-webhook: print a Tradewind-Signature value for BODY, signed with the running runtime's SECRET=payment or carrier
sign-webhook: $(STAMP)
	@$(BIN)/python -m infra.ops.signing $(SECRET)

clean:
	rm -rf $(VENV) .pytest_cache

# Container images and LocalStack

SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
# aws-sam-cli pins an older boto3 than the functions use, so it gets its own environment.
SAM_CLI_VERSION ?= 1.170.0

.PHONY: images test-images bench-images local sam-validate

$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $(SAM_STAMP)

## images: build every function's image (tradewind/<function>:latest); BASE_IMAGE=... picks the base
images: $(STAMP)
	$(BIN)/python -m infra.images.build

# The same build for `make test`, skipped with a note where no Docker daemon runs.
test-images: $(STAMP)
	$(BIN)/python -m infra.images.build --skip-without-docker

test: test-images

## bench-images: image size over the base, cold start and warm invocation per function (reports/bench-images.json)
bench-images: images
	$(BIN)/python -m infra.images.bench

## local: run the local runtime against LocalStack started with Docker Compose (infra/localstack/compose.yaml)
local: $(STAMP)
	$(BIN)/python -m infra.localstack.up

## sam-validate: validate template.yaml with `sam validate --lint`
sam-validate: $(SAM_STAMP)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint

# The API's OpenAPI document and fuzzing against it

FUZZ_VENV := .venv-fuzz
FUZZ_STAMP := $(FUZZ_VENV)/.installed
SCHEMATHESIS_VERSION ?= 4.32.5

.PHONY: openapi fuzz

$(FUZZ_STAMP):
	$(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install --quiet --upgrade pip
	$(FUZZ_VENV)/bin/pip install --quiet schemathesis==$(SCHEMATHESIS_VERSION)
	touch $(FUZZ_STAMP)

## openapi: regenerate docs/openapi.json from the functions' declared operations
openapi: $(STAMP)
	$(BIN)/python -m infra.api.openapi

## fuzz: run schemathesis over docs/openapi.json against a fresh local runtime (TARGET=url uses a running one)
fuzz: $(STAMP) $(FUZZ_STAMP)
	SCHEMATHESIS=$(FUZZ_VENV)/bin/st $(BIN)/python -m infra.api.fuzz
