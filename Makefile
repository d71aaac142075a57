# Developer and CI entry points. Every target sets up what it needs, so
# `make demo` and `make test` work on a fresh clone.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= $(CURDIR)/.venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-test.stamp
COLLECTIONS := $(CURDIR)/build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/parodos/orchestrator
PYTEST_WORKERS ?= 2
# Extra ansible-playbook arguments for `make demo`, e.g. DEMO_ARGS="-e @vars.yml".
DEMO_ARGS ?=

# The collection comes from the checkout (through the link below); kubernetes.core
# and the other collections come from the `ansible` package in the venv.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv collection sanity lint unit test demo clean

help:
	@echo "make venv        create/update $(VENV) from requirements-test.txt"
	@echo "make collection  link the checkout as parodos.orchestrator under build/collections"
	@echo "make sanity      ansible-test sanity (offline, no ignore files)"
	@echo "make lint        ansible-lint, production profile"
	@echo "make unit        unit tests (tests/unit)"
	@echo "make test        sanity, lint, then the whole pytest suite"
	@echo "make demo        install the Orchestrator on a local test cluster and show the result"

venv: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --disable-pip-version-check --quiet -r requirements-test.txt
	@touch $@

collection:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(CURDIR) $(COLLECTION_LINK)

sanity: venv
	tests/tools/sanity.sh

lint: venv collection
	ansible-lint

unit: venv collection
	$(VPY) -m pytest tests/unit

test: sanity lint collection
	$(VPY) -m pytest -n $(PYTEST_WORKERS) tests

demo: venv collection
	tests/tools/demo.sh $(DEMO_ARGS)

clean:
	rm -rf build tests/output .pytest_cache
