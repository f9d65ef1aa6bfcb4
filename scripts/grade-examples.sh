#!/usr/bin/env bash
# The main job: grade the example submissions that ship with the project, in the local sandbox.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
[ "$SETUP_OK" = 1 ] || { echo "[grade-examples] set-up incomplete (see above)" >&2; exit 1; }
cd "$ROOT"
# The local sandbox (bubblewrap) by default; pass --sandbox container (or auto) to grade in containers.
exec "$VENV/bin/grader" batch examples/fashion_cnn --assignment fashion_cnn --out grading-output/examples \
  --sandbox bubblewrap "$@"
