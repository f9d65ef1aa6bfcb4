#!/usr/bin/env bash
# Written by `grader ci-init` (notebook-grader {{VERSION}}): what this course's CI runs, and what anyone can run here
# the same way (`bash ci/grader-ci.sh`). GitHub Actions (.github/workflows/grader.yml) and GitLab CI (.gitlab-ci.yml)
# both call it. Three steps, each skipped by its variable:
#   1. install the grader from its source (GRADER_INSTALL=0: use the `grader` already on PATH)
#   2. the grading image: pulled (GRADER_PULL=1, GRADER_IMAGE a registry's image) or built from the grader's
#      Dockerfile by its scripts/build-image.sh (GRADER_BUILD=0: use the image this machine has)
#   3. `grader validate --all` in the container sandbox: every assignment of this course, one exit code, the JUnit
#      report in $GRADER_JUNIT (GRADER_VALIDATE_ARGS: more options, e.g. "--seeds 3")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
GRADER_SOURCE="${GRADER_SOURCE:-{{GRADER_SOURCE}}}"
GRADER_REF="${GRADER_REF:-{{GRADER_REF}}}"
GRADER_HOME="${GRADER_HOME:-.grader}"
GRADER_IMAGE="${GRADER_IMAGE:-{{GRADER_IMAGE}}}"
GRADER_JUNIT="${GRADER_JUNIT:-grader-validate.xml}"
export GRADER_IMAGE
say() { printf '[grader-ci] %s\n' "$*" >&2; }

if [ "${GRADER_INSTALL:-1}" = 1 ]; then
  if [ ! -d "$GRADER_HOME" ]; then
    say "fetching the grader: $GRADER_SOURCE ($GRADER_REF)"
    git clone --depth 1 --branch "$GRADER_REF" "$GRADER_SOURCE" "$GRADER_HOME"
  fi
  say "installing the grader"
  python3 -m pip install --quiet "$GRADER_HOME[tensorflow]"
fi
command -v grader >/dev/null || { say "no grader command on PATH"; exit 2; }

if [ "${GRADER_PULL:-0}" = 1 ]; then
  say "pulling the grading image $GRADER_IMAGE"
  if command -v docker >/dev/null; then docker pull "$GRADER_IMAGE"; else podman pull "$GRADER_IMAGE"; fi
elif [ "${GRADER_BUILD:-1}" = 1 ]; then
  say "building the grading image $GRADER_IMAGE"
  BASE_IMAGE="${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}" bash "$GRADER_HOME/scripts/build-image.sh"
fi

say "validating every assignment in the container sandbox"
# shellcheck disable=SC2086 - GRADER_VALIDATE_ARGS is a list of options
grader validate --all --sandbox container --junit "$GRADER_JUNIT" ${GRADER_VALIDATE_ARGS:-}
