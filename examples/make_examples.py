"""Writes the example submissions of examples/fashion_cnn from the reference solution.

Run: .venv/bin/python examples/make_examples.py
They stand for a class: a complete notebook, typical mistakes, an untouched notebook,
a file that is not a notebook, and a notebook that kills its kernel.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.assignment import load_assignment  # noqa: E402
from tests.e2e import notebooks as nbs  # noqa: E402

FOLDER = ROOT / "examples" / "fashion_cnn"


def main() -> None:
    course = load_assignment("fashion_cnn")
    ref = lambda: nbs.reference(course)  # noqa: E731
    one_epoch = {"epochs=5)": "epochs=1)"}
    examples = {
        "ada_complete": ref(),
        "ben_filters_32": nbs.replace(nbs.replace(ref(), *next(iter(one_epoch.items())), count=2),
                                      'tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),\n    tf.keras.layers.MaxPooling2D(2, 2),\n    tf.keras.layers.Flatten(),',
                                      'tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),\n    tf.keras.layers.MaxPooling2D(2, 2),\n    tf.keras.layers.Flatten(),'),
        "chloe_no_normalisation": nbs.replace(nbs.replace(nbs.quick(ref()), "training_images = training_images / 255.0\n", ""),
                                              "test_images = test_images / 255.0\n", ""),
        "dan_untouched": course.template(),
        "finn_kernel_exit": nbs.insert_cell(nbs.quick(ref()), "cnn", "import os\nos._exit(1)", where="start"),
    }
    for name, nb in examples.items():
        nbs.write(nb, FOLDER, name)
    (FOLDER / "eve_truncated.ipynb").write_text(
        (FOLDER / "ada_complete.ipynb").read_text()[:2000])  # a download cut short
    print(f"wrote {len(examples) + 1} submissions to {FOLDER}")


if __name__ == "__main__":
    main()
