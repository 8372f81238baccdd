"""The 免申即享 and 对账 commands as a user runs them, from a folder that is not the checkout."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

from openpyxl import load_workbook

from tests.conftest import POLICIES, ROOT, login_once, setup_users
from tests.settle.scenarios import settlement_rows, write

FOLDER = ROOT / "tests" / "acceptance" / "hz_bands_caps_stacking"


def run(tmp_path, *args, user=None, code=0):
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{tmp_path / 'claims.db'}"}
    env.pop("CLAIMS_USER", None)
    env.pop("CLAIMS_SETTINGS", None)
    if user:
        env = login_once(env, user)  # logged in the way a person would, the first time
    done = subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def test_settlements_to_money_in_the_account_and_back(tmp_path):
    policy = POLICIES / "hangzhou.yaml"
    run(tmp_path, "db", "init")
    setup_users(f"sqlite:///{tmp_path / 'claims.db'}", {"小王": "clerk", "李审核": "reviewer", "张会计": "finance"})
    run(tmp_path, "import", "members", FOLDER / "members.csv", user="小王")
    run(tmp_path, "import", "enrollments", FOLDER / "enrollments.csv", "--policy", policy, user="小王")
    rows = settlement_rows(FOLDER)
    stranger = dict(rows[0], setl_id="S-X", certno="11010519491231002X", psn_name="路人")
    listed = write(tmp_path / "结算清单.csv", [*rows, stranger])
    done = run(tmp_path, "import", "settlements", listed, "--unmatched-out", "未匹配.csv", user="小王")
    assert "新增申请 4" in done.stdout and "跳过（非会员）1" in done.stdout
    assert "跳过的 1 行已写入 未匹配.csv" in done.stdout
    again = run(tmp_path, "import", "settlements", listed, user="小王")
    assert "新增申请 0，未变 4" in again.stdout
    run(tmp_path, "batch", "create", "--policy", policy, "--period", "2025", user="小王")

    no_rule = run(tmp_path, "batch", "auto-approve", "1", user="李审核", code=2)
    assert "[SETTINGS_NOT_FOUND]" in no_rule.stderr
    (tmp_path / "claims-settings.yaml").write_text(
        "auto_approve:\n  max_amount: 20000.00\nsms:\n  signature: 杭州市总工会\n", encoding="utf-8")
    refused = run(tmp_path, "batch", "auto-approve", "1", user="小王", code=1)
    assert "[ROLE_REFUSED]" in refused.stderr
    auto = run(tmp_path, "batch", "auto-approve", "1", user="李审核")
    # A1 4,000.00 and A2 14,100.00 qualify; A3 44,000.00 is above the rule; A4 pays 0.00
    assert "自动通过 2 件，合计 18,100.00 元" in auto.stdout and "留待人工审核 2 件" in auto.stdout
    run(tmp_path, "claim", "decide", "A3", "--approve", user="李审核")
    run(tmp_path, "claim", "decide", "A4", "--refuse", "--note", "无补助项目", user="李审核")

    bank = run(tmp_path, "export", "bank", "1", "-o", "bank.csv", "--encoding", "gbk", user="张会计")
    assert "1 笔，控制总额 62,100.00 元" in bank.stdout
    with (tmp_path / "bank.csv").open(encoding="gbk") as handle:
        sent = list(csv.reader(handle))
    with (tmp_path / "回盘.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([["账号", "户名", "金额", "状态", "原因"], [*sent[1][:3], "失败", "账户冻结"]])
    failed = run(tmp_path, "bank", "reconcile", "1", "回盘.csv", user="张会计")
    assert "发出 1 笔 62,100.00 元 = 成功 0 笔 0.00 元 + 失败 1 笔 62,100.00 元" in failed.stdout
    waiting = list(load_workbook(tmp_path / "对账结果-批次1.xlsx")["待重新发放"].iter_rows(min_row=2, values_only=True))
    assert waiting[0][8] == "账户冻结"
    nothing = run(tmp_path, "export", "sms", "1", "-o", "sms.csv", user="张会计", code=1)
    assert "[NOTHING_ARRIVED]" in nothing.stderr
    members = (FOLDER / "members.csv").read_text(encoding="utf-8").replace("6222638439044354", "6222638439048224")
    (tmp_path / "members.csv").write_text(members, encoding="utf-8")
    updated = run(tmp_path, "import", "members", "members.csv", user="小王")
    assert "更新银行账号/开户行/手机号 1" in updated.stdout
    run(tmp_path, "export", "bank", "1", "-o", "bank2.xlsx", "--template", "icbc", user="张会计")
    sheet = list(load_workbook(tmp_path / "bank2.xlsx")["批量代发"].iter_rows(values_only=True))
    assert sheet[1][:3] == ("6222638439048224", "王丽", "62100.00")
    with (tmp_path / "回盘2.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([["收款账号", "收款户名", "交易金额", "处理结果"], [*sheet[1][:3], "成功"]])
    ok = run(tmp_path, "bank", "reconcile", "1", "回盘2.csv", "-o", "对账2.xlsx", user="张会计")
    assert "成功 1 笔 62,100.00 元 + 失败 0 笔 0.00 元" in ok.stdout and "本批次已全部支付" in ok.stdout
    sms = run(tmp_path, "export", "sms", "1", "-o", "sms.csv", user="张会计")
    assert "1 条" in sms.stdout
    with (tmp_path / "sms.csv").open(encoding="utf-8-sig") as handle:
        [_, line] = list(csv.reader(handle))
    assert line[:2] == ["13800000000", "【杭州市总工会】王丽同志，您的职工医疗互助补助 62,100.00 元已发放至尾号 8224 的账户。"]
    report = run(tmp_path, "report", "2025", "-o", "report.xlsx", user="张会计")
    assert "补助支出 62,100.00 元" in report.stdout and "一致" in report.stdout


def test_a_settlement_list_with_problems_imports_nothing_and_writes_its_own_rows_with_messages(tmp_path):
    run(tmp_path, "db", "init")
    setup_users(f"sqlite:///{tmp_path / 'claims.db'}", {"小王": "clerk"})
    run(tmp_path, "import", "members", FOLDER / "members.csv", user="小王")
    rows = settlement_rows(FOLDER)
    rows[1]["psn_selfpay"] = "八千"
    listed = write(tmp_path / "结算清单.csv", rows)
    done = run(tmp_path, "import", "settlements", listed, "--errors-out", "错误.xlsx", user="小王", code=2)
    assert f"{listed}:3:psn_selfpay: [INPUT_BAD_MONEY]" in done.stderr and "未导入任何一行" in done.stderr
    sheet = list(load_workbook(tmp_path / "错误.xlsx").active.iter_rows(values_only=True))
    assert sheet[0][0] == "setl_id" and sheet[2][0] == "A2" and "psn_selfpay" in sheet[2][-1]
