# The two set-up commands of the README: `make dev` (local mode) and `make test` (every test and check).
SHELL := /bin/bash
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
# The Lambda runtime is python3.13: the venv uses the same interpreter.
# pyenv's shim for python3.13 exists but fails unless 3.13 is selected, so the real binary comes first.
PYTHON ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck unit sam-checks bench bench-extract clean browser ocr cradl-sdk

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

dev: $(STAMP) ocr
	$(VENV)/bin/docflow serve

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -n 2

sam-checks:
	bash .ci/sam-checks

# The browser the Playwright tests drive (tests/e2e/test_review_page.py): Debian's chromium, since
# `playwright install` cannot download its own builds here. The package index is refreshed only
# when the install fails on a stale or missing one (a fresh machine), so a warm machine needs no network.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@test -x $(CHROMIUM) || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q --no-install-recommends chromium \
	  || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends chromium; }; }

# OCR for scans and images (steps/ocr.py): Debian's tesseract with its models for the languages
# the invoice model reads. Installed once, like the browser.
TESSERACT := /usr/bin/tesseract
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld \
	tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-pol fonts-dejavu-core
# DejaVu: the tests' sample invoices print Polish, German and French text with it.
DEJAVU := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
ocr:
	@test -x $(TESSERACT) && test -f /usr/share/tesseract-ocr/5/tessdata/pol.traineddata && test -f $(DEJAVU) || { \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $(SUDO) apt-get install -y -q --no-install-recommends $(OCR_PACKAGES) \
	  || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends $(OCR_PACKAGES); }; }

# The official Cradl SDK, unmodified, in a venv of its own (it pins its own requests): the
# compatibility tests drive local mode with it (tests/e2e/test_cradl_sdk.py).
CRADL_VENV := .venv-cradl
CRADL_SDK := cradl==0.4.10
$(CRADL_VENV)/.installed:
	test -x $(CRADL_VENV)/bin/python || $(PYTHON) -m venv $(CRADL_VENV)
	$(CRADL_VENV)/bin/python -m pip install -q "$(CRADL_SDK)"
	touch $@
cradl-sdk: $(CRADL_VENV)/.installed

test: $(STAMP) lint sam-checks browser ocr cradl-sdk
	$(VENV)/bin/pytest -n 2

bench: $(STAMP)
	$(VENV)/bin/python -m bench

# The invoice model's accuracy and calibration over the dev corpus and the tests' own documents.
bench-extract: $(STAMP) ocr
	$(VENV)/bin/python -m bench.extract

clean:
	rm -rf $(VENV) $(CRADL_VENV) .aws-sam .tools .docflow
