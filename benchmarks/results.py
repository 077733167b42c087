"""benchmarks/RESULTS.md: each benchmark replaces its own summary rows and its own details section.

The summary table sits between ``<!-- summary:begin -->`` and ``<!-- summary:end -->``; a row
belongs to the benchmark whose id starts its first cell ("B1", "B4 1M by wallet", ...). Details
sit between ``<!-- B1:begin -->`` and ``<!-- B1:end -->``. Text outside the markers (notes, the
record of changes and their effect) is left as it is.
"""

import re
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("RESULTS.md")
SUMMARY_HEADER = [
    "Benchmark",
    "Measured",
    "Floor (same run)",
    "Ratio",
    "Target",
    "Distance from target",
    "Date",
    "Command",
]
_SKELETON = """# Benchmark results

Written by the benchmark scripts in this folder (benchmarks/README.md says how to run them);
each run replaces its own rows and its own details section. Ratios are measured / floor, both
taken in the same run on the same machine, so they are the figures to compare across machines.

## Summary

<!-- summary:begin -->
<!-- summary:end -->

## Details
"""


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _sort_key(cells: list[str]):
    # B1 < B2 < ... and, within B4, sizes in numeric order (100k < 1M < 10M).
    # The last size named counts, so "growth 100k → 10M" sorts after the 10M row.
    sizes = re.findall(r"\b(\d+)([kM]?)\b", cells[0][2:])
    scale = {"": 1, "k": 1_000, "M": 1_000_000}
    return (cells[0][:2], int(sizes[-1][0]) * scale[sizes[-1][1]] if sizes else 0, cells[0])


def record(benchmark: str, rows: list[list[str]], details: str, *, path: Path = DEFAULT_PATH) -> None:
    """Replace ``benchmark``'s summary rows with ``rows`` and its details section with ``details``."""
    text = path.read_text() if path.exists() else _SKELETON
    begin, end = "<!-- summary:begin -->", "<!-- summary:end -->"
    head, rest = text.split(begin, 1)
    table, tail = rest.split(end, 1)
    kept = [
        _cells(line)
        for line in table.strip().splitlines()[2:]
        if line.startswith("|") and not re.match(rf"{re.escape(benchmark)}\b", _cells(line)[0])
    ]
    body = sorted(kept + rows, key=_sort_key)
    lines = [_row(SUMMARY_HEADER), _row(["---"] * len(SUMMARY_HEADER)), *map(_row, body)]
    text = f"{head}{begin}\n" + "\n".join(lines) + f"\n{end}{tail}"

    section_begin, section_end = f"<!-- {benchmark}:begin -->", f"<!-- {benchmark}:end -->"
    section = f"{section_begin}\n{details.strip()}\n{section_end}"
    if section_begin in text:
        before, after = text.split(section_begin, 1)
        text = before + section + after.split(section_end, 1)[1]
    else:
        sections = list(re.finditer(r"<!-- (B\d):begin -->.*?<!-- \1:end -->", text, re.S))
        later = [m for m in sections if m.group(1) > benchmark]
        if later:
            text = text[: later[0].start()] + section + "\n\n" + text[later[0].start() :]
        elif sections:
            text = text[: sections[-1].end()] + "\n\n" + section + text[sections[-1].end() :]
        else:
            marker = "## Details\n"
            text = text.replace(marker, marker + "\n" + section + "\n", 1) if marker in text else text + "\n" + section + "\n"
    path.write_text(text)


def phase_table(phases) -> str:
    """A markdown table of load phases (load.Phase, as summarised over rounds)."""
    header = [
        "Phase",
        "ops/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "failures",
        "server CPU %",
        "load generator CPU %",
        "DB backends CPU %",
        "machine CPU % (all processes)",
        "generator",
    ]
    lines = [_row(header), _row(["---"] * len(header))]
    for phase in phases:
        lines.append(
            _row(
                [
                    phase.name,
                    f"{phase.ops:.0f}",
                    f"{phase.p50_ms:.2f}",
                    f"{phase.p95_ms:.2f}",
                    f"{phase.p99_ms:.2f}",
                    str(phase.failures),
                    "-" if phase.server_cpu is None else f"{phase.server_cpu:.0f}",
                    f"{phase.client_cpu:.0f}",
                    f"{phase.db_cpu:.0f}",
                    f"{phase.machine_cpu:.0f}",
                    phase.extra.get("generator", ""),
                ]
            )
        )
    return "\n".join(lines)


def distance(value: float, target: float, *, higher_is_better: bool = True) -> str:
    """How far ``value`` is from ``target``: "+x% margin" or "short by x%"."""
    if target == 0:
        return "n/a"
    margin = (value - target) / target * 100 if higher_is_better else (target - value) / target * 100
    return f"+{margin:.0f}% margin" if margin >= 0 else f"short by {-margin:.0f}%"


def pgbench_comparison(run, *, written: str, floor_heading: str, floor_sql: str) -> str:
    """The part of B1's and B2's details after their opening lines: both phases, every round's
    figures, what HTTP wrote (``written``), and the floor's pgbench script."""
    return f"""{phase_table([run.http, run.floor])}

Every round: {run.each_round()} (HTTP/floor ops/s).
{written}

{floor_heading}

```sql
{floor_sql.strip()}
```"""
