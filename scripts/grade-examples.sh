#!/usr/bin/env bash
# The main job: grade the example submissions that ship with the project, in the local sandbox, one batch
# per assignment (examples/<assignment>/) into grading-output/examples/<assignment>/.
#   --out DIR     write into DIR/<assignment>/ instead; other arguments go to every `grader batch`
set -u
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
[ "$SETUP_OK" = 1 ] || { echo "[grade-examples] set-up incomplete (see above)" >&2; exit 1; }
cd "$ROOT"
OUT=grading-output/examples
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
status=0
for folder in examples/*/; do
  name="$(basename "$folder")"
  [ -f "solutions/$name/$name.ipynb" ] || continue
  echo "== $name"
  # The local sandbox (bubblewrap) by default; pass --sandbox container (or auto) to grade in containers.
  "$VENV/bin/grader" batch "$folder" --assignment "$name" --out "$OUT/$name" --sandbox bubblewrap ${ARGS[@]+"${ARGS[@]}"} \
    || status=1
done
exit $status
