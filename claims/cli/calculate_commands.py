"""`claims calculate` (stateless, SPEC §5) and `claims demo`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from claims.cli.common import Refused, _fail
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.command()
@click.option("--policy", "policy_file", required=True, type=click.Path(), help="策略文件（YAML）。")
@click.option("--members", required=True, type=click.Path(), help="会员名单（CSV 或 XLSX）。")
@click.option("--enrollments", required=True, type=click.Path(), help="参保名单（CSV 或 XLSX）。")
@click.option("--claims", "claims_file", required=True, type=click.Path(), help="补助申请（CSV 或 XLSX）。")
@click.option("--out", default="-", show_default=True, help="输出文件；- 为标准输出。")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "xlsx"]), default=None,
              help="输出格式；默认按 --out 的扩展名，标准输出为 csv。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="并行进程数（按会员分片，结果与单进程完全相同）。")
@click.option("--stream", is_flag=True,
              help="分批计算（按会员分区、中间结果写入临时文件），内存占用有上限，适合百万件申请；"
                   "结果与一次性计算完全相同；只输出 CSV。")
@click.option("--partitions", type=click.IntRange(1, 10000), default=None,
              help="与 --stream 一起用：分区数（默认按申请文件大小，每区约 25,000 件）。")
def calculate(policy_file: str, members: str, enrollments: str, claims_file: str, out: str, fmt: str | None,
              workers: int, stream: bool, partitions: int | None) -> None:
    """Calculate every claim statelessly and write one row per result line (SPEC §5)."""
    from claims.bulk import calculate_files, collector_paused
    from claims.engine import ValueNotInForce
    from claims.policy import read_policy
    from exports.lines import contract_row, json_record, write_rows

    fmt = fmt or (Path(out).suffix.lstrip(".").lower() if out != "-" else "csv")
    if fmt not in ("csv", "json", "xlsx"):
        raise Refused(f"无法从 {out} 判断输出格式，请用 --format 指定 csv、json 或 xlsx")
    if fmt == "xlsx" and out == "-":
        raise Refused("XLSX 不能写到标准输出，请用 --out 指定文件")
    if stream:
        if workers > 1:
            raise Refused("--stream 逐个分区计算，不能与 --workers 同时使用")
        if fmt != "csv":
            raise Refused("--stream 只输出 CSV；需要 JSON 或 XLSX 时请不用 --stream")
        _calculate_stream(policy_file, Path(members), Path(enrollments), Path(claims_file), out, partitions)
        return
    render = {"csv": contract_row, "json": json_record, "xlsx": json_record}[fmt]
    from claims.intake.tables import sheet_notices

    for path in (members, enrollments, claims_file):
        for notice in sheet_notices(path):
            click.echo(f"注意：{notice}", err=True)
    try:
        loaded = read_policy(policy_file)
        with collector_paused():
            rows, _, claims_count = calculate_files(loaded.policy, Path(members), Path(enrollments),
                                                    Path(claims_file), date.today(), workers, render,
                                                    explain=fmt != "csv")
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:
        click.echo(f"{policy_file}: [POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    total = write_rows(rows, fmt, out, sys.stdout)
    paid_claims = len({row[0] if fmt == "csv" else row["claim_id"] for row in rows
                       if (row[5] if fmt == "csv" else row["amount"]) != "0.00"})
    click.echo(f"已计算 {claims_count} 件申请，{len(rows)} 行结果，{paid_claims} 件有补助，"
               f"补助合计 {total:,.2f} 元" + ("" if out == "-" else f"；已写入 {out}"), err=True)


def _calculate_stream(policy_file: str, members: Path, enrollments: Path, claims: Path, out: str,
                      partitions: int | None) -> None:
    from contextlib import nullcontext

    from claims.bulk import collector_paused
    from claims.engine import ValueNotInForce
    from claims.policy import read_policy
    from claims.stream import calculate_stream

    def opened():
        return nullcontext(sys.stdout) if out == "-" else open(out, "w", encoding="utf-8", newline="")

    try:
        loaded = read_policy(policy_file)
        with collector_paused():
            summary = calculate_stream(loaded.policy, members, enrollments, claims, date.today(), opened,
                                       partitions)
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:
        click.echo(f"{policy_file}: [POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    click.echo(f"已计算 {summary.claims} 件申请，{summary.lines} 行结果，{summary.paid_claims} 件有补助，"
               f"补助合计 {summary.total:,.2f} 元" + ("" if out == "-" else f"；已写入 {out}")
               + f"（分 {summary.partitions} 个分区计算）", err=True)


@main.command()
@click.option("-o", "--out", "out", default="demo-output", show_default=True, type=click.Path(),
              help="演示输出文件夹。")
def demo(out: str) -> None:
    """Run the whole flow on examples/ into one folder and print where each file is."""
    from claims.demo import run_demo

    try:
        run_demo(Path(out), say=click.echo)
    except ProblemsFound as found:
        _fail(found)
