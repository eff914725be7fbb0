# One entry point for everything: `make help` lists the targets.
# A new user needs two commands: `make run` and `make test`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Python 3.10 (Rasa 3.6 does not support 3.11): .python-version makes pyenv's `python` 3.10 here.
PYTHON ?= $(shell command -v python3.10 || command -v python)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SPACY_PIPELINE := build/spacy/en_clinic
MODEL := models/clinic.tar.gz

# Services, all on loopback by default; override any of these in the environment.
export RASA_HOST ?= 127.0.0.1
export RASA_PORT ?= 5005
export ACTION_SERVER_HOST ?= 127.0.0.1
export ACTION_SERVER_PORT ?= 5055
export WEBAPP_HOST ?= 127.0.0.1
export WEBAPP_PORT ?= 8000
export TRACKER_DB ?= var/tracker.db
export PYTHONPATH := $(CURDIR)
# No telemetry, no TensorFlow chatter, no network at run time.
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Rasa commands run with the services' start-up hook (scripts/log_hook/sitecustomize.py): other
# packages' deprecation warnings (pkg_resources, jax, ...) stay out of the output, the
# project's own do not, and log lines are redacted as in the services.
RASA_ENV := PYTHONPATH=$(CURDIR)/scripts/log_hook:$(CURDIR)

# The project's Python packages: root folders with an __init__.py (clinic/paths.py CODE_PACKAGES).
CODE_PACKAGES := $(filter-out tests,$(patsubst %/__init__.py,%,$(wildcard */__init__.py)))
TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') \
	$(wildcard components/*.py) $(SPACY_PIPELINE)/meta.json
# pip's warnings about this machine's optional local package mirrors are noise.
PIP_QUIET := grep -v 'is ignored: it is neither a file nor a directory' || true

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# ------------------------------------------------------------------------------ install and build
.PHONY: install
install: $(INSTALLED) ## Create .venv (Python 3.10) and install the locked dependencies

$(INSTALLED): requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else "Python 3.10 is required (found " + sys.version.split()[0] + "); install it with pyenv")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing the locked dependencies into $(VENV) (first time: a few minutes)..."
	@$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock 2>&1 | { $(PIP_QUIET); }
	@$(BIN)/python -m pip check
	@touch $@

.PHONY: lock
lock: $(INSTALLED) ## Re-resolve requirements.in into requirements.lock (with hashes)
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in 2>&1 | { $(PIP_QUIET); }

.PHONY: spacy
spacy: $(SPACY_PIPELINE)/meta.json ## Build the project's spaCy pipeline (blank en + lemmas + entity ruler)

$(SPACY_PIPELINE)/meta.json: $(INSTALLED) scripts/build_spacy_pipeline.py knowledge/spacy_pipeline.py \
		knowledge/entity_patterns.py content/entity_patterns.yml
	@$(BIN)/python scripts/build_spacy_pipeline.py $(SPACY_PIPELINE)

.PHONY: validate
validate: $(INSTALLED) ## Check content, settings and NLU coverage, then `rasa data validate`
	@$(BIN)/python scripts/validate_content.py
	@$(RASA_ENV) $(BIN)/rasa data validate --fail-on-warnings --quiet

.PHONY: train
train: validate $(MODEL) ## Validate, then train (only when data, config, domain or pipeline changed)

$(MODEL): $(INSTALLED) $(TRAINING_INPUTS) content/answers.yml
	@$(BIN)/python scripts/validate_content.py
	@$(RASA_ENV) $(BIN)/rasa train --fixed-model-name clinic --out models --quiet

# The web widget's browser dependency (socket.io-client), pinned in package-lock.json.
NODE_MODULES := node_modules/.package-lock.json

.PHONY: npm
npm: $(NODE_MODULES) ## Install the widget's locked npm packages (npm ci)

$(NODE_MODULES): package.json package-lock.json
	@npm ci --no-audit --no-fund --silent

# ------------------------------------------------------------------------------------- run
.PHONY: run
run: $(MODEL) $(NODE_MODULES) ## Install, build, train if needed, and start the action server and Rasa server
	@scripts/run_services.sh

.PHONY: cluster
cluster: $(MODEL) system-packages ## Production-like cluster on 127.0.0.1: nginx :8080, 2 Rasa replicas, PostgreSQL, Redis
	@$(BIN)/python -m local.cluster

.PHONY: staff-password
staff-password: $(INSTALLED) ## Add or replace a staff account in var/staff-users (asks for name, role and password)
	@read -rp "Staff user name: " name && entry=$$($(BIN)/python scripts/staff_password.py "$$name") && \
		printf '%s\n' "$$entry" | $(BIN)/python -m webapp.staff_accounts add

.PHONY: report
report: $(INSTALLED) ## Answer feedback and escalations by reason (counts only; ESCALATION_DB_URL or var/escalations.db)
	@$(BIN)/python scripts/answer_report.py

.PHONY: signoffs
signoffs: $(INSTALLED) ## Import content/signoffs.yml into the sign-off store, export all sign-offs back to it
	@$(BIN)/python scripts/signoffs.py

