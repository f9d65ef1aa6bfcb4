"""Writes the example submissions of examples/<assignment>/ from each reference solution.

Run: .venv/bin/python examples/make_examples.py   (tests/test_examples.py fails while they are out of date)
Each assignment's examples stand for a class: the complete notebook (<name>_complete: the reference
solution), the untouched one (<name>_untouched: the template) and typical mistakes.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.course.assignment import load_assignment  # noqa: E402
from tests.e2e import notebooks as nbs  # noqa: E402

CNN_SECOND_CONV = ('tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),\n    tf.keras.layers.MaxPooling2D(2, 2),\n'
                   '    tf.keras.layers.Flatten(),')


def fashion_cnn(course) -> dict[str, object]:
    ref = lambda: nbs.reference(course)  # noqa: E731
    return {
        # trained on 3,000 images for one epoch, as the other mistakes: a mistake costs CI seconds, not minutes
        "ben_filters_32": nbs.replace(nbs.quick(ref()), CNN_SECOND_CONV, CNN_SECOND_CONV.replace("Conv2D(64", "Conv2D(32")),
        "chloe_no_normalisation": nbs.replace(nbs.replace(nbs.quick(ref()), "training_images = training_images / 255.0\n",
                                                          ""), "test_images = test_images / 255.0\n", ""),
        "finn_kernel_exit": nbs.insert_cell(nbs.quick(ref()), "cnn", "import os\nos._exit(1)", where="start"),
        # a download cut short
        "eve_truncated": nbformat.writes(ref())[:2000],
    }


MISTAKES: dict[str, Callable[[object], dict[str, object]]] = {"fashion_cnn": fashion_cnn}


def examples(name: str) -> dict[str, str]:
    """Every example of an assignment, by file stem, as the text of the file."""
    course = load_assignment(name)
    found = {f"{name}_complete": nbs.reference(course), f"{name}_untouched": course.template(),
             **MISTAKES.get(name, lambda _: {})(course)}
    return {stem: nb if isinstance(nb, str) else nbformat.writes(nb) + "\n" for stem, nb in found.items()}


def canonical(text: str):
    """A notebook's cells without their ids (otter assign draws them at random); other files as they are."""
    try:
        return [(c.cell_type, c.source, {k: v for k, v in c.metadata.items()}) for c in nbformat.reads(text, 4).cells]
    except Exception:  # noqa: BLE001 - not a notebook (a download cut short): compared as text
        return text


def main() -> None:
    for solution in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        name = solution.parent.name
        folder = ROOT / "examples" / name
        folder.mkdir(parents=True, exist_ok=True)
        written = examples(name)
        for stem, text in written.items():
            path = folder / f"{stem}.ipynb"
            if not path.is_file() or canonical(path.read_text()) != canonical(text):
                path.write_text(text)
        for stale in set(p.stem for p in folder.glob("*.ipynb")) - set(written):
            (folder / f"{stale}.ipynb").unlink()
        print(f"wrote {len(written)} examples to {folder}")


if __name__ == "__main__":
    main()
