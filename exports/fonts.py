"""Finding a Chinese font for the letters: a TrueType font to embed (so the PDF renders on a machine
without Chinese fonts), or, failing that, reportlab's built-in CID font with a warning.

Order: the file named by CLAIMS_FONT (nothing else if it is set); then the system's fonts (the
candidates below, then fontconfig's Chinese fonts); then WenQuanYi Micro Hei from the
``paperang-p2-fonts-cjk`` wheel, a dependency of this project, so a machine with only Python still
embeds a Chinese font. The font's own licence (in its name table) is Apache-2.0; the wheel is MIT."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase import pdfmetrics

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
FONT_NAME = "ClaimsCJK"


@dataclass(frozen=True)
class FontChoice:
    name: str
    path: str | None
    embedded: bool
    warning: str | None = None

    def describe(self) -> str:
        if self.embedded:
            return f"已嵌入字体 {Path(self.path).name}（{self.path}）"
        return "未嵌入字体：使用 PDF 阅读器自带的中文字体 STSong-Light"


class FontError(Exception):
    pass


_chosen: FontChoice | None = None


def choose_font() -> FontChoice:
    """CLAIMS_FONT if set (it must be a usable TrueType font), else the first installed candidate."""
    global _chosen
    if _chosen is not None:
        return _chosen
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    wanted = os.environ.get("CLAIMS_FONT")
    paths = [wanted] if wanted else [*CANDIDATES, *_fontconfig_candidates(), *_bundled()]
    for path in paths:
        if not path or not Path(path).is_file():
            if wanted:
                raise FontError(f"CLAIMS_FONT 指定的字体文件不存在：{wanted}")
            continue
        try:
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
        except (TTFError, OSError) as error:
            if wanted:
                raise FontError(f"CLAIMS_FONT 指定的字体无法嵌入（须为 TrueType 字体 .ttf/.ttc）：{error}") from None
            continue
        _chosen = FontChoice(FONT_NAME, path, True)
        return _chosen
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    _chosen = FontChoice("STSong-Light", None, False,
                         "警告：本机没有可嵌入的中文 TrueType 字体（如 Debian 的 fonts-wqy-zenhei），通知书未嵌入字体，"
                         "在没有中文字体的电脑上可能无法显示汉字；可用环境变量 CLAIMS_FONT 指定字体文件。")
    return _chosen


def _fontconfig_candidates() -> list[str]:
    if not shutil.which("fc-list"):
        return []
    listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    return sorted(line.split(":")[0].strip() for line in listed.splitlines()
                  if line.split(":")[0].strip().lower().endswith((".ttf", ".ttc")))


def _bundled() -> list[str]:
    """WenQuanYi Micro Hei from the paperang-p2-fonts-cjk wheel, when installed."""
    try:
        from importlib.resources import files

        font = files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
    except (ImportError, ModuleNotFoundError, TypeError):
        return []
    return [str(font)] if font.is_file() else []


def reset_font_choice() -> None:
    """For tests that change CLAIMS_FONT."""
    global _chosen
    _chosen = None
