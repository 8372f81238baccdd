"""The README's walk-through, command by command, on SQLite: init, users, import, batch, review, decide,
correct, explain, audit. Checks what a newcomer would see."""

from __future__ import annotations

import os
import subprocess
import sys

from openpyxl import load_workbook

from tests.conftest import POLICIES, ROOT
from tests.store.helpers import PASSWORD

EXAMPLES = ROOT / "tests" / "fixtures" / "small"


def run(tmp_path, *args, user=None, ok=True, stdin=None):
    """A command as ``user``: logged in the way a person would (``claims login``) the first time, then
    chosen among this machine's logins with CLAIMS_USER."""
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{tmp_path / 'claims.db'}"}
    env.pop("CLAIMS_USER", None)
    if user:
        if user not in LOGGED_IN.setdefault(tmp_path, set()) and args[0] != "login":
            run(tmp_path, "login", user, "--password-stdin", stdin=PASSWORD + "\n")
            LOGGED_IN[tmp_path].add(user)
        env["CLAIMS_USER"] = user
    done = subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, input=stdin)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


LOGGED_IN: dict = {}


def add_user(tmp_path, name, role, by=None, ok=True):
    return run(tmp_path, "users", "add", name, "--role", role, "--password-stdin", user=by, ok=ok,
               stdin=f"{PASSWORD}\n{PASSWORD}\n")


def test_walkthrough_from_an_empty_folder(tmp_path):
    policy = POLICIES / "hangzhou.yaml"
    assert "尚未初始化" in run(tmp_path, "batch", "list", ok=False).stderr
    run(tmp_path, "db", "init")
    run(tmp_path, "db", "init")  # upgrading an up-to-date database is harmless
    add_user(tmp_path, "管理员", "admin")  # a new database: the first user, the administrator, needs no login
    for name, role in (("小王", "clerk"), ("李审核", "reviewer"), ("张会计", "finance"), ("赵审计", "auditor")):
        add_user(tmp_path, name, role, by="管理员")
    refused = add_user(tmp_path, "某人", "clerk", by="李审核", ok=False)
    assert refused.returncode == 1 and "ROLE_REFUSED" in refused.stderr

    published = run(tmp_path, "policy", "publish", policy, "--note", "2025 年度委员会决议", user="小王")
    assert "策略版本 1 已发布（待批准）" in published.stdout
    assert "FOUR_EYES" not in run(tmp_path, "policy", "approve", "1", user="小王", ok=False).stderr  # a clerk: role
    run(tmp_path, "policy", "approve", "1", user="李审核")
    listed = run(tmp_path, "policy", "list", user="赵审计").stdout
    assert "已批准" in listed and "全部互助期" in listed and "小王" in listed and "李审核" in listed

    assert "新增 8" in run(tmp_path, "import", "members", EXAMPLES / "members.csv", user="小王").stdout
    run(tmp_path, "import", "enrollments", EXAMPLES / "enrollments.csv", user="小王")  # the approved version checks
    run(tmp_path, "import", "claims", EXAMPLES / "claims.csv", user="小王")
    again = run(tmp_path, "import", "claims", EXAMPLES / "claims.csv", user="小王")
    assert "新增 0，未变 12" in again.stdout

    created = run(tmp_path, "batch", "create", "--period", "2025", user="小王")
    batch_id = created.stdout.strip()
    assert batch_id == "1" and "12 件申请" in created.stderr and "策略版本 1" in created.stderr
    assert "120,900.00" in run(tmp_path, "batch", "list", user="赵审计").stdout

    review = tmp_path / "review.xlsx"
    run(tmp_path, "review", "export", batch_id, "-o", review, user="李审核")
    book = load_workbook(review)
    sheet = book["审核表"]
    for row in range(4, sheet.max_row + 1):
        sheet.cell(row, 14).value = "通过"
    book.save(review)
    assert "通过 12 件" in run(tmp_path, "review", "import", review, user="李审核").stdout

    explained = run(tmp_path, "explain", "2025-0007", user="赵审计").stdout
    assert "30,200.00 元" in explained and "已达到本期最高补助限额" in explained

    bank = tmp_path / "bank.csv"
    run(tmp_path, "export", "bank", batch_id, "-o", bank, user="张会计")
    again = run(tmp_path, "export", "bank", batch_id, "-o", tmp_path / "bank2.csv", user="张会计", ok=False)
    # nothing is paid twice: the second file is refused, naming the claim lacking an account and those sent
    assert again.returncode == 1 and "NOTHING_TO_PAY" in again.stderr and "缺银行账号" in again.stderr
    assert not (tmp_path / "bank2.csv").exists()
    run(tmp_path, "batch", "mark-paid", batch_id, user="张会计")
    listed = run(tmp_path, "exports", "--batch", batch_id, user="赵审计").stdout
    assert listed.count("银行文件") == 1 and "bank.csv" in listed

    corrected = run(tmp_path, "claim", "correct", "2025-0003", "--set", "self_pay_in_scope=7000.00",
                    "--set", "total_cost=53500.00", "--reason", "医院退回多收费用", user="小王")
    # 2025-0003: 9,000 → 7,000 in scope: (7,000 − 1,000) × 50% = 3,000, was 4,000 → recover 1,000
    assert "2025-0003" in corrected.stdout and "-1,000.00  追回" in corrected.stdout
    assert "追回 1,000.00 元" in corrected.stdout and "待复核" in corrected.stdout
    mine = run(tmp_path, "correction", "approve", "2", user="小王", ok=False)
    assert mine.returncode == 1
    run(tmp_path, "correction", "approve", "2", user="李审核")
    recoveries = tmp_path / "追回清单.xlsx"
    assert "1 笔，合计 1,000.00 元" in run(tmp_path, "export", "recoveries", "2", "-o", recoveries, user="张会计").stdout
    listed = list(load_workbook(recoveries).active.iter_rows(values_only=True))
    assert listed[1][2] == "2025-0003" and listed[-1][-1] == 1000
    run(tmp_path, "correction", "recovered", str(listed[1][0]), "--note", "工资代扣", user="张会计")
    assert "通过" in run(tmp_path, "audit", "ledger", user="赵审计").stdout

    decided = run(tmp_path, "claim", "decide", "2025-0001", "--refuse", "--note", "重复", user="李审核", ok=False)
    assert decided.returncode == 1 and "只有“已计算”的申请可以审核" in decided.stderr
    assert "审计日志完好" in run(tmp_path, "audit", "verify-log", user="赵审计").stdout


