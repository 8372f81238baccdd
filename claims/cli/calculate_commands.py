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
@click.option("--claims", "claims_file", type=click.Path(), help="补助申请（CSV 或 XLSX）。")
@click.option("--settlements", "settlements_file", type=click.Path(),
              help="医保结算清单（免申即享，CSV 或 XLSX），代替 --claims；按单进程计算（不用 --workers）。")
@click.option("--mapping", "mapping_file", type=click.Path(),
              help="结算清单字段映射（YAML）；默认为国家医保信息平台字段名的映射。")
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
def calculate(policy_file: str, members: str, enrollments: str, claims_file: str | None,
              settlements_file: str | None, mapping_file: str | None, out: str, fmt: str | None,
              workers: int, stream: bool, partitions: int | None) -> None:
    """不经数据库直接计算每件申请，每个结果行输出一行（SPEC §5）。

    补助申请用 --claims 给出，或用 --settlements 给出医保结算清单（免申即享，按 --mapping 映射；
    非会员和不在补助范围的医疗类别跳过并计数）。

    \b
    角色：任何人（不读写数据库）
    文件：策略文件 YAML；会员名单、参保名单、补助申请或医保结算清单 CSV（UTF-8 或 GBK）或 XLSX；输出 CSV、JSON 或 XLSX
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.bulk import calculate_files, collector_paused
    from claims.engine import ValueNotInForce
    from claims.policy import read_policy
    from exports.lines import contract_row, json_record, policy_names, write_rows

    fmt = fmt or (Path(out).suffix.lstrip(".").lower() if out != "-" else "csv")
    if fmt not in ("csv", "json", "xlsx"):
        raise Refused(f"无法从 {out} 判断输出格式，请用 --format 指定 csv、json 或 xlsx")
    if fmt == "xlsx" and out == "-":
        raise Refused("XLSX 不能写到标准输出，请用 --out 指定文件")
    if (claims_file is None) == (settlements_file is None):
        raise Refused("请给出 --claims（补助申请）或 --settlements（医保结算清单）之一")
    if stream and settlements_file:
        raise Refused("--stream 只用于 --claims；医保结算清单按单进程计算")
    if stream:
        if workers > 1:
            raise Refused("--stream 逐个分区计算，不能与 --workers 同时使用")
        if fmt != "csv":
            raise Refused("--stream 只输出 CSV；需要 JSON 或 XLSX 时请不用 --stream")
        _calculate_stream(policy_file, Path(members), Path(enrollments), Path(claims_file), out, partitions)
        return
    render = {"csv": contract_row, "json": json_record, "xlsx": json_record}[fmt]
    from claims.intake.tables import sheet_notices

    for path in (members, enrollments, claims_file or settlements_file):
        for notice in sheet_notices(path):
            click.echo(f"注意：{notice}", err=True)
    if fmt == "csv" and claims_file is not None:
        _calculate_csv(policy_file, Path(members), Path(enrollments), Path(claims_file), out, workers)
        return
    try:
        loaded = read_policy(policy_file)
        with collector_paused(collect=False):
            if settlements_file:
                rows, claims_count = _from_settlements(loaded.policy, members, enrollments, settlements_file,
                                                       mapping_file, render)
            else:
                rows, _, claims_count = calculate_files(loaded.policy, Path(members), Path(enrollments),
                                                        Path(claims_file), date.today(), workers, render,
                                                        explain=fmt != "csv")
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:
        click.echo(f"{policy_file}: [POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    with collector_paused(collect=False):  # the process ends here: nothing to collect
        total = write_rows(rows, fmt, out, sys.stdout, policy_names(loaded.policy))
        paid_claims = len({row[0] if fmt == "csv" else row["claim_id"] for row in rows
                           if (row[5] if fmt == "csv" else row["amount"]) != "0.00"})
    click.echo(f"已计算 {claims_count} 件申请，{len(rows)} 行结果，{paid_claims} 件有补助，"
               f"补助合计 {total:,.2f} 元" + ("" if out == "-" else f"；已写入 {out}"), err=True)


def _from_settlements(policy, members: str, enrollments: str, settlements: str, mapping_file: str | None, render):
    from claims.engine import calculate as run
    from claims.intake.settlements import NOT_COVERED, NOT_MEMBER, load_mapping, read_settlement_inputs

    mapping = load_mapping(mapping_file)
    inputs, done = read_settlement_inputs(policy, members, enrollments, settlements, mapping, date.today())
    result = run(policy, inputs.members, inputs.enrollments, inputs.claims)
    skipped = "，".join(f"{reason} {done.skipped_count(reason)} 行" for reason in (NOT_MEMBER, NOT_COVERED)
                       if done.skipped_count(reason))
    click.echo(f"{settlements}：{done.rows} 行结算记录（映射：{mapping.name}），成为申请 {len(inputs.claims)} 件"
               + (f"；跳过 {skipped}" if skipped else "")
               + (f"；冲销 {len(done.reversals)} 行" if done.reversals else ""), err=True)
    return [render(line) for line in result.lines], len(inputs.claims)


def _calculate_csv(policy_file: str, members: Path, enrollments: Path, claims: Path, out: str, workers: int) -> None:
    from claims.bulk import calculate_csv, collector_paused
    from claims.engine import ValueNotInForce
    from claims.policy import read_policy
    from exports.safety import atomic_output

    try:
        loaded = read_policy(policy_file)
        with collector_paused(collect=False):  # the process ends soon after: nothing to collect
            done = calculate_csv(loaded.policy, members, enrollments, claims, date.today(), workers)
    except ProblemsFound as found:
        _fail(found)
    except ValueNotInForce as error:
        click.echo(f"{policy_file}: [POLICY_VALUE_NOT_IN_FORCE] {error}", err=True)
        sys.exit(2)
    if out == "-":
        sys.stdout.write(done.text)
    else:
        with atomic_output(out) as temporary, open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(done.text)
    click.echo(f"已计算 {done.claims} 件申请，{done.lines} 行结果，{done.paid_claims} 件有补助，"
               f"补助合计 {done.total:,.2f} 元" + ("" if out == "-" else f"；已写入 {out}"), err=True)


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
    """用 examples/ 中的示例跑完整个流程，输出到一个文件夹并列出每个文件。

    \b
    角色：任何人（无需 --user）
    文件：无；读取本仓库的 examples/
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.demo import run_demo

    try:
        run_demo(Path(out), say=click.echo)
    except ProblemsFound as found:
        _fail(found)
