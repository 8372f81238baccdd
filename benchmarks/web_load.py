"""Load on the review pages (not a test): 50 reviewers logged in to a real `claims serve` on a real PostgreSQL
decide claims for 60 s, each as a person would — open a page of the queue, open a claim (its CSRF token and
version), approve it. Several often pick the same claim: exactly one may win. Then the database is checked:
every successful answer is one approval stored, by that reviewer, each claim approved at most once, and the
audit log holds one approval entry per approval. Reports p50/p95 latency of each kind of request.

    .venv/bin/python -m benchmarks.web_load [--claims 20000] [--sessions 50] [--seconds 60]
(``make bench`` runs it with ``--web-load``.)"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "压力测试的密码-Load-Test-2025"


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _prepare(url: str, claims: int, sessions: int, work: Path) -> int:
    """Users, a generated period imported, one batch calculated by the clerk; returns the batch id."""
    from benchmarks.generate import generate
    from claims.policy import read_policy
    from claims.store.database import Store, init_database
    from claims.workflow.batches import create_batch
    from claims.workflow.imports import import_file
    from claims.workflow.users import add_user

    init_database(url)
    store = Store(url)
    with store.session() as s:
        add_user(s, None, "管理员", "admin", PASSWORD)
        add_user(s, "管理员", "经办员", "clerk", PASSWORD)
        for n in range(sessions):
            add_user(s, "管理员", f"审核员{n:02d}", "reviewer", PASSWORD)
    loaded = read_policy(ROOT / "policies" / "hangzhou.yaml")
    for kind, path in generate(claims, work / "data").items():
        with store.session() as s:
            result = import_file(s, kind, path, "经办员", loaded.policy)
            assert not result.problems, result.problems[:3]
    with store.session() as s:
        batch_id = create_batch(s, loaded, 2025, "经办员").id
    store.dispose()
    return batch_id


def _serve(url: str, work: Path) -> tuple[subprocess.Popen, str]:
    from tests.web.browsing import _free_port

    port = _free_port()
    env = {**os.environ, "CLAIMS_SETTINGS": str(work / "no-settings.yaml")}  # no 会审 threshold: one approval each
    process = subprocess.Popen([sys.executable, "-m", "claims.cli", "--db", url, "serve", "--port", str(port)],
                               cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "serve.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("claims serve did not start: " + (work / "serve.log").read_text())


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Start:
    """Where the reviewers wait for each other after logging in; the run's clock starts when all are in."""

    def __init__(self, sessions: int, seconds: float):
        self.seconds, self.deadline, self.began = seconds, 0.0, 0.0
        self.barrier = threading.Barrier(sessions, action=self._go)

    def _go(self) -> None:
        self.began = time.monotonic()
        self.deadline = self.began + self.seconds


class Reviewer(threading.Thread):
    def __init__(self, base: str, name: str, batch_id: int, start: Start, pages: int, seed: int):
        super().__init__(daemon=True)
        self.base, self.name, self.batch_id, self.start_line, self.pages = base, name, batch_id, start, pages
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.approved: list[str] = []
        self.answers: Counter = Counter()
        self.error = ""

    def _timed(self, kind: str, call, *args, **kwargs):
        started = time.perf_counter()
        response = call(*args, **kwargs)
        self.latency[kind].append(time.perf_counter() - started)
        self.answers[(kind, response.status_code)] += 1
        return response

    def run(self) -> None:
        import httpx

        try:
            with httpx.Client(base_url=self.base, timeout=60, follow_redirects=False) as client:
                form = client.get("/login")
                logged = self._timed("login", client.post, "/login", data={
                    "username": self.name, "password": PASSWORD, "csrf_token": _csrf(form.text)})
                if logged.status_code != 303:
                    self.error = f"login {logged.status_code}"
                    self.start_line.barrier.abort()
                    return
                self.start_line.barrier.wait()  # everyone logged in: the 60 s start together
                while time.monotonic() < self.start_line.deadline:
                    page = self.rng.randint(1, self.pages)  # a few pages: reviewers often open the same claim
                    queue = self._timed("queue", client.get, f"/batches/{self.batch_id}/queue?page={page}")
                    ids = re.findall(r'class="claim-link">([^<]+)</a>', queue.text)
                    if not ids:
                        if 'id="empty"' in queue.text:
                            return
                        continue
                    claim_id = self.rng.choice(ids)
                    shown = self._timed("claim", client.get, f"/claims/{claim_id}")
                    version = re.search(r'name="version" value="(\d+)"', shown.text)
                    if version is None:  # decided meanwhile: no form
                        continue
                    answer = self._timed("decide", client.post, f"/claims/{claim_id}/decide", data={
                        "csrf_token": _csrf(shown.text), "decision": "approve", "version": version.group(1),
                        "note": "压力测试"})
                    if answer.status_code == 303:
                        self.approved.append(claim_id)
        except threading.BrokenBarrierError:
            self.error = self.error or "another reviewer could not log in"
        except Exception as error:  # reported, and the run fails
            self.error = repr(error)


