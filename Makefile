# creditfirst: `make run` starts the local stack, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run demo test fuzz bench package deploy lint clean browser

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m chalicelib.local

demo: $(STAMP)
	$(PY) -m chalicelib.local --demo

# The whole suite on the embedded moto endpoint, then the API and flow tests again with DynamoDB
# served by AWS's own emulator (DynamoDB Local, when Java is present).
# The suite runs in a few groups so one process never holds every test's memory (the embedded moto
# server lives in the test process); together they are every test under tests/. Each group is spread
# over TEST_WORKERS processes by pytest-xdist (the fuzz run excepted), a test file to a worker (module fixtures stay whole);
# every worker has its own embedded endpoint, and tests never share a table or a queue.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile
TEST_GROUPS := "tests/api tests/bench tests/domain tests/store tests/providers tests/remote" \
               "$(wildcard tests/flows/test_[a-o]*.py)" "$(wildcard tests/flows/test_[p-z]*.py)" \
               "tests/properties"
test: lint browser
	@for group in $(TEST_GROUPS); do $(PYTEST) $$group || exit 1; done
	$(PY) -m pytest -q -p no:cacheprovider -n 0 tests/fuzz  # one process: schemathesis' per-operation tests collapse under xdist
	$(PY) tools/dynamodb_local.py -- $(PYTEST) tests/api
	$(PY) tools/dynamodb_local.py -- $(PYTEST) tests/flows

# ruff (E,F,W,I,B, complexity <= 15; config in pyproject.toml) and `ruff format --check` on the whole tree,
# mypy strict on chalicelib/domain and chalicelib/store, and no import circle in chalicelib (shared/tools,
# when present).
lint: $(STAMP)
	$(VENV)/bin/ruff check chalicelib tests bench tools app.py
	$(VENV)/bin/ruff format --check chalicelib tests bench tools app.py
	$(VENV)/bin/mypy
	@if [ -f ../shared/tools/import_cycles.py ]; then python3 ../shared/tools/import_cycles.py chalicelib; \
	else echo "import-circle check skipped: ../shared/tools/import_cycles.py not found"; fi

# Schemathesis against the running local stack, longer than the bounded run inside `make test`.
FUZZ_EXAMPLES ?= 300
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:cacheprovider -n 0 -s tests/fuzz

# Debian's Chromium and its driver for the dashboard's browser test, installed only when missing
# (as root with apt-get; elsewhere the test is skipped). Never a browser download of its own.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "chromium could not be installed: the browser test will be skipped"; \
	else echo "chromium not installed (needs root and apt-get): the browser test will be skipped"; fi

bench: $(STAMP)
	$(PY) bench/run.py

# The deploy template: Chalice's SAM template merged with the one schema's table, queues and bus;
# the code zip gets the bytecode of every module, which Lambda's read-only code directory cannot cache.
package: $(STAMP)
	mkdir -p build
	$(PY) -m chalicelib.store.template > build/resources.json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV)/bin/chalice package --stage prod --merge-template build/resources.json build/package
	$(PY) tools/bytecode.py build/package

# Deploys that merged template (never `chalice deploy`: it drops per-record failure reporting, the
# secrets and the schema's resources). Needs the AWS CLI, credentials and a bucket for the code.
STACK ?= creditfirst
deploy: package
	@test -n "$(DEPLOY_BUCKET)" || { echo "make deploy needs DEPLOY_BUCKET=<an S3 bucket for the code>"; exit 2; }
	aws cloudformation package --template-file build/package/sam.json --s3-bucket $(DEPLOY_BUCKET) --use-json --output-template-file build/package/packaged.json
	aws cloudformation deploy --template-file build/package/packaged.json --stack-name $(STACK) --capabilities CAPABILITY_IAM

clean:
	rm -rf $(VENV) build .pytest_cache
