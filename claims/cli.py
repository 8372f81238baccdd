"""The ``claims`` command: parse options, call one function, print what it did. Nothing else."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from claims.problems import ProblemsFound


class Refused(click.ClickException):
    exit_code = 2


def _refuse(refusal) -> None:
    click.echo(f"拒绝：{refusal.message} [{refusal.code}]", err=True)
    sys.exit(1)


@contextmanager
def _work(ctx: click.Context, initialised: bool = True):
    """One unit of work on the database: committed whole or not at all; refusals exit 1, bad input 2."""
    from claims.bulk import collector_paused
    from claims.store.database import NotInitialised, Store, check_initialised
    from claims.workflow.errors import Refusal

    store = Store(ctx.obj["db"])
    try:
        if initialised:
            check_initialised(store.engine)
        with collector_paused(), store.session() as session:
            yield session
    except NotInitialised as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    except Refusal as refusal:
        _refuse(refusal)
    except ProblemsFound as found:
        _fail(found)
    finally:
        store.dispose()


def _fail(problems: ProblemsFound) -> None:
    for problem in problems.problems:
        click.echo(str(problem), err=True)
    click.echo(f"共 {len(problems.problems)} 个问题，未做任何处理。", err=True)
    sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CLAIMS_DB", default="sqlite:///claims.db", show_default=True,
              help="数据库地址（SQLAlchemy URL），也可用环境变量 CLAIMS_DB。")
@click.option("--user", envvar="CLAIMS_USER", default=None, help="操作人用户名，也可用环境变量 CLAIMS_USER。")
@click.pass_context
def main(ctx: click.Context, db: str, user: str | None) -> None:
    """职工医疗互助保障 claim engine（职工医疗互助保障补助计算）.

    Policies are YAML files (see policies/README.md); every amount is exact to the fen and every
    result line carries its explanation.
    """
    ctx.obj = {"db": db, "user": user}


@main.group()
def policy() -> None:
    """Check, show and test policy files (策略文件)."""


@policy.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def policy_check(files: tuple[str, ...]) -> None:
    """Validate POLICY files; print every problem as file:line and exit 2 if any."""
    from claims.policy import read_policy

    problems = []
    for file in files:
        try:
            loaded = read_policy(file)
        except ProblemsFound as found:
            problems.extend(found.problems)
            continue
        p = loaded.policy
        click.echo(f"{file}: 通过 — {p.scheme.name}，{len(p.items)} 个保障项目，"
                   f"{sum(len(i.benefits) for i in p.items)} 项保障责任")
    if problems:
        _fail(ProblemsFound(problems))


@policy.command("show")
@click.argument("file", type=click.Path())
def policy_show(file: str) -> None:
    """Print the scheme as a readable Chinese summary: items, contributions, caps, bands, lump sums."""
    from claims.policy import read_policy
    from claims.policy.summary import summary

    try:
        loaded = read_policy(file)
    except ProblemsFound as found:
        _fail(found)
    click.echo(summary(loaded.policy), nl=False)


@policy.command("test")
@click.argument("file", type=click.Path())
@click.argument("cases", nargs=-1, type=click.Path())
def policy_test(file: str, cases: tuple[str, ...]) -> None:
    """Run the policy's own test cases (default: policies/tests/<scheme code>*.yaml)."""
    from claims.policy import read_policy
    from claims.policy.cases import default_case_files, run_case_file

    try:
        loaded = read_policy(file)
    except ProblemsFound as found:
        _fail(found)
    files = [Path(c) for c in cases] or default_case_files(Path(file), loaded.policy)
    if not files:
        raise Refused(f"没有找到 {loaded.policy.scheme.code} 的测试用例文件")
    passed = failed = 0
    for case_file in files:
        try:
            results = run_case_file(loaded.policy, case_file)
        except ProblemsFound as found:
            _fail(found)
        for result in results:
            if result.ok:
                passed += 1
                click.echo(f"  通过  {case_file.name} › {result.name}")
            else:
                failed += 1
                click.echo(f"  失败  {case_file.name} › {result.name}")
                for difference in result.differences:
                    click.echo(f"        {difference}")
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


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
def calculate(policy_file: str, members: str, enrollments: str, claims_file: str, out: str, fmt: str | None,
              workers: int) -> None:
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
    render = {"csv": contract_row, "json": json_record, "xlsx": json_record}[fmt]
    try:
        loaded = read_policy(policy_file)
        with collector_paused():
            rows, _, claims_count = calculate_files(loaded.policy, Path(members), Path(enrollments),
                                                    Path(claims_file), date.today(), workers, render)
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


