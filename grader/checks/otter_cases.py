"""An otter-grader test case, run by otter's own runner on the host, on the notebook's variables loaded as data
(and a stand-in for each function of the notebook it calls: ``grader.course.otter_calls``)."""
from __future__ import annotations

from typing import Any, Mapping

from grader.checks.base import Missing, Outcome, check
from grader.errors import SpecError


@check("otter_case", "any")
def otter_case(value: Any, params: Mapping[str, Any], namespace: Mapping[str, Any] | None = None) -> Outcome:
    """Passes when otter's runner passes the test; a public test's failure names its failing line (as otter shows
    it), a hidden one's only what failed; the instructor's failure message comes first where there is one."""
    namespace = dict(namespace or {})
    missing = [v for v in namespace.values() if isinstance(v, Missing)]
    if missing:
        return Outcome(False, missing[0].reason)
    from grader.course.otter import load_modules

    try:
        env = load_modules(list(params.get("uses", ())), namespace)
    except SpecError as exc:
        return Outcome(False, str(exc))
    cases = list(params["every"]) if "every" in params else [params]
    for case in cases:
        passed, output = _run(case, env)
        if not passed:
            public = not params.get("hidden", True) and "every" not in params
            return Outcome(False, _reason(case, output, public=public))
    return Outcome(True, str(params.get("success_message") or "passed"))


def _run(case: Mapping[str, Any], env: dict[str, Any]) -> tuple[bool, str]:
    from grader.course.otter import run_cases, run_exception_case

    question = str(case["question"])
    if case.get("format") == "exception":
        return run_exception_case(question, str(case["source"]), str(case["function"]), env)
    return run_cases(question, [case["case"]], env)[0]


def _reason(case: Mapping[str, Any], output: str, public: bool) -> str:
    from grader.course.otter import failing_line, short_error

    said = str(case.get("failure_message") or "")
    error = short_error(output)
    if not public:
        return said or error
    line = failing_line(output, str(case.get("case", {}).get("code", "")) if "case" in case else "")
    where = f" at: {line}" if line else ""
    return f"{said} ({error}{where})" if said else f"{error}{where}"
