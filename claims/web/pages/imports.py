"""Uploading files (/imports: clerks any unit, base-union agents their own) and an agent's unit (/unit).

An upload is saved to a private temporary folder under its own (cleaned) name, imported by the same
workflow function as ``claims import`` (which binds an agent to their unit), and removed. When rows are
refused, the errors workbook — the same one ``claims import --errors-out`` writes — is kept for an hour
for its uploader only, behind an unguessable link. This is per server process (``claims serve`` runs one).
"""

from __future__ import annotations

import re
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from claims.money import from_fen
from claims.web.guard import MAX_UPLOAD_BYTES
from claims.web.site import Site

KINDS = {"members": "会员名单", "enrollments": "参保名单", "claims": "补助申请", "settlements": "医保结算清单（免申即享）"}
KEEP_SECONDS = 3600
SHOWN_PROBLEMS = 200  # in the page; the workbook has them all


@dataclass
class Download:
    user: str
    path: Path
    made: float


def _clean_name(name: str) -> str:
    """The uploaded file's own name, without folders or characters a file system or a message should not
    carry; its suffix decides how it is read (CSV or XLSX)."""
    name = Path(name.replace("\\", "/")).name
    name = re.sub(r"[^\w.\-()（）\u3000-\u9fff ]", "_", name).strip(" .")[-100:]
    return name or "上传文件.csv"


def _mappings() -> list[str]:
    """The settlement-list mappings shipped in mappings/settlements (chosen by name, never by a path)."""
    from claims.intake.settlements import MAPPINGS

    return sorted(p.stem for p in (MAPPINGS / "settlements").glob("*.yaml"))


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{from_fen(fen):,.2f}"


def routes(site: Site) -> list[Route]:
    work, page = site.work, site.page
    downloads: dict[str, Download] = {}
    folder = Path(tempfile.mkdtemp(prefix="claims-web-"))

    def forget_old() -> None:
        for token, kept in list(downloads.items()):
            if time.time() - kept.made > KEEP_SECONDS:
                shutil.rmtree(kept.path.parent, ignore_errors=True)
                downloads.pop(token, None)

    def form_page(request: Request, unit: str | None, status: int = 200, **context):
        return page(request, "imports.html", status, unit=unit, kinds=KINDS, mappings=_mappings(),
                    max_mb=MAX_UPLOAD_BYTES >> 20, max_bytes=MAX_UPLOAD_BYTES, **context)

    async def imports_get(request: Request):
        from claims.workflow.units import importer_scope

        unit, refusal = await work(importer_scope, request.state.user)
        if refusal is not None:
            return site.refused(request, refusal)
        return form_page(request, unit)

    async def imports_post(request: Request):
        from claims.workflow.units import importer_scope

        user = request.state.user
        unit, refusal = await work(importer_scope, user)
        if refusal is not None:
            return site.refused(request, refusal)
        form = await request.form()
        kind, upload, mapping = form.get("kind"), form.get("file"), str(form.get("mapping") or "national")
        mappings = _mappings()
        if kind not in KINDS:
            return form_page(request, unit, 400, error="请选择文件的种类（会员名单、参保名单、补助申请或医保结算清单）。[IMPORT_KIND]")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return form_page(request, unit, 400, kind=kind, error="请选择要上传的文件（CSV 或 XLSX）。[IMPORT_NO_FILE]")
        if kind == "settlements" and mapping not in mappings:
            return form_page(request, unit, 400, kind=kind, error="请选择一个字段映射。[IMPORT_MAPPING]")
        name = _clean_name(upload.filename)
        upload_dir = Path(tempfile.mkdtemp(prefix="upload-", dir=folder))
        path = upload_dir / name
        try:
            path.write_bytes(await upload.read())
            if path.stat().st_size == 0:
                return form_page(request, unit, 400, kind=kind, error=f"文件“{name}”是空的，未导入。[IMPORT_EMPTY_FILE]")
            outcome, refusal = await work(_run_import, kind, path, user, mapping)
        finally:
            await form.close()
        if refusal is not None:
            shutil.rmtree(upload_dir, ignore_errors=True)
            return site.refused(request, refusal)
        forget_old()
        token = None
        if outcome.problems and outcome.errors_file is not None:
            token = secrets.token_urlsafe(24)
            downloads[token] = Download(user, outcome.errors_file, time.time())
        path.unlink(missing_ok=True)
        return form_page(request, unit, 200 if not outcome.problems else 422, kind=kind, outcome=outcome,
                         token=token, shown=outcome.problems[:SHOWN_PROBLEMS])

    async def errors_download(request: Request):
        kept = downloads.get(request.path_params["token"])
        if kept is None or kept.user != request.state.user or not kept.path.exists():
            return page(request, "message.html", 404, title="文件不存在",
                        message="错误说明表不存在或已过期（保留一小时），请重新上传文件。[DOWNLOAD_UNKNOWN]")
        return FileResponse(kept.path, filename=kept.path.name,
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    async def unit_page(request: Request):
        from claims.workflow.units import unit_claims

        number = request.query_params.get("page", "1")
        number = int(number) if number.isdigit() and len(number) < 7 else 1
        found, refusal = await work(unit_claims, request.state.user, number)
        if refusal is not None:
            return site.refused(request, refusal)
        return page(request, "unit.html", found=found, yuan=_yuan)

    return [Route("/imports", imports_get, methods=["GET"]), Route("/imports", imports_post, methods=["POST"]),
            Route("/imports/errors/{token}", errors_download, methods=["GET"]), Route("/unit", unit_page)]


@dataclass
class Outcome:
    """What the page shows of one import."""

    file: str
    rows: int
    added: int
    unchanged: int
    problems: list  # Problem, sorted by row
    refused_rows: int
    header_problems: list
    errors_file: Path | None
    extra: list[str]  # further counts in Chinese (resubmitted, skipped settlement rows, reversals)


def _run_import(session, kind: str, path: Path, user: str, mapping: str) -> Outcome:
    """One import, as the CLI does it; the errors workbook is written next to the upload when rows are refused."""
    from claims.workflow.imports import import_file, write_errors_workbook
    from claims.workflow.settlements import details, import_settlements, summary, write_errors

    extra: list[str] = []
    errors_file = path.parent / f"错误说明-{path.stem}.xlsx"
    if kind == "settlements":
        done = import_settlements(session, path, user, mapping)
        result = done.result
        if done.problems:
            session.rollback()
            errors_file = errors_file if write_errors(done, errors_file) else None
        else:
            result.file = path.name
            extra = [summary(done), *details(done)]
    else:
        result = import_file(session, kind, path, user)
        if result.problems:
            session.rollback()
            if result.table is not None:
                write_errors_workbook(result, errors_file)
            else:
                errors_file = None
        extra = [f"退回后重新提交 {result.resubmitted} 件"] * bool(result.resubmitted) + \
                [f"更新银行账号、开户行或手机号 {result.contact_updated} 人"] * bool(result.contact_updated) + \
                [f"注意：{notice.message}" for notice in result.notices]
    problems = list(result.problems)
    header = [p for p in problems if (p.line or 1) == 1]
    rows = [p for p in problems if (p.line or 1) != 1]
    return Outcome(path.name, result.rows, result.added, result.unchanged, header + rows,
                   len({p.line for p in rows}), header, errors_file, extra)
