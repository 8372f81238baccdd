"""``claims demo``: run the whole flow on examples/ into one folder and say where each file is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from claims.engine import calculate
from claims.intake import read_inputs
from claims.policy import read_policy
from exports.lines import write_csv, write_json, write_xlsx

PROJECT = Path(__file__).resolve().parent.parent


@dataclass
class DemoReport:
    folder: Path
    steps: list[str] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)


def run_demo(out: Path, say: Callable[[str], None] = print, examples: Path | None = None) -> DemoReport:
    examples = examples or PROJECT / "examples"
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out)
    loaded = read_policy(PROJECT / "policies" / "hangzhou.yaml")
    say(f"1. 策略 {loaded.policy.scheme.name}：校验通过（sha256 {loaded.sha256[:12]}…）")
    inputs = read_inputs(loaded.policy, examples / "members.csv", examples / "enrollments.csv",
                         examples / "claims.csv", today=date.today())
    say(f"2. 读入 {len(inputs.members)} 名会员、{len(inputs.enrollments)} 条参保、{len(inputs.claims)} 件申请：全部通过校验")
    result = calculate(loaded.policy, inputs.members, inputs.enrollments, inputs.claims)
    total = sum((line.amount for line in result.lines), Decimal("0.00"))
    refused = sum(1 for line in result.lines if line.amount == 0)
    say(f"3. 计算完成：{len(result.lines)} 行结果，补助合计 {total:,.2f} 元，{refused} 行不予补助或为零")
    for name, label, writer in (("results.csv", "计算结果（CSV，对账用）", "csv"),
                                ("results.json", "计算结果及说明（JSON）", "json"),
                                ("results.xlsx", "计算结果（Excel，含中文说明）", "xlsx")):
        path = out / name
        if writer == "xlsx":
            write_xlsx(result.lines, str(path))
        else:
            with path.open("w", encoding="utf-8", newline="") as handle:
                (write_csv if writer == "csv" else write_json)(result.lines, handle)
        report.files.append((label, path))
    say("输出文件：")
    for label, path in report.files:
        say(f"  {label}：{path}")
    return report