def _alone(base: str, batch_id: int, claims: int) -> dict:
    """One reviewer alone, before the crowd: the best of three for pages whose cost must not grow with the
    batch (first and last page, a filter, a 5% sample)."""
    import httpx

    pages = -(-claims // 50)
    paths = {"batch_first_page": f"/batches/{batch_id}", "batch_last_page": f"/batches/{batch_id}?page={pages}",
             "queue_flagged": f"/batches/{batch_id}/queue?flagged=1", "queue_min_amount": f"/batches/{batch_id}/queue?min=5000",
             "queue_sample_5pct": f"/batches/{batch_id}/queue?sample=5&seed=1"}
    out = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        form = client.get("/login")
        client.post("/login", data={"username": "审核员00", "password": PASSWORD, "csrf_token": _csrf(form.text)})
        for name, path in paths.items():
            times = []
            for _ in range(3):
                started = time.perf_counter()
                assert client.get(path).status_code == 200, path
                times.append(time.perf_counter() - started)
            out[name] = round(min(times) * 1000, 1)
    return out


def _check(url: str, reviewers: list[Reviewer]) -> dict:
    from sqlalchemy import func, select

    from claims.store.database import Store
    from claims.store.models import AuditEntry, ClaimRow

    store = Store(url)
    with store.session() as s:
        stored = dict(s.execute(select(ClaimRow.claim_id, ClaimRow.decided_by).where(ClaimRow.state == "approved")).all())
        entries = Counter(s.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "claim.approve")))
        decided_other = s.scalar(select(func.count()).select_from(ClaimRow).where(ClaimRow.state.in_(("returned", "refused"))))
    store.dispose()
    answered = {}
    doubled_answers = 0
    for r in reviewers:
        for claim_id in r.approved:
            doubled_answers += claim_id in answered
            answered[claim_id] = r.name
    return {
        "successful_answers": sum(len(r.approved) for r in reviewers),
        "approvals_stored": len(stored),
        "claims_approved_twice_in_answers": doubled_answers,
        "audit_entries": sum(entries.values()),
        "claims_with_two_audit_entries": sum(1 for n in entries.values() if n > 1),
        "answers_not_stored_as_answered": sum(1 for c, who in answered.items() if stored.get(c) != who),
        "stored_without_answer": len(set(stored) - set(answered)),
        "other_decisions": decided_other,
    }


def run(claims: int = 20_000, sessions: int = 50, seconds: float = 60.0, pages: int = 5) -> dict:
    from claims.audit.keys import KEY_DIR_ENV, ensure_keys
    from tests.databases import postgres_cluster

    work = Path(tempfile.mkdtemp(prefix="claims-web-load-"))
    os.environ.setdefault(KEY_DIR_ENV, str(work / "keys"))
    ensure_keys(Path(os.environ[KEY_DIR_ENV]))
    with postgres_cluster(max_connections=100) as server:
        from sqlalchemy import create_engine, text

        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "load"'))
        admin.dispose()
        url = f"{server}/load"
        started = time.perf_counter()
        batch_id = _prepare(url, claims, sessions, work)
        print(f"  prepared {claims:,} claims in {time.perf_counter() - started:.0f} s", flush=True)
        process, base = _serve(url, work)
        try:
            alone = _alone(base, batch_id, claims)
            start = Start(sessions, seconds)
            reviewers = [Reviewer(base, f"审核员{n:02d}", batch_id, start, pages, n) for n in range(sessions)]
            for r in reviewers:
                r.start()
            for r in reviewers:
                r.join(seconds + 300)
            elapsed = time.monotonic() - start.began
        finally:
            process.terminate()
            process.wait(10)
        checks = _check(url, reviewers)
    latency = defaultdict(list)
    answers: Counter = Counter()
    for r in reviewers:
        for kind, values in r.latency.items():
            latency[kind] += values
        answers.update(r.answers)
    result = {
        "claims": claims, "sessions": sessions, "seconds": round(elapsed, 1),
        "errors": [f"{r.name}: {r.error}" for r in reviewers if r.error],
        "answers": {f"{kind} {status}": n for (kind, status), n in sorted(answers.items())},
        "latency_ms": {kind: {"n": len(v), "p50": round(_percentile(v, 50) * 1000, 1),
                              "p95": round(_percentile(v, 95) * 1000, 1), "mean": round(statistics.mean(v) * 1000, 1)}
                       for kind, v in sorted(latency.items())},
        "one_reviewer_alone_ms": alone,
        "decisions_per_s": round(checks["successful_answers"] / elapsed, 1),
        "checks": checks,
    }
    result["consistent"] = (checks["successful_answers"] == checks["approvals_stored"] == checks["audit_entries"]
                            and not checks["claims_approved_twice_in_answers"]
                            and not checks["claims_with_two_audit_entries"]
                            and not checks["answers_not_stored_as_answered"] and not checks["stored_without_answer"]
                            and not result["errors"] and not any(k.endswith(" 500") for k in result["answers"]))
    return result


def bench_web_load(size: int, work: Path, results: dict) -> None:
    """benchmarks/run.py's step (``--web-load``)."""
    results["web_load"] = run(claims=size)
    print(json.dumps(results["web_load"], indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pages", type=int, default=5, help="the queue pages reviewers pick from (fewer: more clashes)")
    args = parser.parse_args()
    result = run(args.claims, args.sessions, args.seconds, args.pages)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if result["consistent"] else 1)


if __name__ == "__main__":
    main()
