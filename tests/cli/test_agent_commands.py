"""The command line binds a base-union agent the same way as the web (the check is in the workflow), on
SQLite and PostgreSQL: `claims users add --role agent --unit`, `users list` showing the unit, `claims import`
refusing another unit's row at its row and column, and an agent not reading claims."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from claims.store.models import ClaimRow
from tests.conftest import cli_login
from tests.store.helpers import ADMIN, SCENARIOS, add_users, import_folder

AGENT, UNIT = "医院代办员", "杭州市第一人民医院工会"
AGENT_PASSWORD = "代办员的密码-够长了"
HZ2 = SCENARIOS / "hz_waiting_level_deductible"


def claims(url: str, *args, stdin: str | None = None, env: dict | None = None):
    env = {**(env or os.environ), "CLAIMS_DB": url}
    return subprocess.run([sys.executable, "-m", "claims.cli", *map(str, args)], input=stdin, capture_output=True,
                          text=True, env=env)


@pytest.fixture
def agent(store, db_url):
    """The other unit's members and claims stored by the clerk; the administrator adds the agent by command."""
    add_users(store)
    import_folder(store, SCENARIOS / "bj_shares_waiting_cover_end", "beijing")
    import_folder(store, HZ2, "hangzhou")  # HZ002, HZ003 of the agent's unit, claims B1–B4
    admin = cli_login(db_url, ADMIN)
    added = claims(db_url, "users", "add", AGENT, "--role", "agent", "--unit", UNIT, "--password-stdin",
                   stdin=f"{AGENT_PASSWORD}\n{AGENT_PASSWORD}\n", env=admin)
    assert added.returncode == 0, added.stderr
    assert f"单位：{UNIT}" in added.stdout and "注意" not in added.stderr  # the unit has members: no warning
    return db_url, admin, cli_login(db_url, AGENT, AGENT_PASSWORD)


def test_the_unit_is_required_for_an_agent_refused_for_others_and_listed(agent):
    url, admin, _ = agent
    missing = claims(url, "users", "add", "代办乙", "--role", "agent", env=admin)  # refused before any password
    assert missing.returncode == 2 and "UNIT_REQUIRED" in missing.stderr and "Traceback" not in missing.stderr
    clerk = claims(url, "users", "add", "经办丙", "--role", "clerk", "--unit", UNIT, env=admin)
    assert clerk.returncode == 2 and "UNIT_NOT_FOR_ROLE" in clerk.stderr
    typo = claims(url, "users", "add", "代办丁", "--role", "agent", "--unit", "杭州市第一人民医院", "--password-stdin",
                  stdin=f"{AGENT_PASSWORD}\n{AGENT_PASSWORD}\n", env=admin)
    assert typo.returncode == 0 and "还没有单位“杭州市第一人民医院”的会员" in typo.stderr  # a likely misspelling said
    listed = claims(url, "users", "list", env=admin).stdout.splitlines()
    assert listed[0].split() == ["用户名", "角色", "单位", "状态", "最近登录"]
    row = next(line for line in listed if line.startswith(AGENT)).split()
    assert row[1:3] == ["基层工会代办员", UNIT]
    own = claims(url, "users", "list", env=agent[2]).stdout.splitlines()  # an agent: themselves only
    assert len(own) == 2 and own[1].startswith(AGENT) and "代办丁" not in "".join(own)


def test_claims_import_by_an_agent_refuses_another_units_row_where_it_is(agent, tmp_path, store):
    url, _, env = agent
    with (SCENARIOS / "bj_shares_waiting_cover_end" / "claims.csv").open(encoding="utf-8") as handle:
        foreign = next(csv.DictReader(handle))  # E1 of BJ001, another unit's member
    rows = list(csv.DictReader((HZ2 / "claims.csv").open(encoding="utf-8")))
    rows = [dict(r, claim_id="N" + r["claim_id"], invoice_no="N" + r["invoice_no"]) for r in rows]
    rows.insert(2, dict(foreign, claim_id="N-E1", invoice_no="N-E1"))  # file row 4
    path = tmp_path / "申请.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = claims(url, "import", "claims", path, "--errors-out", tmp_path / "错误.xlsx", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path}:4:member_id: [AGENT_OTHER_UNIT]" in done.stderr and "张军" not in done.stderr
    assert "共 1 个问题，未导入任何一行" in done.stderr
    sheet = list(load_workbook(tmp_path / "错误.xlsx").active.iter_rows(values_only=True))
    assert sheet[3][0] == "N-E1" and UNIT in sheet[3][-1]
    with store.session() as s:
        assert s.get(ClaimRow, "NB1") is None
    own = tmp_path / "本单位申请.csv"
    with own.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(r for r in rows if r["claim_id"] != "N-E1")
    imported = claims(url, "import", "claims", own, env=env)
    assert imported.returncode == 0 and "新增 4" in imported.stdout, imported.stderr


def test_an_agent_does_not_read_claims_nor_batches_from_the_command_line(agent):
    url, _, env = agent
    for args in (["explain", "E1"], ["explain", "B1"], ["batch", "list"]):
        done = claims(url, *args, env=env)
        assert done.returncode == 1 and "ROLE_REFUSED" in done.stderr, done.stderr
        assert "张军" not in done.stderr and "赵敏" not in done.stdout + done.stderr
