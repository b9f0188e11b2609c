# ValueCompass: `make run` and `make test` are all a new user needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := local,openai,report,survey,postgres,transformers,ray,dev

.PHONY: run test lint types pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# llama.cpp's AMX kernels (chosen by -march=native on CPUs that report AMX) crash in
# llama_decode on the bundled Q4_1 model (seen on Sapphire Rapids virtual machines), so the
# build leaves AMX out; everything else the CPU has (AVX-512 included) stays in. A CMAKE_ARGS
# of your own replaces this.
ifeq ($(shell uname -m),x86_64)
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
CMAKE_ARGS ?= -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'
export CMAKE_ARGS
endif

# Reinstall only when the project's dependencies change; llama-cpp-python
# compiles from source once (about 5 minutes on 2 cores) and is kept in .venv. It is built
# first and never from pip's cache, so a wheel built earlier with other flags is not reused.
LLAMA_SPEC := $(shell grep -o '"llama-cpp-python[^"]*"' pyproject.toml)
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/python -c "import llama_cpp" 2>/dev/null || \
		$(BIN)/pip install --quiet --no-cache-dir $(LLAMA_SPEC)
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
