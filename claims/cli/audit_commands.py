"""`claims audit ...` and `claims simulate`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from claims.cli.common import Refused, _fail, _work
from claims.cli.root import main
from claims.problems import ProblemsFound


@main.group()
def audit() -> None:
    """审计：复算批次、复算离线复算包、核验审计日志。"""


@audit.command("rerun")
@click.argument("batch_id", type=int, required=False)
@click.option("--bundle", "bundle", type=click.Path(), help="复算包（zip）；无需数据库。")
@click.option("--public-key", "public_key_file", type=click.Path(),
              help="服务中心公布的公钥（PEM），用于核对复算包签名；缺省用本机公钥，并提示。")
@click.pass_context
def audit_rerun(ctx: click.Context, batch_id: int | None, bundle: str | None, public_key_file: str | None) -> None:
    """按批次保存的快照重新计算并逐行比对；有任何差异退出码为 1。

    \b
    角色：所有角色（只读）
    文件：复算包 zip（--bundle，由 claims audit bundle 生成）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.bundle import BundleRefused, open_bundle
    from claims.audit.keys import KeyProblem, PublicKeyInvalid, load_public_key
    from claims.audit.rerun import describe, rerun, snapshot_of_batch
    from claims.bulk import collector_paused

    if (batch_id is None) == (bundle is None):
        raise Refused("请给出批次号，或用 --bundle 指定复算包（二者选一）")
    if bundle:
        try:
            public = load_public_key(Path(public_key_file)) if public_key_file else None
            if public is None:
                click.echo("注意：未给出 --public-key，用本机公钥核对签名；审计员应使用服务中心公布的公钥", err=True)
            opened = open_bundle(Path(bundle), public)
        except PublicKeyInvalid as invalid:
            click.echo(f"{invalid.message} [{invalid.code}]", err=True)
            sys.exit(2)
        except KeyProblem as problem:
            click.echo(f"拒绝：{problem.message}；或用 --public-key 指定服务中心公布的公钥 [{problem.code}]", err=True)
            sys.exit(1)
        except BundleRefused as refused:
            click.echo(f"{'拒绝：' if refused.exit_code == 1 else ''}{refused.message} [{refused.code}]", err=True)
            sys.exit(refused.exit_code)
        snapshot = opened.snapshot
        click.echo(f"复算包 {bundle} 签名有效（公钥指纹 {opened.public_key_fingerprint}），通过清单核对"
                   f"（manifest sha256 {opened.manifest_sha256}）")
        click.echo(f"包内审计日志检查点：{opened.checkpoint['count']} 条，最后一条校验值 {opened.checkpoint['head_hmac']}"
                   "（可用 claims audit verify-log --checkpoint 核对数据库）")
    else:
        with _work(ctx) as session:
            snapshot = snapshot_of_batch(session, batch_id, ctx.obj["user"])
    with collector_paused():
        try:
            report = rerun(snapshot)
        except (KeyError, ValueError, TypeError, AttributeError, ArithmeticError, IndexError) as error:
            if not bundle:
                raise
            click.echo(f"{bundle}：包内数据彼此不符，无法复算（{str(error)[:120]}）"
                       "[BUNDLE_INVALID]", err=True)
            sys.exit(2)
    for line in describe(report):
        click.echo(line)
    sys.exit(0 if report.identical else 1)


@audit.command("bundle")
@click.argument("batch_id", type=int)
@click.option("-o", "--out", required=True, type=click.Path(), help="复算包 zip 文件。")
@click.pass_context
def audit_bundle(ctx: click.Context, batch_id: int, out: str) -> None:
    """把一个批次写成可离线复算的复算包（zip）。

    \b
    角色：所有角色（只读）
    文件：无；写出 zip 文件
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.bundle import bundle_batch

    with _work(ctx) as session:
        written = bundle_batch(session, batch_id, Path(out), ctx.obj["user"])
    click.echo(f"复算包已写入 {out}：{written.files} 个文件；清单 manifest.json 的 sha256 为 {written.manifest_sha256}"
               "（已记入审计日志，请与复算包一起保存）")


@audit.command("verify-log")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(), help="审计员保存的检查点文件（claims audit checkpoint 导出）。")
@click.option("--public-key", "public_key_file", type=click.Path(),
              help="服务中心公布的公钥（PEM）；用于核对检查点签名。缺省用本机公钥，并提示。")
@click.pass_context
def audit_verify_log(ctx: click.Context, checkpoint_file: str | None, public_key_file: str | None) -> None:
    """核验审计日志的哈希链；有被改动、删除或调换的记录时退出码为 1 并逐条指出。

    \b
    角色：所有角色（只读）
    文件：无
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
    from claims.audit.checkpoint import CheckpointInvalid, compare, read_checkpoint, signature_valid
    from claims.audit.keys import PublicKeyInvalid, fingerprint, load_public_key, local_public_key
    from claims.workflow.audit_log import verify_with_head
    from claims.workflow.users import require

    checkpoint = public = None
    try:
        if checkpoint_file:
            checkpoint = read_checkpoint(Path(checkpoint_file))
        if public_key_file:
            public = load_public_key(Path(public_key_file))
    except (CheckpointInvalid, PublicKeyInvalid) as invalid:
        click.echo(f"{invalid.message} [{invalid.code}]", err=True)
        sys.exit(2)
    with _work(ctx) as session:
        require(session, ctx.obj["user"], "audit")
        count, breaks, head = verify_with_head(session)
        if checkpoint is not None:
            if public is None:
                public = local_public_key()
                click.echo("注意：未给出 --public-key，用本机公钥核对检查点签名；审计员应使用服务中心公布的公钥", err=True)
            if not signature_valid(checkpoint, public):
                breaks.append(_break(0, "CHECKPOINT_SIGNATURE",
                                     f"检查点 {checkpoint_file} 的签名与公钥（指纹 {fingerprint(public)}）不符：检查点被改动或不是该服务中心出具"))
            else:
                breaks += compare(session, checkpoint, count)
    if breaks:
        for found in breaks:
            where = f"第 {found.seq} 条：" if found.seq else ""
            click.echo(f"{where}[{found.code}] {found.message}", err=True)
        click.echo(f"审计日志共 {count} 条，发现 {len(breaks)} 处问题。", err=True)
        sys.exit(1)
    click.echo(f"审计日志完好：共 {count} 条记录，校验链首尾相接；最后一条第 {head.seq} 条，校验值 {head.sha256}")
    if checkpoint is not None:
        click.echo(f"与检查点（{checkpoint['at']}，{checkpoint['count']} 条）相符：之前的记录没有被删除或改写")
    else:
        click.echo("提示：删除末尾记录只有与检查点比较才能发现；用 claims audit checkpoint -o 文件 保存检查点")


