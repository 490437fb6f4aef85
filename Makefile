# The README's two commands: `make demo` and `make test`. Both build .venv/ first if needed.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum setup.py | cut -d' ' -f1)

.PHONY: demo test test-fast fuzz soak lint bench clean chromium postgres

$(STAMP): setup.py
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/clipguard demo

test: $(STAMP) chromium postgres lint
	$(BIN)/pytest

# Unit tests on SQLite, without the slow ones: no broker, browser or PostgreSQL needed.
test-fast: $(STAMP) lint
	$(BIN)/pytest tests/unit -m "not postgres and not slow"

# The fuzz tests with many more, randomised examples than `make test` runs (tests/unit/test_fuzz.py).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/unit/test_fuzz.py

# Ten minutes of the gate at 80% of its measured throughput, killed three times, its media root
# gone for 30 s and PostgreSQL restarted on the way (bench/soak.py), on a fresh database `soak`.
soak: $(STAMP) postgres
	psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS soak' -c 'CREATE DATABASE soak'
	$(BIN)/clipguard bench --suite soak --soak-seconds 600 --soak-database-url postgresql://postgres@127.0.0.1:5432/soak

# Style, and the layers of docs/architecture.md (.importlinter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# The console's browser tests drive Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The suite's PostgreSQL: Debian's `postgresql` package, installed with apt when missing, its cluster
# started with pg_ctlcluster, loopback trusted and database `test` created (scripts/postgres-up).
postgres:
	@scripts/postgres-up

bench: $(STAMP)
	$(BIN)/clipguard bench

clean:
	rm -rf $(VENV) .clipguard
