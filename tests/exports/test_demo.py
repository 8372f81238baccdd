"""``claims demo`` on examples/: every file is produced and the totals agree with each other."""

from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import cli_login


def test_demo_produces_every_file_and_the_totals_agree(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "claims.cli", "demo", "-o", out], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("claims.db", "审核表.xlsx", "发放表.xlsx", "银行转账.csv", "补助通知书.pdf"):
        assert (out / name).is_file(), name
    summary = {row[0]: row for row in load_workbook(out / "发放表.xlsx")["汇总"].iter_rows(values_only=True) if row[0]}
    grand = Decimal(str(summary["总计"][-1]))
    by_bank = Decimal(str(summary["银行转账（见银行文件）"][3]))
    missing = Decimal(str(summary["缺银行账号，待补后另行发放（见“待补银行账号”表）"][3]))
    assert by_bank + missing == grand
    bank = list(csv.reader((out / "银行转账.csv").open(encoding="utf-8-sig")))[1:]
    assert sum(Decimal(row[2]) for row in bank) == by_bank
    assert f"控制总额 {by_bank:,.2f} 元" in done.stdout
    reader = PdfReader(out / "补助通知书.pdf")
    assert len(reader.pages) >= 38
    assert "人民币大写" in reader.pages[0].extract_text()
    assert "输出文件" in done.stdout
    import re

    password = re.search(r"^  审计员赵工  (demo-\S+)$", done.stdout, re.M).group(1)
    cli_login(f"sqlite:///{out / 'claims.db'}", "审计员赵工", password)  # with the password the demo printed
    audited = subprocess.run([sys.executable, "-m", "claims.cli", "--db", f"sqlite:///{out / 'claims.db'}",
                              "--user", "审计员赵工", "audit", "ledger"], capture_output=True, text=True)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "审核员批准" in done.stdout and "用已批准的策略版本 1 计算批次 1" in done.stdout


def test_demo_prints_passwords_that_log_in(tmp_path):
    """The demo's closing hint works as printed: the auditor logs in with the printed password."""
    import os
    import re

    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "claims.cli", "demo", "-o", out], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    passwords = dict(re.findall(r"^  (\S+)  (demo-\S+)$", done.stdout, re.M))
    assert set(passwords) == {"管理员老陈", "经办员小王", "审核员李敏", "财务张会计", "审计员赵工", "代办员小周"}
    env = {**os.environ, "CLAIMS_DB": f"sqlite:///{out / 'claims.db'}"}
    claims = [sys.executable, "-m", "claims.cli"]
    login = subprocess.run([*claims, "login", "审计员赵工", "--password-stdin"], input=passwords["审计员赵工"] + "\n",
                           capture_output=True, text=True, env=env)
    assert login.returncode == 0, login.stderr
    explained = subprocess.run([*claims, "explain", "2025-0007"], capture_output=True, text=True, env=env)
    assert explained.returncode == 0 and "2025-0007" in explained.stdout
    access = subprocess.run([*claims, "audit", "access"], capture_output=True, text=True, env=env).stdout
    assert "审计员赵工" in access and "导出发放表" in access
    # the base-union agent logs in too, bound to one of the sample's units
    agent = subprocess.run([*claims, "login", "代办员小周", "--password-stdin"], input=passwords["代办员小周"] + "\n",
                           capture_output=True, text=True, env=env)
    assert agent.returncode == 0, agent.stderr
    listed = subprocess.run([*claims, "--user", "代办员小周", "users", "list"], capture_output=True, text=True, env=env)
    assert any(line.startswith("代办员小周") and "杭州公交集团第三分公司工会" in line for line in listed.stdout.splitlines())