# --- the service-center workflow ---------------------------------------------------------------------------

@main.group("db")
def db_group() -> None:
    """The database (SQLite file by default; any SQLAlchemy URL with --db)."""


@db_group.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """Create the database, or upgrade it to the newest schema (migrations)."""
    from claims.store.database import init_database

    revision = init_database(ctx.obj["db"])
    click.echo(f"数据库 {ctx.obj['db']} 已是最新结构（迁移版本 {revision}）")


@main.group()
def users() -> None:
    """Users and their roles: clerk, reviewer, finance, auditor."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["clerk", "reviewer", "finance", "auditor"]),
              help="clerk 经办员；reviewer 审核员；finance 财务；auditor 审计。")
@click.pass_context
def users_add(ctx: click.Context, name: str, role: str) -> None:
    """Add a user, or give an existing user one more role. The first user of a new database may be
    added by anyone; later ones by a clerk."""
    from claims.workflow.users import ROLES, add_user

    with _work(ctx) as session:
        user = add_user(session, ctx.obj["user"], name, role)
        roles = "、".join(ROLES[r] for r in user.role.split(","))
    click.echo(f"用户 {name} 的角色：{roles}")


@main.command("import")
@click.argument("kind", type=click.Choice(["members", "enrollments", "claims"]))
@click.argument("file", type=click.Path())
@click.option("--policy", "policy_file", type=click.Path(), help="策略文件；导入参保名单时必需。")
@click.option("--errors-out", type=click.Path(), help="有错误时，把原始各行加一列中文错误说明写入此 XLSX 文件。")
@click.pass_context
def import_command(ctx: click.Context, kind: str, file: str, policy_file: str | None, errors_out: str | None) -> None:
    """Import members, enrollments or claims: the whole file or nothing; the same file twice changes nothing."""
    from claims.policy import read_policy
    from claims.workflow.imports import KIND_NAMES, import_file, write_errors_workbook

    policy = None
    if policy_file:
        try:
            policy = read_policy(policy_file).policy
        except ProblemsFound as found:
            _fail(found)
    with _work(ctx) as session:
        result = import_file(session, kind, file, ctx.obj["user"], policy)
        if result.problems:
            session.rollback()
    if result.problems:
        for problem in result.problems:
            click.echo(str(problem), err=True)
        if errors_out:
            write_errors_workbook(result, errors_out)
            click.echo(f"错误说明已写入 {errors_out}，请基层工会改正后重新提交", err=True)
        click.echo(f"{file}：共 {len(result.problems)} 个问题，未导入任何一行。", err=True)
        sys.exit(2)
    click.echo(f"{file}：{result.rows} 行{KIND_NAMES[kind]}，新增 {result.added}，未变 {result.unchanged}"
               + (f"，退回后重新提交 {result.resubmitted}" if result.resubmitted else "")
               + (f"（导入记录 {result.import_id}）" if result.import_id else "（内容均已在库中，未写入任何内容）"))


@main.group()
def batch() -> None:
    """Calculation batches: create, list, show, mark paid."""


@batch.command("create")
@click.option("--policy", "policy_file", required=True, type=click.Path(), help="策略文件（YAML）。")
@click.option("--period", required=True, type=int, help="互助期，如 2025。")
@click.option("--name", default="", help="批次名称（默认：2025 年度第 N 批）。")
@click.option("--claim", "claim_ids", multiple=True, help="只计算这些申请（可重复）；默认该互助期全部已受理的申请。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="并行进程数（按会员分片，结果与单进程完全相同）。")
@click.pass_context
def batch_create(ctx: click.Context, policy_file: str, period: int, name: str, claim_ids: tuple[str, ...],
                 workers: int) -> None:
    """Calculate the period's received claims against the settled ledger; prints the batch id."""
    from claims.policy import read_policy
    from claims.workflow.batches import create_batch

    try:
        loaded = read_policy(policy_file)
    except ProblemsFound as found:
        _fail(found)
    with _work(ctx) as session:
        created = create_batch(session, loaded, period, ctx.obj["user"], name, list(claim_ids) or None,
                               progress=lambda message: click.echo(message, err=True), workers=workers)
    click.echo(f"批次 {created.id}（{created.name}）：{created.claim_count} 件申请，{created.line_count} 行结果，"
               f"拟补助合计 {created.total_fen / 100:,.2f} 元", err=True)
    click.echo(created.id)


