"""The ``claims`` group and its global options."""

from __future__ import annotations

import click


class _ChineseFormatter(click.HelpFormatter):
    """Help text headings in Chinese (the texts themselves are written in Chinese)."""

    HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：")

    def write_heading(self, heading: str) -> None:
        super().write_heading(self.HEADINGS.get(heading, heading))


class _ChineseContext(click.Context):
    formatter_class = _ChineseFormatter


class _ChineseHelp:
    context_class = _ChineseContext

    def get_help_option(self, ctx: click.Context):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "显示本帮助并退出。"
        return option


class ChineseCommand(_ChineseHelp, click.Command):
    pass


class ChineseGroup(_ChineseHelp, click.Group):
    command_class = ChineseCommand
    group_class = type  # sub-groups are ChineseGroups too


class _Group(ChineseGroup):
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
    """职工医疗互助保障补助计算：策略文件、导入、计算、审核、发放和审计。

    策略是 YAML 文件（见 policies/README.md）；每一笔金额精确到分，每一行结果都带计算说明。
    每条命令以 claims login 登录的用户身份办理；--user 或 CLAIMS_USER 只在本机已登录的几个用户中选一个；
    数据库用 --db 或 CLAIMS_DB 指定。"""
    # "user" is filled in by claims.cli.common._work from a proven login, never from --user itself
    ctx.obj = {"db": db, "user": None, "chosen_user": user}
