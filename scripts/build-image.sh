#!/usr/bin/env bash
# Builds the image that executes student notebooks (Dockerfile at the top), once: a second run with unchanged
# sources does nothing.  Uses docker when a docker daemon answers, else podman (installed here when missing,
# as root).  Without a registry, the base is a Debian bookworm imported from debootstrap.
#
#   scripts/build-image.sh            build if missing or out of date
#   scripts/build-image.sh --force    build again
#   scripts/build-image.sh --hash     print the sources' hash and exit (--runner-hash: the runner's files')
#
# Environment: GRADER_IMAGE (default localhost/notebook-grader:latest), GRADER_ENGINE (docker|podman),
# BASE_IMAGE (default: localhost/debian:bookworm, imported when missing).
# Exit status 0 when the image is there and up to date; otherwise it says what it could not do and exits 1.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${GRADER_IMAGE:-localhost/notebook-grader:latest}"
LOCAL_BASE="localhost/debian:bookworm"
BASE_IMAGE="${BASE_IMAGE:-$LOCAL_BASE}"
HASH_LABEL="notebook-grader.source-hash"
RUNNER_LABEL="notebook-grader.runner-hash"
CONF_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/notebook-grader"
FORCE=0

say() { printf '[build-image] %s\n' "$*" >&2; }
fail() { say "NOT DONE: $*"; exit 1; }

# The same hashes as grader.sandbox.container.source_hash(): sha256sum lines of the files, hashed again.
# All the inputs decide whether to build; the runner's files (what the container runs, and the format of what
# it writes) decide whether the grader may use the image.
# grader/sandbox/container.py: runner_files(), the same list
RUNNER_BASE="Dockerfile .dockerignore pyproject.toml grader/__init__.py grader/errors.py"
hash_files() { ( cd "$ROOT" && xargs -d '\n' sha256sum | sha256sum | cut -d' ' -f1 ); }
source_hash() {
  ( cd "$ROOT" && { printf '%s\n' Dockerfile .dockerignore pyproject.toml; find grader -name '*.py' -type f | LC_ALL=C sort; } ) \
    | hash_files
}
runner_hash() {
  ( cd "$ROOT" && { printf '%s\n' $RUNNER_BASE; find grader/inside -name '*.py' -type f -not -path '*/__pycache__/*' | LC_ALL=C sort; } ) \
    | hash_files
}

for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    --hash) source_hash; exit 0 ;;
    --runner-hash) runner_hash; exit 0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) fail "unknown argument $arg" ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo -n "$@"; else return 1; fi
}

install_podman() {
  local missing=()
  for p in podman runc debootstrap uidmap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  say "installing ${missing[*]} (log: /tmp/grader-apt-podman.log)"
  ( as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" ) \
      >/tmp/grader-apt-podman.log 2>&1 \
    || fail "could not install ${missing[*]} (not root, or apt-get failed: see /tmp/grader-apt-podman.log)"
}

choose_engine() {
  local wanted="${GRADER_ENGINE:-}"
  if [ "$wanted" != podman ] && command -v docker >/dev/null && timeout 30 docker info >/dev/null 2>&1; then
    ENGINE=(docker); ENGINE_NAME=docker; return
  fi
  [ "$wanted" = docker ] && fail "GRADER_ENGINE=docker, but 'docker info' does not answer (is the daemon running?)"
  install_podman
  command -v podman >/dev/null || fail "podman is not installed"
  # This machine's kernel refuses some rlimits and mixes cgroup versions; crun fails here, runc works.
  # grader/sandbox/container.py writes and uses the same file.
  mkdir -p "$CONF_DIR"
  printf '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\n' >"$CONF_DIR/containers.conf"
  export CONTAINERS_CONF="$CONF_DIR/containers.conf"
  ENGINE=(podman); ENGINE_NAME=podman
  command -v runc >/dev/null && ENGINE+=(--runtime runc)
}

image_exists() { "${ENGINE[@]}" image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

import_base() {
  image_exists "$BASE_IMAGE" && return 0
  [ "$BASE_IMAGE" = "$LOCAL_BASE" ] || { say "pulling $BASE_IMAGE"; "${ENGINE[@]}" pull "$BASE_IMAGE" >&2 && return 0; \
                                          fail "the base image $BASE_IMAGE is not there and cannot be pulled"; }
  command -v debootstrap >/dev/null || as_root apt-get install -y -qq debootstrap >/dev/null 2>&1 \
    || fail "debootstrap is missing and cannot be installed, so $LOCAL_BASE cannot be made"
  [ "$(id -u)" = 0 ] || fail "making $LOCAL_BASE with debootstrap needs root"
  local rootfs mirror; rootfs="$(mktemp -d /tmp/debian-rootfs.XXXXXX)"; mirror="$(debian_mirror)"
  say "making $LOCAL_BASE: debootstrap --variant=minbase bookworm from $mirror (about 30 s; log: /tmp/grader-debootstrap.log)"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/tmp/grader-debootstrap.log 2>&1; then
    rm -rf "$rootfs"; fail "debootstrap failed (see /tmp/grader-debootstrap.log)"
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  if ! tar -C "$rootfs" -c . | "${ENGINE[@]}" import - "$LOCAL_BASE" >/dev/null 2>>/tmp/grader-debootstrap.log; then
    rm -rf "$rootfs"; fail "could not import the debootstrapped Debian as $LOCAL_BASE"
  fi
  rm -rf "$rootfs"
}

image_hash() {
  "${ENGINE[@]}" image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE" 2>/dev/null
}

build() {
  local hash="$1" args
  args=(build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "$HASH_LABEL=$hash" --label "$RUNNER_LABEL=$(runner_hash)" -t "$IMAGE" -f "$ROOT/Dockerfile")
  # pip inside the build needs this machine's CA bundle (podman can mount it during the build; docker cannot).
  if [ "$ENGINE_NAME" = podman ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    args+=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.pem:ro --build-arg PIP_CERT=/run/host-ca.pem)
  fi
  say "building $IMAGE with $ENGINE_NAME (a few minutes the first time; log: /tmp/grader-image-build.log)"
  "${ENGINE[@]}" "${args[@]}" "$ROOT" >/tmp/grader-image-build.log 2>&1 \
    || { tail -20 /tmp/grader-image-build.log >&2; fail "the image build failed (see /tmp/grader-image-build.log)"; }
}

choose_engine
HASH="$(source_hash)"
if [ "$FORCE" = 0 ] && image_exists "$IMAGE" && [ "$(image_hash)" = "$HASH" ]; then
  say "$IMAGE is up to date ($ENGINE_NAME, sources $HASH)"
  exit 0
fi
import_base
OLD_ID="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
build "$HASH"
[ "$(image_hash)" = "$HASH" ] || fail "the image was built but does not carry the sources' hash $HASH"
NEW_ID="$("${ENGINE[@]}" image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then  # the image this build replaced, if nothing else uses it
  "${ENGINE[@]}" rmi "$OLD_ID" >/dev/null 2>&1 || true
fi
"${ENGINE[@]}" run --rm --network none "$IMAGE" python -c "import grader.inside.runner, nbclient, ipykernel" \
  || fail "the image was built but its Python environment does not work"
say "built $IMAGE ($ENGINE_NAME, sources $HASH)"
