# Liaison — `make run` to start locally, `make test` for the whole suite.
# Everything runs inside .venv, installed from pyproject.toml pinned by constraints.txt:
# `make run` installs only what running needs (`pip install -e .`), `make test` / `make lint`
# add the `dev` extra (test, lint and build tools). Each level has its own stamp.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: help install run test test-host lint format lock worker clean

help:
	@echo "make run     - install, write .env if missing, migrate, ensure an admin user, serve on http://$(HOST):$(PORT)"
	@echo "make test    - the whole test suite with coverage (see README for the services mode)"
	@echo "make test-host - build the wheel, install it into a fresh Django project, run a scenario"
	@echo "make lint    - ruff check, ruff format --check, mypy"
	@echo "make format  - ruff format + ruff check --fix"
	@echo "make worker  - a Celery worker (needs CELERY_BROKER_URL)"
	@echo "make lock    - re-resolve dependencies into constraints.txt"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Liaison needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What `make run` needs: the apps, their runtime dependencies and the reference project's.
$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(RUN_STAMP)

# Everything for development; it includes the runtime set, so it satisfies `make run` too.
$(DEV_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(DEV_STAMP) $(RUN_STAMP)

install: $(DEV_STAMP)

.env:
	$(BIN)/python -m config.init_env

run: $(RUN_STAMP) .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin --url http://$(HOST):$(PORT)/admin/
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(DEV_STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/coverage report --format=total | sed 's/^/coverage: /; s/$$/% of lines/'

# The install-into-an-existing-project scenario (tests/host_project): builds the sdist and
# wheel, installs the wheel into a fresh venv with constraints.txt, creates a project with
# django-admin startproject and runs check --deploy, migrate and webhooks/pages end to end.
# Excluded from `make test` (addopts in pyproject.toml); needs PyPI or a warm pip cache.
test-host: $(DEV_STAMP)
	$(BIN)/pytest -m host_project -s -p no:cacheprovider tests/host_project $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(RUN_STAMP)
	$(BIN)/celery -A config worker --loglevel=INFO

# Re-resolve every dependency to its newest allowed version in a scratch venv and pin it.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt
	rm -rf .lock-venv
	@echo "constraints.txt updated; run make test, then commit it."

clean:
	rm -rf $(VENV) .coverage htmlcov .pytest_cache .mypy_cache .ruff_cache build dist

# Security checks (issue 8): deploy checklist with production variables, bandit, pip-audit on
# the locked dependencies (PyPI's advisory data; fails when no service answers), the secret
# scan against .secrets.baseline (audited false positives only), then the coverage floor of
# the last `make test` run (fail_under in pyproject.toml).
SECRET_SCAN_EXCLUDE := --exclude-files '(^|/)(\.venv|staticfiles)/' --exclude-files 'constraints\.txt$$' --exclude-files '^\.secrets\.'
.PHONY: security
security: $(DEV_STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/config/test_settings_and_setup.py -k check_deploy
	$(BIN)/bandit -c pyproject.toml -q -r config integrations webhooks oauth_accounts
	@# pip-audit fails on a known vulnerability. A package it cannot look up is reported, not
	@# failed: PyPI's JSON API (its vulnerability source) is not served on every network.
	$(BIN)/pip-audit --progress-spinner off --vulnerability-service pypi -r constraints.txt \
	  > .pip-audit.log 2>&1 || { cat .pip-audit.log; echo "pip-audit: known vulnerabilities above"; exit 1; }
	@unaudited=$$(grep -c "could not be audited" .pip-audit.log || true); \
	  total=$$(grep -c "==" constraints.txt); \
	  if [ "$$unaudited" -gt 0 ]; then \
	    echo "pip-audit: no known vulnerabilities; $$unaudited of $$total pinned packages could NOT be audited (vulnerability data unreachable from this network)"; \
	  else echo "pip-audit: no known vulnerabilities in $$total pinned packages"; fi
	@# New findings fail; known ones are audited in .secrets.baseline (a copy is re-scanned so
	@# moved lines never count as new).
	cp .secrets.baseline .secrets.scan.json
	$(BIN)/detect-secrets scan --baseline .secrets.scan.json $(SECRET_SCAN_EXCLUDE)
	$(BIN)/python .ci/check_secrets_baseline.py .secrets.scan.json
	@if [ -f .coverage ]; then $(BIN)/coverage report --format=total >/dev/null \
	  && echo "coverage: $$($(BIN)/coverage report --format=total)% of lines (>= 90 required)"; \
	  else echo "coverage: no .coverage file; run make test first (it enforces fail_under = 90)"; fi
