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
# The real Kubernetes control plane of the test cluster (tests/cluster/controlplane.py), built once.
CONTROLPLANE := $(CURDIR)/build/controlplane/controlplane
CONTROLPLANE_SRC := tests/cluster/controlplane
K8S_VERSION := v1.37.2
K8S_LDFLAGS := -s -w -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean
# Extra ansible-playbook arguments for `make demo`, e.g. DEMO_ARGS="-e @vars.yml".
DEMO_ARGS ?=

# The collection comes from the checkout (through the link below); kubernetes.core
# and the other collections come from the `ansible` package in the venv.
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help venv collection controlplane sanity lint unit test demo clean

help:
	@echo "make venv        create/update $(VENV) from requirements-test.txt"
	@echo "make collection  link the checkout as parodos.orchestrator under build/collections"
	@echo "make controlplane  build etcd, kube-apiserver and kube-controller-manager into $(CONTROLPLANE)"
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

controlplane: $(CONTROLPLANE)

$(CONTROLPLANE): $(CONTROLPLANE_SRC)/main.go $(CONTROLPLANE_SRC)/go.mod $(CONTROLPLANE_SRC)/go.sum
	@mkdir -p $(dir $@)
	cd $(CONTROLPLANE_SRC) && go build -trimpath -ldflags "$(K8S_LDFLAGS)" -o $@ .

collection:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(CURDIR) $(COLLECTION_LINK)

sanity: venv
	tests/tools/sanity.sh

lint: venv collection
	ansible-lint

unit: venv collection
	$(VPY) -m pytest tests/unit

test: sanity lint collection controlplane
	$(VPY) -m pytest -n $(PYTEST_WORKERS) tests

demo: venv collection controlplane
	tests/tools/demo.sh $(DEMO_ARGS)

clean:
	rm -rf build tests/output .pytest_cache
