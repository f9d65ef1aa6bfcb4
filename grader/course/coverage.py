"""What a task's public checks leave to the grader, in words, from the kinds of the checks left out.

Only the kind and the variable of a hidden check reach the student's side: the words say what the grader looks
at, never what it expects.
"""
from __future__ import annotations

from typing import Iterable

from grader.course.handout import LeftOut

# {kind: what the grader does, with {name} the variable}
WORDS = {
    "model_accuracy": "the grader measures the accuracy of {name} itself, on data of its own",
    "array_matches_dataset": "the grader compares {name} with the data set's own images, pixel by pixel",
    "array_from_reference": "the grader computes {name} itself and compares the values",
    "function_matches": "the grader also tries your function {name} on images of its own",
    "callback_stops": "the grader calls your callback {name} with accuracies of its own to see when it stops training",
    "training_stopped": "the grader reads {name} to see at which epoch training stopped",
    "figure_shown": "the grader checks that the notebook shows the pictures of {name}",
    "activation_values": "the grader compares the outputs of {name} with the trained model's own layers",
    "choice": "the grader checks that {name} is the right answer (here, only its form is checked)",
    "number": "the grader checks that {name} is the right answer (here, only its form is checked)",
    "shape": "the grader checks that {name} is the right answer (here, only its form is checked)",
    "otter_case": "the grader runs tests of its own on {name}",
    "array_shape": "the grader checks the shape of {name}",
    "array_range": "the grader checks the range of the values in {name}",
    "model_layers": "the grader checks the layers of {name}",
    "model_shapes": "the grader checks the output shapes and parameters of {name}",
    "model_compile": "the grader checks how {name} was compiled",
}
OTHER = "the grader runs a further check of {name}"


def left_out_lines(left_out: Iterable[LeftOut]) -> list[str]:
    """One line per thing the grader does beyond the public checks, in order, without repeats."""
    lines: list[str] = []
    for check in left_out:
        line = WORDS.get(check.kind, OTHER).format(name=check.evidence)
        if line not in lines:
            lines.append(line)
    return lines


def left_out_points(left_out: Iterable[LeftOut]) -> float:
    return sum(check.points for check in left_out)
