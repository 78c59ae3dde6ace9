# Set-up and entry points. Both targets create and use the project's virtual environment.
# TORCH_SPEC picks the PyTorch build installed into the venv before the package: the
# default takes the CPU wheel; override it (e.g. `make test TORCH_SPEC=torch`) elsewhere.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev,contrib,eval,mujoco,box2d,ray,metaworld,tune
BIN := $(VENV)/bin
STAMP := $(VENV)/.mtml-installed
# The test suite runs on PYTEST_WORKERS processes (pytest-xdist; auto: one per CPU); tests
# that share a trained fixture or a Ray run on one worker, and the longest are handed out
# first, in the order tests/xdist_groups.py gives them (hence --no-loadscope-reorder).
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -ra -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder

.PHONY: venv demo test test-fast lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	# Meta-World pins mujoco 3.3.0; replacing a MuJoCo 4 (mujoco, mujoco-core, mujoco-studio)
	# in place leaves MuJoCo 4's plugins behind, so an existing venv starts MuJoCo afresh
	$(BIN)/python -m pip uninstall --quiet --yes mujoco mujoco-core mujoco-studio
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mtml-rl quickstart

lint: $(STAMP)
	$(BIN)/ruff check mtml_rl tests scripts
	$(BIN)/ruff format --check mtml_rl tests scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(PYTEST)

# Everything CI runs: lint, types and every test, the slow ones included. The checks run
# alongside the tests (on 2 cores mypy fills the time a worker waits for the other's last
# tests); each step's output is printed when it ends, and any failing step fails the target.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck pytest

# The edit-test loop: the tests not marked slow, without lint and type checks. Of a test
# parametrized over every family, spec or method x algorithm, only the cases its fast_subset
# mark names run here (tests/fast_subset.py); `make test` runs them all.
test-fast: $(STAMP)
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
