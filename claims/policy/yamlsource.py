"""YAML text → plain data plus a map from data path to source line, so that every policy problem has a line.

Scalars stay text (pydantic turns them into Decimal, int or date): a number never passes through float,
and a procedure code such as ``00.66`` keeps its leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from claims.problems import Problem

Path = tuple[Any, ...]


@dataclass
class Source:
    file: str
    data: Any = None
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Path) -> int:
        """The line of the longest prefix of ``path`` that exists in the file (1 for the document)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def data_path(self, loc: Path) -> Path:
        """Keep only the parts of a pydantic error location that are keys or indexes of the data.

        Pydantic puts a union's tag (e.g. ``banded_expense``) into locations; such a part is skipped.
        A last part that the data lacks is a missing or forbidden key: it is kept.
        """
        node, kept = self.data, []
        for position, part in enumerate(loc):
            if isinstance(node, dict) and part in node:
                node = node[part]
                kept.append(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                kept.append(part)
            elif position == len(loc) - 1 and isinstance(node, dict):
                kept.append(part)
        return tuple(kept)


def load_yaml(text: str, file: str) -> Source:
    source = Source(file=file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        last_line = max(1, len(text.rstrip("\n").splitlines()))
        line = min(mark.line + 1, last_line) if mark is not None else 1
        detail = getattr(exc, "problem", None) or str(exc)
        source.problems.append(Problem("POLICY_YAML_SYNTAX", f"YAML 语法错误：{detail}", file, line))
        return source
    if node is None:
        source.problems.append(Problem("POLICY_EMPTY", "策略文件为空", file, 1))
        return source
    source.data = _convert(node, (), source)
    return source


def _convert(node: yaml.Node, path: Path, source: Source) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is None or isinstance(key, bool):
                source.problems.append(Problem("POLICY_BAD_KEY", "键必须是文字", source.file, line))
                continue
            if key in result:
                source.problems.append(
                    Problem("POLICY_DUPLICATE_KEY", f"键“{key}”重复出现（首次出现在第 {source.lines[path + (key,)]} 行）",
                            source.file, line))
                continue
            source.lines[path + (key,)] = line
            result[key] = _convert(value_node, path + (key,), source)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, child in enumerate(node.value):
            source.lines[path + (index,)] = child.start_mark.line + 1
            items.append(_convert(child, path + (index,), source))
        return items
    return _scalar(node)


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.style is None:  # plain, unquoted
        if node.tag == "tag:yaml.org,2002:null":
            return None
        if node.tag == "tag:yaml.org,2002:bool":
            return node.value.lower() in ("true", "yes", "on", "y")
    return node.value
