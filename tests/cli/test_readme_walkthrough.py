"""The README's walk-through, run exactly as written in README.md (so the README cannot drift).

The block is read from README.md itself: the first fenced block of the section "The service-center
workflow, from an empty folder". It runs in bash from the checkout root (as the README says), with `-e`
so any failing command fails the test. The one human step — filling in the review sheet — is done by a
small script inserted before each `review import` line; every other line runs verbatim, so lines other
helpers add (login, policy publish …) are run too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SECTION = "## The service-center workflow, from an empty folder"
FILL = '''import sys
from openpyxl import load_workbook
book = load_workbook(sys.argv[1])
sheet = book["审核表"]
header = [c.value for c in sheet[3]]
decision = header.index("审核结论") + 1
for row in range(4, sheet.max_row + 1):
    if sheet.cell(row, 1).value:
        sheet.cell(row, decision).value = "通过"
book.save(sys.argv[1])
'''


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    match = re.search(r"^```[^\n]*\n(.*?)^```", section, re.S | re.M)
    assert match, "the walk-through section has no fenced block"
    return match.group(1)


def test_the_walkthrough_block_is_what_the_readme_shows():
    block = walkthrough()
    assert "claims db init" in block and "review import" in block and "export letters" in block


@pytest.mark.skipif(not shutil.which("bash"), reason="the README's commands are bash")
def test_the_readme_walkthrough_runs_verbatim(tmp_path):
    fill = tmp_path / "fill_review.py"
    fill.write_text(FILL, encoding="utf-8")
    lines = []
    for line in walkthrough().splitlines():
        found = re.search(r"review import (\S+)", line)
        if found and not line.lstrip().startswith("#"):  # the reviewer fills the sheet in by hand here
            lines.append(f'"{sys.executable}" "{fill}" {found.group(1)}')
        lines.append(line)
    script = tmp_path / "walkthrough.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(lines) + "\npwd > " + str(tmp_path / "folder") + "\n",
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    env["CLAIMS_TOKEN_FILE"] = os.environ["CLAIMS_TOKEN_FILE"]  # the test's own logins, never ~/.claims
    env["TMPDIR"] = str(tmp_path)  # mktemp -d makes the empty folder inside pytest's own temporary folder
    env["CLAIMS_KEY_DIR"] = str(tmp_path / "keys")  # the audit keys db init creates, not in the real home
    venv_bin = Path(sys.executable).parent
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"  # as `make .venv/.installed` leaves it
    done = subprocess.run(["bash", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    folder = Path((tmp_path / "folder").read_text().strip())
    for name in ("claims.db", "审核表.xlsx", "发放表.xlsx", "银行转账.csv", "补助通知书.pdf", "草案试算.xlsx"):
        assert (folder / name).is_file(), name
    assert "已新建数据库" in done.stdout
    assert not (ROOT / "claims.db").exists() or folder != ROOT
