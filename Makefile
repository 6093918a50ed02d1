# Long runs that do not belong in every CI run. The regular suite is ./scripts/test.
PYTHON ?= .venv/bin/python
FUZZ_EXAMPLES ?= 500
FUZZ_WORKDIR ?= $(HOME)/.cache/jupyter-mlplat/fuzz-sandbox

.PHONY: fuzz load jobs-bench docs

# Schemathesis against a live server whose platform config points at the sandbox engines
# (HDFS mini clusters, Kubernetes, registry, PostgreSQL); the sandbox is stopped afterwards.
fuzz:
	.venv/bin/mlp devcluster up --workdir $(FUZZ_WORKDIR)
	MLPLAT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
	MLPLAT_FUZZ_CONFIG=$(FUZZ_WORKDIR)/mlplat.yaml \
	$(PYTHON) -m pytest -p no:cacheprovider -ra -o addopts= --timeout=0 \
		"tests/test_openapi.py::test_server_conforms_to_the_openapi_file"; \
	status=$$?; .venv/bin/mlp devcluster down --workdir $(FUZZ_WORKDIR); exit $$status

# 200 concurrent storage listings and 50 concurrent job submissions through the REST API.
load:
	$(PYTHON) benchmarks/load.py

# The jobs API over 100,000 stored jobs (add ARGS=--postgres for PostgreSQL too).
jobs-bench:
	$(PYTHON) benchmarks/jobs_listing.py $(ARGS)

# Regenerate the configuration reference from the config models.
docs:
	$(PYTHON) -m jupyter_mlplat.docs_gen
