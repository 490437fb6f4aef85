# The README's two commands: `make demo` and `make test`. Both build .venv/ first if needed.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum setup.py | cut -d' ' -f1)

.PHONY: demo test test-fast fuzz soak lint bench clean chromium postgres jars audio-tools

$(STAMP): setup.py requirements-no-deps.txt
	scripts/build-deps
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements-no-deps.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(BIN)/clipguard demo

test: $(STAMP) chromium postgres jars audio-tools lint
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

# The JVM parts, from Maven Central and PyPI, never from the network at run time (jars/README.md):
# Apache Kafka's broker, Beam's Flink job server and KafkaIO expansion service, and a Flink
# distribution for a local cluster. Each set is fetched again only when its recipe changes.
JARS := .jars
FLINK_VERSION := 1.19.3

jars: $(JARS)/kafka/.complete $(JARS)/beam/.complete $(JARS)/flink/.complete

$(JARS)/%/.complete: jars/%/pom.xml
	rm -rf $(JARS)/$*
	mvn -q -B -f jars/$*/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory=$(abspath $(JARS))/$*/lib
	if [ $* = beam ]; then \
		python3 jars/classpath_jar.py $(JARS)/beam/flink-job-server.jar \
			org.apache.beam.runners.flink.FlinkJobServerDriver $(JARS)/beam/lib && \
		python3 jars/classpath_jar.py $(JARS)/beam/expansion-service.jar \
			org.apache.beam.sdk.expansion.service.ExpansionService $(JARS)/beam/lib; fi
	touch $@

# Flink's own jars come in the apache-flink-libraries sdist (the Maven mirror serves no flink-dist).
$(JARS)/flink/.complete: Makefile
	rm -rf $(JARS)/flink $(JARS)/flink.tmp && mkdir -p $(JARS)/flink.tmp
	python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
		apache-flink-libraries==$(FLINK_VERSION) -d $(JARS)/flink.tmp
	tar -xzf $(JARS)/flink.tmp/apache-flink-libraries-$(FLINK_VERSION).tar.gz -C $(JARS)/flink.tmp
	mv $(JARS)/flink.tmp/apache-flink-libraries-$(FLINK_VERSION)/deps $(JARS)/flink && rm -rf $(JARS)/flink.tmp
	touch $@

bench: $(STAMP) audio-tools
	$(BIN)/clipguard bench

# FluidSynth and a General MIDI soundfont: the music harness plays music21's scores through them.
audio-tools:
	scripts/audio-tools

clean:
	rm -rf $(VENV) .clipguard $(JARS)
