"""Reading a scenario file safely: regular files only, YAML 1.2 numbers, no duplicate keys.

A scenario file is small, hand-written YAML. Refused with one line each:

- anything but a regular file (a directory, a FIFO, /dev/zero), or one over 16 MiB;
- text that is not UTF-8, or not YAML;
- a key given twice in one mapping (YAML's "last one wins" would drop the first silently);
- an alias graph that expands to more than `MAX_NODES` nodes ("billion laughs"), a recursive
  alias, or nesting deeper than `MAX_DEPTH`.

Numbers and booleans follow the YAML 1.2 core schema, not PyYAML's YAML 1.1: `010` is 10 (not
octal 8), `1:00` is the string "1:00" (not 60 seconds), `1e3` is 1000.0, and only
true/false (any case) are booleans; `yes`, `no`, `on`, `off` and dates are strings.
"""

from __future__ import annotations

import math
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from planner.errors import ScenarioError

__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "read_yaml"]

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 1_000_000  # nodes after alias expansion
MAX_DEPTH = 64

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's numbers and booleans, refusing duplicates."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # merged keys may be overridden on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:  # an unhashable key: the base class reports it
                continue
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ScenarioError(
                    f"line {line}: duplicate key {key!r} (first given on line {seen[key]})"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    try:
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        return sign * int(digits, 10)
    except ValueError:
        raise ScenarioError(
            f"line {node.start_mark.line + 1}: integer too long: {len(digits)} digits"
        ) from None


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.lstrip("+-") == ".inf":
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


def _bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), None)
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_Loader.add_constructor(_INT, _int)
_Loader.add_constructor(_FLOAT, _float)
_Loader.add_constructor(_BOOL, _bool)


def _check_graph(root: yaml.Node) -> None:
    """Refuse a recursive alias, nesting deeper than MAX_DEPTH, or more than MAX_NODES nodes.

    Aliases make the node graph a DAG whose expansion (what a walk over the loaded data
    visits) can be exponential in the file size; sizes are memoised per node, so the check
    itself is linear.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            active.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                raise ScenarioError(
                    f"line {line}: aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?)"
                )
            if depth[key] > MAX_DEPTH:
                raise ScenarioError(f"line {line}: nested deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in active:
            raise ScenarioError(f"line {node.start_mark.line + 1}: recursive alias")
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def _problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return " ".join(f"{where}{problem}".split())


def _read_text(file: Path) -> str:
    try:
        st = file.stat()
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {file}") from None
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {file}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(f"cannot read scenario file {file}: Is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(f"cannot read scenario file {file}: not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        raise ScenarioError(f"{file}: larger than {limit} MiB ({st.st_size} bytes)")
    try:
        with file.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {file}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{file}: not a UTF-8 text file") from None


def read_yaml(path: str | Path) -> Any:
    """The YAML document of a scenario file, read safely (see the module docstring).

    Raises:
        ScenarioError: one line naming the file and the problem.
    """
    file = Path(path)
    text = _read_text(file)
    try:
        loader = _Loader(text)  # the reader refuses control characters here
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: not valid YAML: {_problem(exc)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node)
        return loader.construct_document(node)
    except ScenarioError as exc:
        raise ScenarioError(f"{file}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{file}: not valid YAML: {_problem(exc)}") from None
    except RecursionError:
        raise ScenarioError(f"{file}: nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
