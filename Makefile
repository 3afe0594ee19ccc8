# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# A first run: DEBUG on, SQLite, tasks in-process (see README for production settings).
DEV_ENV := DEBUG=1

.PHONY: run test install migrate bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

run: migrate
	$(DEV_ENV) $(BIN)/python manage.py load_studies
	$(DEV_ENV) $(BIN)/python manage.py seed_demo
	@echo "Open http://$(HOST)/ and sign in with one of the accounts above."
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST)

# DATABASE_URL, CELERY_BROKER_URL and REQUIRE_SERVICES pass through from the environment (.ci/run sets them).
test: install
	$(DEV_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(DEV_ENV) $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