def _break(seq: int, code: str, message: str):
    from claims.workflow.audit_log import Break

    return Break(seq, code, message)


@audit.command("checkpoint")
@click.option("-o", "--out", type=click.Path(), help="把检查点写入此文件（JSON）。")
@click.pass_context
def audit_checkpoint(ctx: click.Context, out: str | None) -> None:
    """出具审计日志检查点：记录条数和最后一条的校验值，用服务中心私钥签名。

    审计员打印或保存它，以后用 claims audit verify-log --checkpoint 文件 核对；日志有问题时拒绝出具。

    \b
    角色：任何角色
    文件：写出检查点 JSON（-o，可省略，只显示）
    退出码：0 完成；1 拒绝（日志不完整、缺少密钥）。"""
    from claims.audit.checkpoint import checkpoint_bytes, describe, make_checkpoint
    from claims.workflow.users import require

    with _work(ctx) as session:
        require(session, ctx.obj["user"], "audit")
        checkpoint = make_checkpoint(session)
    for line in describe(checkpoint):
        click.echo(line)
    if out:
        _write_whole(out, checkpoint_bytes(checkpoint), "检查点")
        click.echo(f"检查点已写入 {out}；请与服务中心公钥一起保存在数据库之外")


@audit.command("public-key")
@click.option("-o", "--out", type=click.Path(), help="把公钥写入此文件（PEM）。")
def audit_public_key(out: str | None) -> None:
    """显示服务中心的签名公钥（PEM）及其指纹。

    服务中心把它交给审计员（当面或另行核对指纹），审计员用它核对复算包（rerun --bundle --public-key）
    和检查点（verify-log --public-key）。不需要数据库。

    \b
    角色：任何人
    文件：写出公钥 PEM（-o，可省略，只显示）
    退出码：0 完成；1 缺少签名私钥。"""
    from claims.audit.keys import KeyProblem, fingerprint, local_public_key, public_pem

    try:
        public = local_public_key()
    except KeyProblem as problem:
        click.echo(f"拒绝：{problem.message} [{problem.code}]", err=True)
        sys.exit(1)
    click.echo(public_pem(public), nl=False)
    click.echo(f"指纹 {fingerprint(public)}")
    if out:
        _write_whole(out, public_pem(public).encode("ascii"), "公钥")
        click.echo(f"公钥已写入 {out}")


def _write_whole(out: str, data: bytes, what: str) -> None:
    """Written whole or not at all (an interrupted write never leaves half a file an auditor might keep);
    a path that cannot be written is refused with a Chinese message (exit 2)."""
    from exports.safety import atomic_output

    try:
        with atomic_output(out) as temporary:
            temporary.write_bytes(data)
    except OSError as error:
        click.echo(f"[OUTPUT_UNWRITABLE] 无法写入{what}文件 {out}（{error.strerror or type(error).__name__}），"
                   "请换一个可写的文件路径", err=True)
        sys.exit(2)


@main.command()
@click.option("--policy", "draft_file", required=True, type=click.Path(), help="草案策略文件。")
@click.option("--period", required=True, type=int, help="互助期，如 2025。")
@click.option("--current", "current_file", type=click.Path(), help="现行策略文件（默认：该互助期已批准的策略版本）。")
@click.option("-o", "--out", type=click.Path(), help="把对比写入 XLSX 文件。")
@click.pass_context
def simulate(ctx: click.Context, draft_file: str, period: int, current_file: str | None, out: str | None) -> None:
    """模拟草案策略的成本：用现行策略和草案分别重算某年度的申请并对比；不改变任何数据。

    \b
    角色：所有角色（只读）
    文件：策略文件 YAML（--policy 草案，--current 现行，示例见 policies/draft-example.yaml）；写出 XLSX 对比表（-o）
    退出码：0 完成；1 拒绝（无权限、状态不符等，已写明原因）；2 输入无效（文件或参数有误，逐条列出）。"""
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
