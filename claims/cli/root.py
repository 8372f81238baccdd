"""The ``claims`` group and its global options."""

from __future__ import annotations

import re
import sys

import click

# Click's own words in usage lines and option lists (metavars), in Chinese
METAVARS = {"[OPTIONS]": "[选项]", "COMMAND": "命令", "[ARGS]...": "[参数]...", "TEXT": "文本", "INTEGER": "整数",
            "PATH": "路径", "FILE": "文件", "FILENAME": "文件", "FLOAT": "数字", "DIRECTORY": "文件夹",
            "BOOLEAN": "是/否", "INTEGER RANGE": "整数", "KIND": "类别", "UUID": "编号",
            # the arguments' names (click shows them in capitals)
            "BATCH_ID": "批次号", "CASES": "案例文件", "CLAIM_ID": "申请编号", "FILES": "文件", "FIRST": "前一个",
            "SECOND": "后一个", "NAME": "名称", "PERIOD": "互助期", "RECOVERY_ID": "追回编号", "RESULT_FILE": "结果文件",
            "VERSION": "版本号", "[FILES]...": "[文件]...", "FILES...": "文件...", "[CASES]...": "[案例文件]...",
            "[required]": "[必填]", "[default:": "[默认：", "default:": "默认："}
_METAVAR = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in sorted(METAVARS, key=len, reverse=True))
                      + r")(?![\w-])")
_SPACE_AFTER = re.compile(r"(\[默认：|默认：) ")


def chinese_metavars(text: str) -> str:
    return _SPACE_AFTER.sub(r"\1", _METAVAR.sub(lambda m: METAVARS[m.group(1)], text))


class _ChineseFormatter(click.HelpFormatter):
    """Help text headings and Click's metavars in Chinese (the texts themselves are written in Chinese)."""

    HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, chinese_metavars(args), prefix="用法：")

    def write_heading(self, heading: str) -> None:
        super().write_heading(self.HEADINGS.get(heading, heading))

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(chinese_metavars(term), chinese_metavars(text)) for term, text in rows], col_max, col_spacing)


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

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            import difflib

            known = self.list_commands(ctx)
            near = difflib.get_close_matches(name, known, n=1)
            raise CliUsage("CLI_NO_SUCH_COMMAND", f"没有“{name}”这个命令"
                           + (f"，是不是要用“{near[0]}”？" if near else "；") + f"可用的命令：{'、'.join(known)}", ctx)
        return super().resolve_command(ctx, args)


class CliUsage(click.UsageError):
    """A usage error whose message is already Chinese, with its code."""

    def __init__(self, code: str, message: str, ctx: click.Context | None = None):
        super().__init__(message, ctx)
        self.code = code


def _value_of(message: str) -> str:
    found = re.search(r"'([^']*)'", message)
    return found.group(1) if found else ""


def usage_message(error: click.UsageError) -> tuple[str, str]:
    """(code, Chinese message) for one of Click's usage errors: built from what the error carries, never
    from Click's English text."""
    from click import exceptions as e

    if isinstance(error, CliUsage):
        return error.code, error.message
    param = getattr(error, "param", None)
    name = "、".join(param.opts) if param is not None and param.opts and isinstance(param, click.Option) else (
        chinese_metavars(param.human_readable_name) if param is not None else "")
    if isinstance(error, e.MissingParameter):
        if isinstance(param, click.Option):
            return "CLI_MISSING_OPTION", f"缺少必填的选项 {name}" + (f"（{param.help}）" if param.help else "")
        return "CLI_MISSING_ARGUMENT", f"缺少参数 {name}"
    if isinstance(error, e.NoSuchOption):
        near = sorted(error.possibilities or [])
        return "CLI_NO_SUCH_OPTION", f"没有 {error.option_name} 这个选项" + (f"，是不是要用 {'、'.join(near)}？" if near else "")
    if isinstance(error, e.BadOptionUsage):
        if "does not take" in error.message:
            return "CLI_OPTION_TAKES_NO_VALUE", f"选项 {error.option_name} 后面不能带值"
        return "CLI_OPTION_NEEDS_VALUE", f"选项 {error.option_name} 后面要给一个值"
    if isinstance(error, e.BadParameter):
        if re.search(r"[\u4e00-\u9fff]", error.message or ""):
            return "CLI_BAD_VALUE", f"{name} 的值无效：{error.message}"  # our own checks speak Chinese already
        value = _value_of(error.message or "")
        kind = param.type if param is not None else None
        shown = f"“{value}”" if value else "所给的值"
        if isinstance(kind, click.Choice):
            return "CLI_BAD_CHOICE", f"{name} 的值{shown}不在可选范围内，应为：{'、'.join(map(str, kind.choices))}"
        if isinstance(kind, click.IntRange):
            low, high = kind.min, kind.max
            return "CLI_BAD_NUMBER", f"{name} 的值{shown}无效，应为 {low if low is not None else ''}–{high if high is not None else ''} 之间的整数"
        if isinstance(kind, click.types.IntParamType):
            return "CLI_BAD_NUMBER", f"{name} 的值{shown}不是整数"
        if isinstance(kind, click.types.FloatParamType):
            return "CLI_BAD_NUMBER", f"{name} 的值{shown}不是数字"
        if isinstance(kind, click.Path):
            return "CLI_BAD_PATH", f"{name} 的文件{shown}不存在或无法读取"
        return "CLI_BAD_VALUE", f"{name} 的值{shown}无效"
    if isinstance(error, e.BadArgumentUsage) or "extra argument" in (error.message or ""):
        extra = re.search(r"\((.*)\)", error.message or "")
        return "CLI_EXTRA_ARGUMENT", "多余的参数" + (f"：{extra.group(1)}" if extra else "")
    return "CLI_USAGE", "命令用法不对"


def run_main(command: click.Command, args=None, prog_name=None, **extra) -> None:
    """Click's standalone mode, with every message Click itself would print in English said in Chinese,
    with a code: usage errors exit 2, an interruption exits 1."""
    try:
        command.main(args, prog_name, standalone_mode=False, **extra)
    except click.exceptions.NoArgsIsHelpError as error:
        click.echo(error.ctx.get_help(), err=True)
        sys.exit(2)
    except click.UsageError as error:
        code, message = usage_message(error)
        click.echo(f"输入无效：{message} [{code}]", err=True)
        if error.ctx is not None:
            click.echo(f"查看用法：{error.ctx.command_path} --help", err=True)
        sys.exit(2)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt, EOFError):
        click.echo("已中止 [CLI_ABORTED]", err=True)
        sys.exit(1)
    except click.ClickException as error:  # a file Click could not open, say
        click.echo(f"输入无效：{error.format_message()} [CLI_FILE]", err=True)
        sys.exit(error.exit_code)
    sys.exit(0)


class _Group(ChineseGroup):
    """A refusal raised outside a unit of work (reading the login file, say) is printed like any other;
    Click's own messages (usage errors) in Chinese with a code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        run_main(super(), args, prog_name, complete_var=complete_var, **extra)

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