@batch.command("list")
@click.option("--period", type=int, help="只列出该互助期的批次。")
@click.pass_context
def batch_list(ctx: click.Context, period: int | None) -> None:
    """Batches with id, period, state and totals."""
    from claims.workflow.views import batch_table

    with _work(ctx) as session:
        click.echo(batch_table(session, ctx.obj["user"], period))


@batch.command("show")
@click.argument("batch_id", type=int)
@click.pass_context
def batch_show(ctx: click.Context, batch_id: int) -> None:
    """One batch: its policy, totals per item, claims by state."""
    from claims.workflow.views import batch_summary

    with _work(ctx) as session:
        click.echo(batch_summary(session, ctx.obj["user"], batch_id))


@main.command()
@click.argument("claim_id")
@click.pass_context
def explain(ctx: click.Context, claim_id: str) -> None:
    """A claim's current result lines with their explanation, to read out on the telephone."""
    from claims.workflow.views import claim_explanation

    with _work(ctx) as session:
        click.echo(claim_explanation(session, ctx.obj["user"], claim_id))


@main.group()
def review() -> None:
    """The review workbook: export a batch for review, import the decisions."""


@review.command("export")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="审核表 XLSX 文件。")
@click.pass_context
def review_export(ctx: click.Context, batch_id: int, out: str) -> None:
    """Write the batch's review sheet: computed cells locked, a 通过/退回/不予补助 drop-down per claim."""
    from claims.workflow.review import export_review

    with _work(ctx) as session:
        count = export_review(session, batch_id, out, ctx.obj["user"])
    click.echo(f"审核表已写入 {out}：批次 {batch_id}，{count} 件申请")


@review.command("import")
@click.argument("file", type=click.Path(exists=True))
@click.pass_context
def review_import(ctx: click.Context, file: str) -> None:
    """Apply the decisions of a filled review sheet (all or none)."""
    from claims.workflow.decisions import DECISION_NAMES
    from claims.workflow.review import import_review

    with _work(ctx) as session:
        done = import_review(session, file, ctx.obj["user"])
    summary = "，".join(f"{DECISION_NAMES[k]} {v} 件" for k, v in sorted(done.decided.items()))
    click.echo(f"批次 {done.batch_id} 的审核结论已导入：{summary}")


@main.group()
def claim() -> None:
    """One claim: decide, correct."""