.PHONY: shell
shell: $(MODEL) ## Staff chat in the terminal (numbered choices, logs in var/shell.log); DEBUG=1 adds a debug line per reply
	@STAFF_SHELL_DEBUG="$(DEBUG)" scripts/run_services.sh --shell

# ------------------------------------------------------------------------------------ checks
.PHONY: system-packages
system-packages: ## Install the Debian packages the tests need (PostgreSQL, Redis, nginx), if missing
	@scripts/install_system_packages.sh

.PHONY: test
test: lint typecheck validate system-packages $(MODEL) $(NODE_MODULES) ## Everything: lint, types, content, unit, integration, stories, held-out NLU, safety lists
	@$(BIN)/pytest
	@$(RASA_ENV) $(BIN)/rasa test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors \
		--out results/test-stories --quiet
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py heldout --model $(MODEL) --min-accuracy 0.90 --brief
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py safety --model $(MODEL) --require-full-recall

.PHONY: test-unit
test-unit: $(INSTALLED) $(SPACY_PIPELINE)/meta.json ## Unit tests only (no servers, no model): the quick inner loop
	@$(BIN)/pytest tests/unit -q

.PHONY: test-cluster
test-cluster: system-packages $(MODEL) ## Cluster soak in full: 50 conversations x 12 turns through nginx, a replica restarted; then a replica, an action server and Redis killed (SIGKILL)
	@SOAK_CONVERSATIONS=50 SOAK_CRASH=rasa-1,actions-2,redis $(BIN)/pytest tests/integration/test_cluster_soak.py -s -q

.PHONY: lint
lint: $(INSTALLED) ## ruff on the Python code
	@$(BIN)/ruff check $(CODE_PACKAGES) rasa_patches.py scripts tests

.PHONY: typecheck
typecheck: $(INSTALLED) ## mypy on the project's code, tests excepted (settings in pyproject.toml)
	@$(BIN)/mypy

STOCK_NLU_MODEL := models/stock-nlu.tar.gz

.PHONY: eval
eval: $(MODEL) $(STOCK_NLU_MODEL) ## Held-out accuracy (ours vs stock), then each measurement set's outcome table over REST
	@echo "== Rasa's stock default config (scripts/stock_config.yml), same data"
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py heldout --model $(STOCK_NLU_MODEL) --brief
	@echo "== The project's config (config.yml)"
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py heldout --model $(MODEL)
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py safety --model $(MODEL)
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py devset --model $(MODEL)
	@echo "== Blind set (tests/eval/faq-blind.tsv: written without the training data; never train on it)"
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py devset --model $(MODEL) --dev-set tests/eval/faq-blind.tsv
	@echo "== Real wordings (tests/eval/real-wordings.tsv: sites that never feed training; never train on it; table only, its lines are not printed)"
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py devset --model $(MODEL) --dev-set tests/eval/real-wordings.tsv --summary-only
	@echo "== Multi-part messages (tests/eval/multi-part.tsv: two or three questions in one message)"
	@$(RASA_ENV) $(BIN)/python scripts/evaluate.py devset --model $(MODEL) --dev-set tests/eval/multi-part.tsv

$(STOCK_NLU_MODEL): $(INSTALLED) scripts/stock_config.yml $(shell find data/nlu -name '*.yml')
	@$(RASA_ENV) $(BIN)/rasa train nlu --config scripts/stock_config.yml --nlu data/nlu --out models \
		--fixed-model-name stock-nlu --quiet

.PHONY: bench
bench: $(INSTALLED) $(SPACY_PIPELINE)/meta.json ## The project against Rasa's stock config and a bare Rasa FAQ bot (the floor), same load, one run (results/bench.md)
	@$(BIN)/python scripts/bench.py --out results

.PHONY: clean
clean: ## Remove trained models, builds and results (keeps .venv)
	rm -rf models build results var .pytest_cache

# ------------------------------------------------------------------------- data retention, audit
.PHONY: retention
retention: $(INSTALLED) ## Delete conversations and closed escalations older than DAYS days (make retention DAYS=90)
	@test -n "$(DAYS)" || { echo "usage: make retention DAYS=N" >&2; exit 2; }
	@$(BIN)/python scripts/retention.py --days "$(DAYS)"

# pip-audit lives in its own throwaway venv, never in requirements.lock.
AUDIT_VENV := build/audit-venv
PIP_AUDIT_VERSION := 2.10.1
AUDIT_SERVICE ?= pypi

.PHONY: audit
audit: ## pip-audit requirements.lock (needs the network; AUDIT_SERVICE=pypi|osv; docs/security-audit.md)
	@test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON) -m venv $(AUDIT_VENV) && \
		$(AUDIT_VENV)/bin/pip install --quiet pip-audit==$(PIP_AUDIT_VERSION) 2>&1 | { $(PIP_QUIET); }; }
	@# --strict: a package the service could not look up fails the audit instead of passing it.
	@$(AUDIT_VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip --strict \
		--vulnerability-service $(AUDIT_SERVICE) --desc on --progress-spinner off 2>&1 | \
		{ grep -v 'is ignored: it is neither a file nor a directory' || true; }
