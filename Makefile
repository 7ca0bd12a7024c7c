# Two commands a new user needs: `make serve` and `make test`. Only Python 3.11, make and PyPI are assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
SERVE_STAMP := $(VENV)/.installed-serve
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SPARK_STAMP := $(VENV)/.installed-spark
PARQUET_STAMP := $(VENV)/.installed-parquet

.PHONY: serve test test-fast audit lint typecheck clean catalog bench lock demo spark parquet

$(BIN)/python:
	@echo "make: creating the virtual environment $(VENV) (Python: $(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Serving needs the runtime dependencies only, every file pinned by SHA-256 in requirements.lock (the Docker image
# installs the same file); the test tools come on top from requirements-test.lock. `make lock` refreshes both.
$(SERVE_STAMP): $(BIN)/python requirements.lock pyproject.toml
	@echo "make: installing the runtime dependencies from requirements.lock (hash-checked, 54 packages; ~20 s the first time)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	@echo "make: installing sid-igrt-cds itself (editable, no further dependencies)"
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(SERVE_STAMP)

$(STAMP): $(SERVE_STAMP) requirements-test.lock
	@echo "make: installing the test dependencies from requirements-test.lock (hash-checked, 108 packages; ~40 s the first time)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-test.lock
	touch $(STAMP)

## serve: install and run the service under gunicorn on HOST:PORT. Local-trial defaults (override in the
## environment): client authentication OFF, CORS open to any origin, audit in SQLite under var/.
serve: $(SERVE_STAMP)
	@if [ "$${CDS_AUTH:-off}" = off ]; then \
	  echo "************************************************************************************"; \
	  echo "* LOCAL TRIAL: client authentication is OFF (CDS_AUTH=off) and CORS is open (*).    *"; \
	  echo "* Any caller is trusted. Do not expose this port. Production: docs/integrating.md.  *"; \
	  echo "************************************************************************************"; \
	fi
	CDS_AUTH="$${CDS_AUTH:-off}" CDS_CORS_ORIGINS="$${CDS_CORS_ORIGINS:-*}" \
	  $(BIN)/cds-service serve --host $(HOST) --port $(PORT)

## demo: the synthetic patients on a local FHIR server (FHIR_PORT, 8081), dated relative to today, and the service
## (PORT, 8080) reading them; prints each patient's card, checked against its golden file, and Sandbox links.
## Local trial only: authentication off, CORS open. Ctrl-C stops both.
demo: $(SERVE_STAMP)
	$(BIN)/python scripts/demo.py

## spark: add PySpark (hash-checked, requirements-spark.lock; needs a Java runtime) for `cds-service cohort --engine
## spark`; `make test` then also runs the Spark engine against the local one (CI does)
spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	@echo "make: installing PySpark from requirements-spark.lock (hash-checked, ~450 MB; ~40 s the first time)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-spark.lock
	touch $(SPARK_STAMP)

## parquet: add pyarrow (hash-checked, requirements-parquet.lock) so `cds-service cohort` also writes
## worklist.parquet (without it the run says so on stderr and in summary.html)
parquet: $(PARQUET_STAMP)

$(PARQUET_STAMP): $(STAMP) requirements-parquet.lock
	@echo "make: installing pyarrow from requirements-parquet.lock (hash-checked)"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-parquet.lock
	touch $(PARQUET_STAMP)

## test: lint, type-check and run the whole test suite (unit, golden, property, end-to-end against gunicorn, and the
## slow group: schemathesis fuzzing, fault injection, a 3-minute sustained load; wrk needed for the load test)
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -rs

## test-fast: the same without the slow group (minutes shorter; CI runs everything)
test-fast: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -rs -m "not slow"

## audit: known vulnerabilities in the installed dependencies (pip-audit; CI runs it)
audit: $(STAMP)
	$(BIN)/python scripts/audit_dependencies.py

lint: $(STAMP)
	$(BIN)/ruff check cds_service fhir_mappers guideline storage cohort commands decision tests scripts bench
	$(BIN)/ruff format --check cds_service fhir_mappers guideline storage cohort commands decision tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

## bench: the service against a minimal Flask baseline under the same gunicorn config (wrk from Debian packages);
## prints the table and writes bench/results/ (latest.json, latency-vs-resources.png, profile-extreme.txt)
bench: $(BENCH_STAMP)
	scripts/ensure-debian-packages.sh wrk
	$(BIN)/python -m bench $(BENCH_ARGS)

## catalog: refresh the Danish card-text catalog from the code's msg("...") texts (then translate new entries)
catalog: $(STAMP)
	$(BIN)/python scripts/update_catalog.py

## lock: refresh requirements.lock (runtime), requirements-test.lock (runtime + test), requirements-spark.lock
## (the cohort's Spark engine) and requirements-parquet.lock (worklist.parquet) from pyproject.toml and the .in
## files, every file with its SHA-256, resolved against PyPI itself (not a local mirror, whose files may differ)
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple -o requirements.lock pyproject.toml
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --index-url https://pypi.org/simple --extra test -o requirements-test.lock pyproject.toml
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --index-url https://pypi.org/simple -o requirements-spark.lock requirements-spark.in
	PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --no-emit-index-url \
	  --no-emit-find-links --index-url https://pypi.org/simple -o requirements-parquet.lock requirements-parquet.in

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
