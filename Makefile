# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# A first run: DEBUG on, SQLite, tasks in-process (see README for production settings).
DEV_ENV := DEBUG=1
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check --require-hashes
# Re-locking (`make lock`) uses uv from a venv of its own, never the project's.
LOCK_VENV := .venv-lock
UV_VERSION := 0.13.8
COMPILE := $(LOCK_VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28

.PHONY: run test install install-dev lock migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# requirements.txt: the runtime alone (what a deployment installs); requirements-dev.txt: the
# runtime at the same versions plus the test and lint tools. Both locked with hashes.
$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed-runtime

install-dev: $(VENV)/.installed-dev

# Re-lock after editing requirements.in or requirements-dev.in (versions stay as locked unless the
# .in files change; `make lock UPGRADE=--upgrade` takes the newest allowed).
lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && \
		$(LOCK_VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(COMPILE) $(UPGRADE) requirements.in -o requirements.txt
	$(COMPILE) $(UPGRADE) requirements-dev.in -o requirements-dev.txt

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py compile_translations
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

run: migrate
	$(DEV_ENV) $(BIN)/python manage.py load_studies
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	@echo "Open http://$(HOST)/ and sign in with one of the accounts above."
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST)

# DATABASE_URL, CELERY_BROKER_URL and REQUIRE_SERVICES pass through from the environment (.ci/run sets them).
# The tests run in one process per core (pytest-xdist), each with a test database of its own;
# PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto
test: install-dev
	$(DEV_ENV) $(BIN)/python manage.py compile_translations
	$(DEV_ENV) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# BENCH_SIZES: participants of the synthetic studies (`make bench BENCH_SIZES="1000 10000"` on PostgreSQL).
BENCH_SIZES ?= 200
bench: install
	$(DEV_ENV) $(BIN)/python bench/run.py
	$(DEV_ENV) $(BIN)/python bench/scale.py --sizes $(BENCH_SIZES)
	$(DEV_ENV) $(BIN)/python bench/exports.py --sizes $(BENCH_SIZES) --odm-changes 10 100

clean:
	rm -rf $(VENV) .venv-runtime $(LOCK_VENV) db.sqlite3 staticfiles