def test_an_invalid_import_writes_the_errors_workbook_and_exits_2(tmp_path):
    run(tmp_path, "db", "init")
    add_user(tmp_path, "管理员", "admin")
    add_user(tmp_path, "小王", "clerk", by="管理员")
    bad = tmp_path / "members.csv"
    bad.write_text((EXAMPLES / "members.csv").read_text(encoding="utf-8-sig").replace("王丽", ""), encoding="utf-8")
    errors = tmp_path / "errors.xlsx"
    done = run(tmp_path, "import", "members", bad, "--errors-out", errors, user="小王", ok=False)
    assert done.returncode == 2 and f"{bad}:2:姓名: [INPUT_REQUIRED]" in done.stderr
    rows = list(load_workbook(errors).active.iter_rows(values_only=True))
    assert rows[1][-1] == "姓名：必填项为空" and len(rows) == 9


def test_policy_versions_from_the_command_line(tmp_path):
    run(tmp_path, "db", "init")
    add_user(tmp_path, "管理员", "admin")
    add_user(tmp_path, "小王", "clerk", by="管理员")
    add_user(tmp_path, "李审核", "reviewer", by="管理员")
    refused = run(tmp_path, "batch", "create", "--period", "2025", user="小王", ok=False)
    assert refused.returncode == 1 and "POLICY_NOT_APPROVED" in refused.stderr and "Traceback" not in refused.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text((POLICIES / "hangzhou.yaml").read_text(encoding="utf-8").replace("rate: 0.50", "rate: 1.5"),
                   encoding="utf-8")
    invalid = run(tmp_path, "policy", "publish", bad, user="小王", ok=False)
    line = 1 + bad.read_text(encoding="utf-8").splitlines().index(
        next(t for t in bad.read_text(encoding="utf-8").splitlines() if "rate: 1.5" in t))
    assert invalid.returncode == 2 and f"bad.yaml:{line}: [POLICY_RATE_RANGE]" in invalid.stderr

    run(tmp_path, "policy", "publish", POLICIES / "hangzhou.yaml", user="小王")
    add_user(tmp_path, "小王", "reviewer", by="管理员")  # a small center: the clerk also reviews
    own = run(tmp_path, "policy", "approve", "1", user="小王", ok=False)
    assert own.returncode == 1 and "FOUR_EYES" in own.stderr
    run(tmp_path, "policy", "approve", "1", user="李审核")

    draft = tmp_path / "2026.yaml"
    draft.write_text((POLICIES / "hangzhou.yaml").read_text(encoding="utf-8")
                     .replace("{from: 20000, to: 50000, rate: 0.60}", "{from: 20000, to: 50000, rate: 0.65}")
                     .replace("cap_per_share: 15000", "cap_per_share: 16000")
                     .replace("- I21                       # 急性心肌梗死", "- I21\n          - I22"),
                     encoding="utf-8")
    run(tmp_path, "policy", "publish", draft, "--from-period", "2026", "--note", "2026 年度调整", user="小王")
    no_note = run(tmp_path, "policy", "reject", "2", user="李审核", ok=False)
    assert no_note.returncode == 1 and "REASON_REQUIRED" in no_note.stderr and "--note" in no_note.stderr
    diff = run(tmp_path, "policy", "diff", "1", "2", user="李审核").stdout
    assert "共 3 处参数变化" in diff
    assert "修改  “自负医疗费补助” 第 2 档补助比例：60% → 65%" in diff
    assert "修改  项目“重大疾病和住院生活补助” 每份每期限额：15,000 元 → 16,000 元" in diff
    assert "新增  “重大疾病补助” 的诊断编码（病种） I22" in diff
    listed = run(tmp_path, "policy", "list", user="李审核").stdout
    assert "待批准" in listed and "2026 年度起（批准后）" in listed and "2026 年度调整" in listed
    run(tmp_path, "policy", "reject", "2", "--note", "委员会未通过", user="李审核")
    assert "已驳回" in run(tmp_path, "policy", "list", user="李审核").stdout
