# The two commands: `make serve` and `make test`. Each sets itself up on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLUGINS := plugins/pypi plugins/npm plugins/generic plugins/oci
# Installed for the tests only: a third-party plugin proving the public plugin API.
EXAMPLES := examples/helm examples/goproxy
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# Swagger UI at /v1/docs: the files of this swagger-ui-dist release (npm), copied into the venv.
SWAGGER_UI_VERSION := 5.36.0
SWAGGER_UI_FILES := swagger-ui.css swagger-ui-bundle.js favicon-32x32.png LICENSE NOTICE
SWAGGER_UI := $(VENV)/share/swagger-ui-dist

.PHONY: serve test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Installed once per change of any pyproject.toml.
$(VENV)/.installed: $(BIN)/python pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PIP) install -e . $(addprefix -e ,$(PLUGINS))
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(addsuffix /pyproject.toml,$(EXAMPLES))
	$(PIP) install -e '.[dev]' $(addprefix -e ,$(EXAMPLES))
	@touch $@

# nginx for the end-to-end test of deploy/nginx.conf (tests/e2e/test_nginx_front.py), from
# Debian; the machine's policy-rc.d keeps apt from starting it as a service.
$(VENV)/.nginx: $(BIN)/python
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light)
	@touch $@

# The go command for the end-to-end test of the Go module proxy example
# (examples/goproxy/tests/test_goproxy_e2e.py), from Debian.
$(VENV)/.golang: $(BIN)/python
	@command -v go >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go)
	@touch $@

# Headless Chromium and its WebDriver for the web UI's browser tests (tests/e2e/test_ui_browser.py),
# from Debian, as nginx is.
$(VENV)/.chromium: $(BIN)/python
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)
	@touch $@

# axe-core for the accessibility check of those tests, from npm into the venv (injected by the
# test into the page, never served by the gateway). Without npm the check is skipped, saying so.
AXE_CORE_VERSION := 4.10.3
AXE_CORE := $(VENV)/share/axe-core
$(AXE_CORE)/.$(AXE_CORE_VERSION): | $(BIN)/python
	@rm -rf $(VENV)/npm-axe-core; \
	if command -v npm >/dev/null && npm install --silent --no-save --no-package-lock --no-audit \
			--no-fund --prefix $(VENV)/npm-axe-core axe-core@$(AXE_CORE_VERSION); then \
		rm -rf $(AXE_CORE) && mkdir -p $(AXE_CORE) && \
		cp $(VENV)/npm-axe-core/node_modules/axe-core/axe.min.js \
			$(VENV)/npm-axe-core/node_modules/axe-core/LICENSE $(AXE_CORE)/ && \
		rm -rf $(VENV)/npm-axe-core && touch $@; \
	else echo "axe-core not installed (it needs npm): the UI's accessibility check will be skipped"; fi

# oidc-provider (panva's certified OpenID provider) for the identity tests' local IdP
# (tests/support/oidc_idp), from npm into the venv as axe-core is; its node_modules stay there.
# Without it those tests skip locally and fail under CI=true.
OIDC_PROVIDER_VERSION := 9.13.3
OIDC_PROVIDER := $(VENV)/share/oidc-provider
$(OIDC_PROVIDER)/.$(OIDC_PROVIDER_VERSION): | $(BIN)/python
	@rm -rf $(OIDC_PROVIDER); \
	if command -v npm >/dev/null && npm install --silent --no-save --no-package-lock --no-audit \
			--no-fund --prefix $(OIDC_PROVIDER) oidc-provider@$(OIDC_PROVIDER_VERSION); then \
		touch $@; \
	else echo "oidc-provider not installed (it needs npm): the OIDC tests will be skipped"; fi

# buildah, skopeo and podman for the end-to-end tests of the OCI plugin
# (plugins/oci/tests/test_oci_e2e.py), from Debian.
$(VENV)/.containers: $(BIN)/python
	@command -v skopeo >/dev/null && command -v buildah >/dev/null && command -v podman >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq skopeo buildah podman)
	@touch $@

# Without npm (or its registry) the server still starts; /v1/docs then answers 404 saying how
# to install it, and the next make tries again.
$(SWAGGER_UI)/.$(SWAGGER_UI_VERSION): | $(BIN)/python
	@rm -rf $(VENV)/npm-swagger-ui; \
	if command -v npm >/dev/null && npm install --silent --no-save --no-package-lock --no-audit \
			--no-fund --prefix $(VENV)/npm-swagger-ui swagger-ui-dist@$(SWAGGER_UI_VERSION); then \
		rm -rf $(SWAGGER_UI) && mkdir -p $(SWAGGER_UI) && \
		cd $(VENV)/npm-swagger-ui/node_modules/swagger-ui-dist && cp $(SWAGGER_UI_FILES) $(abspath $(SWAGGER_UI)) && \
		rm -rf $(abspath $(VENV)/npm-swagger-ui) && touch $(abspath $@); \
	else echo "Swagger UI not installed (it needs npm): /v1/docs will answer 404 until make runs with it"; fi

serve: $(VENV)/.installed $(SWAGGER_UI)/.$(SWAGGER_UI_VERSION)
	$(BIN)/artifortress serve

test: $(VENV)/.installed-dev lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/check_imports.py

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy
	$(BIN)/mypy --strict $(foreach p,$(PLUGINS) $(EXAMPLES),$(wildcard $(p)/artifortress_*))

pytest: $(VENV)/.installed-dev $(VENV)/.nginx $(VENV)/.golang $(VENV)/.containers $(SWAGGER_UI)/.$(SWAGGER_UI_VERSION) \
		$(VENV)/.chromium $(AXE_CORE)/.$(AXE_CORE_VERSION) $(OIDC_PROVIDER)/.$(OIDC_PROVIDER_VERSION)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Side by side with pypiserver, devpi, Verdaccio and nginx; writes bench/REPORT.md (see bench/run.py
# for BENCH_ROWS, BENCH_QUICK, BENCH_PG, BENCH_PROFILE). Everything it installs goes to bench/work.
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