@claim.command("decide")
@click.argument("claim_id")
@click.option("--approve", "decision", flag_value="approve", help="通过。")
@click.option("--return", "decision", flag_value="return", help="退回（补充材料后可重新提交）。")
@click.option("--refuse", "decision", flag_value="refuse", help="不予补助（须写备注）。")
@click.option("--note", default="", help="备注。")
@click.pass_context
def claim_decide(ctx: click.Context, claim_id: str, decision: str | None, note: str) -> None:
    """Decide one calculated claim."""
    from claims.workflow.decisions import DECISION_NAMES, decide

    if decision is None:
        raise Refused("请选择 --approve、--return 或 --refuse 之一")
    with _work(ctx) as session:
        decide(session, claim_id, decision, ctx.obj["user"], note)
    click.echo(f"申请 {claim_id}：{DECISION_NAMES[decision]}")


@claim.command("correct")
@click.argument("claim_id")
@click.option("--set", "sets", multiple=True, required=True, help="字段=值，可重复，如 --set self_pay_in_scope=5000.00")
@click.option("--reason", required=True, help="更正原因（必填，记入审计日志）。")
@click.pass_context
def claim_correct(ctx: click.Context, claim_id: str, sets: tuple[str, ...], reason: str) -> None:
    """Correct a settled claim; later claims of the member's period are re-evaluated; top-ups and recoveries listed."""
    from claims.workflow.corrections import correct, parse_sets
    from claims.workflow.views import adjustment_table

    with _work(ctx) as session:
        done = correct(session, claim_id, parse_sets(list(sets)), reason, ctx.obj["user"])
        click.echo(f"申请 {claim_id} 已更正（更正批次 {done.batch.id}）。")
        click.echo(adjustment_table(done.adjustments))


@main.group()
def audit() -> None:
    """Audit: re-run batches, replay bundles, verify the audit log."""


@audit.command("rerun")
@click.argument("batch_id", type=int, required=False)
@click.option("--bundle", "bundle", type=click.Path(), help="复算包（zip）；无需数据库。")
@click.pass_context
def audit_rerun(ctx: click.Context, batch_id: int | None, bundle: str | None) -> None:
    """Recompute a batch from its stored snapshot and compare line by line; exit 1 on any difference."""
    from claims.audit.bundle import BundleRefused, read_bundle
    from claims.audit.rerun import describe, rerun, snapshot_of_batch
    from claims.bulk import collector_paused

    if (batch_id is None) == (bundle is None):
        raise Refused("请给出批次号，或用 --bundle 指定复算包（二者选一）")
    if bundle:
        try:
            snapshot, manifest_sha = read_bundle(Path(bundle))
        except BundleRefused as refused:
            click.echo(f"拒绝：{refused.message} [{refused.code}]", err=True)
            sys.exit(1)
        click.echo(f"复算包 {bundle} 通过清单核对（manifest sha256 {manifest_sha}）")
    else:
        with _work(ctx) as session:
            snapshot = snapshot_of_batch(session, batch_id, ctx.obj["user"])
    with collector_paused():
        report = rerun(snapshot)
    for line in describe(report):
        click.echo(line)
    sys.exit(0 if report.identical else 1)


@audit.command("bundle")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="复算包 zip 文件。")
@click.pass_context
def audit_bundle(ctx: click.Context, batch_id: int, out: str) -> None:
    """Write a self-contained replay bundle of a batch, re-runnable offline."""
    from claims.audit.bundle import bundle_batch

    with _work(ctx) as session:
        written = bundle_batch(session, batch_id, Path(out), ctx.obj["user"])
    click.echo(f"复算包已写入 {out}：{written.files} 个文件；清单 manifest.json 的 sha256 为 {written.manifest_sha256}"
               "（已记入审计日志，请与复算包一起保存）")


