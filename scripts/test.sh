#!/usr/bin/env bash
# The whole test suite: installs what it needs on first use, then runs pytest (arguments are passed on).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
[ "$SETUP_OK" = 1 ] || { echo "[test] set-up incomplete (see above); running the tests anyway" >&2; }
cd "$ROOT"
# The lint first (a second): pyproject.toml's [tool.ruff]; a finding fails the run, as a failing test does.
if [ -x "$VENV/bin/ruff" ]; then
  "$VENV/bin/ruff" check grader tests benchmarks || { echo "[test] ruff found the problems above" >&2; exit 1; }
else
  echo "[test] ruff is not installed (scripts/setup.sh installs it): the lint did not run" >&2
  [ -z "${CI:-}" ] || exit 1
fi
# Then the type check (seconds once cached): pyproject.toml's [tool.mypy] on the package; an error fails the run too.
if [ -x "$VENV/bin/mypy" ]; then
  "$VENV/bin/mypy" || { echo "[test] mypy found the type errors above (pyproject.toml's [tool.mypy])" >&2; exit 1; }
else
  echo "[test] mypy is not installed (scripts/setup.sh installs it): the type check did not run" >&2
  [ -z "${CI:-}" ] || exit 1
fi
# The grading image for the container sandbox (podman here, docker where it runs); CI must not skip those tests.
bash "$ROOT/scripts/build-image.sh" || echo "[test] the grading image was not built: the container tests will fail" >&2
exec "$VENV/bin/python" -m pytest "$@"
