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


@click.group(cls=ChineseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="CLAIMS_DB", default="sqlite:///claims.db", show_default=True,
              help="数据库地址（SQLAlchemy URL），也可用环境变量 CLAIMS_DB。")
@click.option("--user", envvar="CLAIMS_USER", default=None, help="操作人用户名，也可用环境变量 CLAIMS_USER。")
@click.pass_context
def main(ctx: click.Context, db: str, user: str | None) -> None:
    """职工医疗互助保障补助计算：策略文件、导入、计算、审核、发放和审计。

    策略是 YAML 文件（见 policies/README.md）；每一笔金额精确到分，每一行结果都带计算说明。
    每条命令用 --user 或 CLAIMS_USER 指明操作人；数据库用 --db 或 CLAIMS_DB 指定。"""
    ctx.obj = {"db": db, "user": user}
