"""``claims demo``: the whole service-center flow on examples/ into one folder, then where each file is.

It goes the way a service center would: a fresh database, an administrator who adds four users and a
base-union agent bound to one of the sample's units (each with a fresh random password, printed at the end for trying ``claims login`` and ``claims serve``), each
user logging in before acting, the clerk publishing the policy and the reviewer approving it, the three
files imported and a batch calculated without naming a file, the review workbook exported, filled in and
imported back (approve, or refuse a claim refused as
a whole, with its reason as the note), then the payout workbook, the bank file and the letters.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from claims.audit.keys import ensure_keys, key_dir
from claims.store.database import Store, init_database
from claims.workflow.auth import login
from claims.workflow.batches import batch_lines, create_batch
from claims.workflow.imports import import_file
from claims.workflow.policy_versions import approve, publish
from claims.workflow.review import FIRST_ROW, SHEET, export_review, import_review
from claims.workflow.users import add_user
from exports.commands import export_bank, export_letters, export_payouts

PROJECT = Path(__file__).resolve().parent.parent
ADMIN, CLERK, REVIEWER, FINANCE, AUDITOR = "管理员老陈", "经办员小王", "审核员李敏", "财务张会计", "审计员赵工"
AGENT, AGENT_UNIT = "代办员小周", "杭州公交集团第三分公司工会"  # a base-union agent, bound to one of the sample's units
WHOLE_CLAIM_REFUSALS = {"LATE_SUBMISSION": "超过申请截止日期", "DUPLICATE_INVOICE": "发票已报销过"}


def run_demo(out: Path, say: Callable[[str], None] = print, examples: Path | None = None) -> list[tuple[str, Path]]:
    examples = examples or PROJECT / "examples"
    out.mkdir(parents=True, exist_ok=True)
    database = out / "claims.db"
    for stale in out.glob("claims.db*"):
        stale.unlink()
    url = f"sqlite:///{database}"
    init_database(url)
    created = ensure_keys()
    say(f"0. 密钥文件夹 {key_dir()}：" + ("新生成 " + "、".join(p.name for p in created) if created else "沿用已有密钥")
        + "（审计日志密钥与签名私钥，仅本人可读写，不在数据库中）")
    store = Store(url)
    policy_file = PROJECT / "policies" / "hangzhou.yaml"
    files: list[tuple[str, Path]] = [("数据库（SQLite）", database)]
    try:
        passwords = {name: "demo-" + secrets.token_urlsafe(9)
                     for name in (ADMIN, CLERK, REVIEWER, FINANCE, AUDITOR, AGENT)}
        with store.session() as s:
            add_user(s, None, ADMIN, "admin", passwords[ADMIN])  # a new database: the first user needs no login
        _log_in(store, ADMIN, passwords[ADMIN])
        with store.session() as s:
            for name, role in ((CLERK, "clerk"), (REVIEWER, "reviewer"), (FINANCE, "finance"), (AUDITOR, "auditor")):
                add_user(s, ADMIN, name, role, passwords[name])
            add_user(s, ADMIN, AGENT, "agent", passwords[AGENT], AGENT_UNIT)
        for name in (CLERK, REVIEWER, FINANCE):
            _log_in(store, name, passwords[name])
        say(f"1. 新建数据库 {database}；管理员添加经办员、审核员、财务、审计四个用户，各自用密码登录后办理；"
            f"另加基层工会代办员 {AGENT}（只能导入和查看“{AGENT_UNIT}”的名单和申请）")
        with store.session() as s:
            version = publish(s, policy_file, CLERK, "示例：2025 年度策略").id
        with store.session() as s:
            approve(s, version, REVIEWER, "与实施细则核对一致")
        say(f"2. 经办员发布策略 {policy_file.name} 为策略版本 {version}，审核员批准；此后各步不再指定策略文件")
        for kind, label in (("members", "会员"), ("enrollments", "参保"), ("claims", "申请")):
            with store.session() as s:
                result = import_file(s, kind, examples / f"{kind}.xlsx", CLERK)
            if result.problems:
                raise RuntimeError("\n".join(str(p) for p in result.problems))
            say(f"3. 导入{label} {examples / f'{kind}.xlsx'}：{result.added} 条")
        with store.session() as s:
            batch = create_batch(s, None, 2025, CLERK)
            batch_id = batch.id
            refusals = {line.claim_id: WHOLE_CLAIM_REFUSALS[line.reason] for line in batch_lines(s, batch_id)
                        if not line.item and line.reason in WHOLE_CLAIM_REFUSALS}
        say(f"4. 用已批准的策略版本 {version} 计算批次 {batch_id}：{batch.claim_count} 件申请，{batch.line_count} 行结果，"
            f"拟补助 {batch.total_fen / 100:,.2f} 元")
        review = out / "审核表.xlsx"
        with store.session() as s:
            export_review(s, batch_id, review, REVIEWER)
        _fill_review(review, refusals)
        with store.session() as s:
            done = import_review(s, review, REVIEWER)
        say(f"5. 审核表 {review} 已填写并导入：通过 {done.decided.get('approve', 0)} 件，"
            f"不予补助 {done.decided.get('refuse', 0)} 件（整件不予补助的申请）")
        files.append(("审核表（已填写）", review))
        say("6. 导出：")
        with store.session() as s:
            export_payouts(s, batch_id, out / "发放表.xlsx", FINANCE, True, lambda m: say("   " + m))
            export_bank(s, batch_id, out / "银行转账.csv", FINANCE, lambda m: say("   " + m))
            export_letters(s, batch_id, out / "补助通知书.pdf", FINANCE, None, lambda m: say("   " + m))
        files += [("发放表（汇总、明细、待补账号、分单位）", out / "发放表.xlsx"), ("银行转账文件", out / "银行转账.csv"),
                  ("补助通知书（PDF，按单位排列）", out / "补助通知书.pdf")]
    finally:
        store.dispose()
    say("输出文件：")
    for label, path in files:
        say(f"  {label}：{path}")
    say("演示用户和密码（每次运行随机生成，只用于试用）：")
    for name, password in passwords.items():
        say(f"  {name}  {password}")
    say("接着可以试：")
    say(f"  claims --db {url} login {AUDITOR}      （输入上面的密码）")
    say(f"  claims --db {url} explain 2025-0007")
    say(f"  claims --db {url} serve                 （浏览器打开 http://127.0.0.1:8000/ 登录；"
        f"代办员 {AGENT} 登录后在“导入”页上传本单位的文件，在“本单位申请”页看办理状态）")
    return files


def _log_in(store: Store, name: str, password: str) -> None:
    """The demo's users prove who they are at the same door a person uses."""
    with store.session() as s:
        outcome = login(s, name, password, "cli")
    if not outcome.ok:
        raise RuntimeError(outcome.refusal.message)


def _fill_review(path: Path, refusals: dict[str, str]) -> None:
    """What the reviewer does by hand: a decision (and a note for refusals) on every row."""
    book = load_workbook(path)
    sheet = book[SHEET]
    header = [cell.value for cell in sheet[FIRST_ROW - 1]]
    decision, note = header.index("审核结论") + 1, header.index("备注") + 1
    for row in range(FIRST_ROW, sheet.max_row + 1):
        claim_id = sheet.cell(row, 1).value
        if claim_id in refusals:
            sheet.cell(row, decision).value, sheet.cell(row, note).value = "不予补助", refusals[claim_id]
        else:
            sheet.cell(row, decision).value = "通过"
    book.save(path)
