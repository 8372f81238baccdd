"""The ``claims`` group and its global options."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CLAIMS_DB", default="sqlite:///claims.db", show_default=True,
              help="数据库地址（SQLAlchemy URL），也可用环境变量 CLAIMS_DB。")
@click.option("--user", envvar="CLAIMS_USER", default=None, help="操作人用户名，也可用环境变量 CLAIMS_USER。")
@click.pass_context
def main(ctx: click.Context, db: str, user: str | None) -> None:
    """职工医疗互助保障 claim engine（职工医疗互助保障补助计算）.

    Policies are YAML files (see policies/README.md); every amount is exact to the fen and every
    result line carries its explanation.
    """
    ctx.obj = {"db": db, "user": user}
