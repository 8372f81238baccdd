"""The ``claims`` group and its global options."""

from __future__ import annotations

import click


class _Group(click.Group):
    """A refusal raised outside a unit of work (reading the login file, say) is printed like any other."""

    def invoke(self, ctx: click.Context):
        from claims.cli.common import _refuse
        from claims.workflow.errors import Refusal

        try:
            return super().invoke(ctx)
        except Refusal as refusal:
            _refuse(refusal)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CLAIMS_DB", default="sqlite:///claims.db", show_default=True,
              help="数据库地址（SQLAlchemy URL），也可用环境变量 CLAIMS_DB。")
@click.option("--user", envvar="CLAIMS_USER", default=None,
              help="本机同时登录了几个用户时，选用其中哪一个（也可用环境变量 CLAIMS_USER）；"
                   "只能选已经用 claims login 登录的用户，不能代替登录。")
@click.pass_context
def main(ctx: click.Context, db: str, user: str | None) -> None:
    """职工医疗互助保障 claim engine（职工医疗互助保障补助计算）.

    Policies are YAML files (see policies/README.md); every amount is exact to the fen and every
    result line carries its explanation.
    """
    # "user" is filled in by claims.cli.common._work from a proven login, never from --user itself
    ctx.obj = {"db": db, "user": None, "chosen_user": user}
