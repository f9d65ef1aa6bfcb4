"""An otter-grader test case, run by otter's own runner on the notebook's variables loaded as data."""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import SpecError
from .base import Missing, Outcome, check


@check("otter_case", "any")
def otter_case(value: Any, params: Mapping[str, Any], namespace: Mapping[str, Any] | None = None) -> Outcome:
    from ..otter import load_modules, run_cases, short_error

    namespace = dict(namespace or {})
    missing = [v for v in namespace.values() if isinstance(v, Missing)]
    if missing:
        return Outcome(False, missing[0].reason)
    try:
        env = load_modules(list(params.get("uses", ())), namespace)
    except SpecError as exc:
        return Outcome(False, str(exc))
    cases = list(params["cases"]) if "cases" in params else [params["case"]]
    outcomes = run_cases(str(params["question"]), cases, env)
    failed = [output for passed, output in outcomes if not passed]
    if not failed:
        return Outcome(True, str(params.get("success_message") or "passed"))
    reason = str(params.get("failure_message") or "") or short_error(failed[0])
    return Outcome(False, reason)