@audit.command("verify-log")
@click.pass_context
def audit_verify_log(ctx: click.Context) -> None:
    """Check the hash chain of the audit log; exit 1 naming any altered, deleted or reordered entry."""
    from claims.workflow.audit_log import verify
    from claims.workflow.users import require

    with _work(ctx) as session:
        require(session, ctx.obj["user"], "audit")
        count, breaks = verify(session)
    if breaks:
        for found in breaks:
            click.echo(f"第 {found.seq} 条：[{found.code}] {found.message}", err=True)
        click.echo(f"审计日志共 {count} 条，发现 {len(breaks)} 处问题。", err=True)
        sys.exit(1)
    click.echo(f"审计日志完好：共 {count} 条记录，哈希链首尾相接。")



@main.command()
@click.option("--policy", "draft_file", required=True, type=click.Path(), help="草案策略文件。")
@click.option("--period", required=True, type=int, help="互助期，如 2025。")
@click.option("--current", "current_file", type=click.Path(), help="现行策略文件（默认：该年度最近一个批次所用的策略）。")
@click.option("-o", "--out", type=click.Path(), help="把对比写入 XLSX 文件。")
@click.pass_context
def simulate(ctx: click.Context, draft_file: str, period: int, current_file: str | None, out: str | None) -> None:
    """What would a draft policy have cost? Recalculate a period's claims under both; nothing is changed."""
    from claims.audit.whatif import describe, write_whatif
    from claims.audit.whatif import simulate as run
    from claims.policy import read_policy

    try:
        draft = read_policy(draft_file)
        current = read_policy(current_file) if current_file else None
    except ProblemsFound as found:
        _fail(found)
    with _work(ctx) as session:
        whatif = run(session, draft, period, ctx.obj["user"], current)
        session.rollback()  # a simulation never writes
    for line in describe(whatif):
        click.echo(line)
    if out:
        write_whatif(whatif, out)
        click.echo(f"对比表已写入 {out}")


@batch.command("mark-paid")
@click.argument("batch_id", type=int)
@click.pass_context
def batch_mark_paid(ctx: click.Context, batch_id: int) -> None:
    """Mark a batch's approved claims as paid, once the money has gone out (finance)."""
    from claims.workflow.payouts import mark_paid

    with _work(ctx) as session:
        count, total = mark_paid(session, batch_id, ctx.obj["user"])
    click.echo(f"批次 {batch_id}：{count} 件申请标记为已支付，合计 {total:,.2f} 元")


@main.group("export")
def export_group() -> None:
    """Files for finance and members: payout workbook, bank file, notice letters."""


@export_group.command("payouts")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="发放表 XLSX 文件。")
@click.option("--by-unit", is_flag=True, help="另外为每个单位生成一张工作表。")
@click.pass_context
def export_payouts_command(ctx: click.Context, batch_id: int, out: str, by_unit: bool) -> None:
    """The payout workbook: summary with control totals, one row per approved claim, claims lacking an account."""
    from exports.commands import export_payouts

    with _work(ctx) as session:
        export_payouts(session, batch_id, Path(out), ctx.obj["user"], by_unit, click.echo)


@export_group.command("bank")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="银行批量转账 CSV 文件。")
@click.pass_context
def export_bank_command(ctx: click.Context, batch_id: int, out: str) -> None:
    """The bank transfer file (account, name, amount, memo); prints the count and control total."""
    from exports.commands import export_bank

    with _work(ctx) as session:
        export_bank(session, batch_id, Path(out), ctx.obj["user"], click.echo)


@export_group.command("letters")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="PDF 文件；分文件时为文件夹。")
@click.option("--split-by", type=click.Choice(["unit", "member"]), help="按单位或按会员分成多个 PDF。")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="分文件时并行生成的进程数。")
@click.pass_context
def export_letters_command(ctx: click.Context, batch_id: int, out: str, split_by: str | None, workers: int) -> None:
    """A4 notice letters in Chinese, one per decided claim, grouped by unit."""
    from exports.commands import export_letters
    from exports.fonts import FontError

    try:
        with _work(ctx) as session:
            export_letters(session, batch_id, Path(out), ctx.obj["user"], split_by, click.echo, workers)
    except FontError as error:
        click.echo(str(error), err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
