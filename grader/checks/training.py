"""Checks on how training went, read from what ``model.fit`` returned (its history) and from the notebook's
figures (counted by the runner)."""
from __future__ import annotations

from typing import Any, Mapping

from .base import Outcome, check, guard


@guard("history")
def is_history(value: Any) -> Outcome | None:
    if isinstance(value, dict) and isinstance(value.get("metrics"), dict):
        return None
    if hasattr(value, "history") and isinstance(value.history, dict):
        return None
    return Outcome(False, f"expected what model.fit(...) returns (a History), found {type(value).__name__}")


def _metrics(value: Any) -> dict[str, list[float]]:
    if isinstance(value, dict):
        return {k: list(v) for k, v in value["metrics"].items()}
    return {k: [float(x) for x in v] for k, v in value.history.items()}


@check("training_stopped", "history")
def training_stopped(value: Any, params: Mapping[str, Any]) -> Outcome:
    """Training ran at most ``max_epochs`` and stopped at the first epoch that reached the threshold.

    A training that reached the threshold only at its last planned epoch also stopped at the right time (the
    course's graders could not tell it from a callback that never fired); one that went on after reaching it did
    not."""
    metric = str(params.get("metric", "accuracy"))
    threshold = float(params["threshold"])
    most = int(params["max_epochs"])
    values = _metrics(value).get(metric)
    if not values:
        return Outcome(False, f"the history has no '{metric}': compile the model with metrics=['{metric}']")
    if len(values) > most:
        return Outcome(False, f"training ran {len(values)} epochs, more than the {most} allowed")
    reached = [i for i, v in enumerate(values) if v >= threshold]
    if not reached:
        return Outcome(False, f"{metric} never reached {threshold:g} in {len(values)} epochs (best"
                              f" {max(values):.4f}), so the callback had nothing to stop")
    first = reached[0]
    if first < len(values) - 1:
        return Outcome(False, f"{metric} reached {values[first]:.4f} at epoch {first + 1}, but training went on to"
                              f" epoch {len(values)}: the callback did not stop it")
    return Outcome(True, f"training stopped after epoch {len(values)}, the first to reach {metric} {threshold:g}"
                         f" ({values[-1]:.4f})")


@guard("figure")
def is_figure_count(value: Any) -> Outcome | None:
    if isinstance(value, dict) and isinstance(value.get("pictures"), int):
        return None
    return Outcome(False, "the figures of this task could not be counted")


@check("figure_shown", "figure")
def figure_shown(value: Any, params: Mapping[str, Any]) -> Outcome:
    """The task's cells showed at least ``min_pictures`` pictures (plots)."""
    least = int(params.get("min_pictures", 1))
    shown = int(value["pictures"])
    if shown >= least:
        return Outcome(True, f"{shown} picture{'s' if shown != 1 else ''} shown")
    return Outcome(False, f"{shown} pictures shown in this task's cells, expected at least {least}: does the cell"
                          " call plt.show() (or end with the figure)?")
