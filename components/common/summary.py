"""The Markdown summary each component leaves for the KFP UI: what ran, how it ended, where to look.

KFP v2 shows a ``system.Markdown`` output artifact in the step's visualizations (kubeflow/pipelines
frontend/src/components/viewers/MetricsVisualizations.tsx), and its launcher uploads output
artifacts of a failed step too (backend/src/v2/component/launcher_v2.go), so a summary that
says what was wrong with the inputs is seen as well. The summary has
one section per job the component ran: final status, failure reason, the SageMaker console and
CloudWatch Logs links, and the final metric values of training jobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from runner.kinds import kind_named
from runner.tracker import Outcome


def console_url(region: str, outcome: Outcome) -> str:
    path = kind_named(outcome.kind).console_path
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{path}/{outcome.name}"


def logs_url(region: str, outcome: Outcome) -> str | None:
    kind = kind_named(outcome.kind)
    group = kind.log_group
    if group is None:
        return None
    # CloudWatch's console escapes its fragment with "$" instead of "%".
    encoded_group = quote(quote(group, safe=""), safe="").replace("%", "$")
    prefix = quote(f"?logStreamNameFilter={kind.log_stream_prefix(outcome.name)}", safe="").replace(
        "%", "$"
    )
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{encoded_group}/log-events{prefix}"
    )


def render(title: str, region: str, outcomes: Iterable[Outcome], error: str | None = None) -> str:
    lines = [f"# {title}", ""]
    if error:
        # A list of problems (bad input) becomes a Markdown list under its first line.
        first, *rest = error.splitlines()
        lines += [f"**Error:** {first}", ""]
        if rest:
            lines += [f"- {line.strip().removeprefix('- ')}" for line in rest] + [""]
    for outcome in outcomes:
        verdict = "succeeded" if outcome.succeeded else "failed"
        lines += [
            f"## {outcome.kind}: `{outcome.name}`",
            "",
            f"- Status: **{outcome.status}** ({verdict})",
            f"- SageMaker console: {console_url(region, outcome)}",
        ]
        logs = logs_url(region, outcome)
        if logs:
            lines.append(f"- CloudWatch logs: {logs}")
        if outcome.failure_reason:
            lines.append(f"- Failure reason: {outcome.failure_reason}")
        metrics = outcome.outputs.get("metrics") or {}
        if metrics:
            lines += ["", "| metric | final value |", "|---|---|"]
            lines += [f"| {name} | {value} |" for name, value in sorted(metrics.items())]
        lines.append("")
    return "\n".join(lines)
