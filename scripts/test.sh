#!/usr/bin/env bash
# The test suite: sets up what it needs, then lint, format check and pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -k scan`);
# BMRU_TEST_WORKERS processes run the tests (default 2; 0: one process).
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
ruff check .
ruff format --check .
python -m pytest -n "${BMRU_TEST_WORKERS:-2}" "$@"
