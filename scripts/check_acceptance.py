"""Run acceptance scenario folders against ``claims calculate`` and compare with their expected.csv.

Usage: python scripts/check_acceptance.py FOLDER...   (each folder: policy.txt, members.csv,
enrollments.csv, claims.csv, expected.csv; policy.txt names a policy in policies/).
Prints each difference and a closing "N passed, N failed" line; exits 1 on any failure.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check(folder: Path) -> list[str]:
    policy = ROOT / "policies" / f"{(folder / 'policy.txt').read_text().strip()}.yaml"
    command = shutil.which("claims", path=str(Path(sys.executable).parent)) or "claims"
    done = subprocess.run([command, "calculate", "--policy", policy, "--members", folder / "members.csv",
                           "--enrollments", folder / "enrollments.csv", "--claims", folder / "claims.csv"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return [f"exit {done.returncode}: {done.stderr.strip()}"]
    expected = (folder / "expected.csv").read_text(encoding="utf-8").splitlines()
    actual = done.stdout.splitlines()
    return [f"expected: {line}" for line in expected if line not in actual] + \
           [f"got:      {line}" for line in actual if line not in expected]


def main(folders: list[str]) -> int:
    passed = failed = 0
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        differences = check(folder)
        print(f"{'PASS' if not differences else 'FAIL'}  {folder.name}")
        for difference in differences:
            print(f"      {difference}")
        passed, failed = passed + (not differences), failed + bool(differences)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
