"""Read YAML that people write, with every cost bounded.

PyYAML's safe loader is safe from code execution, not from surprises:

- duplicate keys: the last one wins silently, so a reviewer reads one value
  and Terraform gets another;
- anchors and aliases: nested aliases expand exponentially ("billion laughs":
  a 1.6 KB file took 57 s and 6 GB);
- YAML 1.1 timestamps: ``2026-01-01`` becomes a date, ``2026-02-30`` a traceback;
- integers of any length: thousands of digits cost seconds or raise;
- ``!!binary``, ``!!set``, ``!!omap``: bytes, sets and pairs where text is expected;
- deep nesting: recursion in the composer.

`parse_yaml` rejects all of these with a `YamlError` that names the line;
`read_text_file` only reads regular files of bounded size (a FIFO, a device
such as /dev/zero or a symlink loop cannot hang or exhaust it).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

#: A config is a few KB; anything this large is a mistake or an attack.
MAX_FILE_BYTES = 256 * 1024
#: Longest path we try to open (Linux PATH_MAX is 4096).
MAX_PATH_CHARS = 1024
#: Config sections nest about four deep; Helm values a bit more.
MAX_DEPTH = 32
#: Most values (scalars, lists, mappings) in one document: a config has ~100,
#: a Helm values file a few hundred. Parsing cost grows with this, not the size.
MAX_NODES = 5000
#: Longest integer literal: the config's numbers are small.
MAX_INT_DIGITS = 18
#: How much of a bad value a message quotes.
MAX_QUOTED = 200


class YamlError(Exception):
    """A file that cannot be read as bounded YAML. str() is one printable line."""


def shown(value: Any, limit: int = MAX_QUOTED) -> str:
    """repr() of a value, cut to `limit` characters (escapes control characters)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    length = len(value) if isinstance(value, str) else len(text)
    return f"{text[: limit - 3]}... ({length} characters)"


def clip(text: str, limit: int = MAX_QUOTED) -> str:
    """Plain text cut to `limit` characters, control characters escaped."""
    escaped = "".join(c if " " <= c <= "~" else repr(c)[1:-1] for c in text[: limit + 1])
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


def read_text_file(path: Path, *, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes` bytes.

    Opened non-blocking (a FIFO without a writer returns at once), checked with
    fstat before any read (only regular files), read with a cap.
    """
    name = str(path)
    if len(name) > MAX_PATH_CHARS:
        raise YamlError(f"the path is {len(name)} characters long (at most {MAX_PATH_CHARS})")
    if "\x00" in name:
        raise YamlError("the path contains a NUL character")
    fd = _open_for_reading(name)
    try:
        data = _read_regular_file(fd, max_bytes)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise YamlError(f"the file has more than {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise YamlError(
            f"the file is not UTF-8 text (invalid byte at offset {err.start})"
        ) from None


def _open_for_reading(name: str) -> int:
    """A non-blocking descriptor (a FIFO without a writer returns at once)."""
    try:
        return os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as err:
        reason = {
            errno.ELOOP: "too many levels of symbolic links (a symlink loop?)",
            errno.EACCES: "permission denied",
            errno.ENAMETOOLONG: "the file name is too long",
            errno.EISDIR: "it is a directory",
            errno.ENOTDIR: "a part of the path is not a directory",
        }.get(err.errno or 0, err.strerror or type(err).__name__)
        raise YamlError(f"cannot open the file: {reason}") from None


def _read_regular_file(fd: int, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of a regular file, checked with fstat before any read."""
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise YamlError("cannot read the file: it is a directory")
        if not stat.S_ISREG(info.st_mode):
            raise YamlError("cannot read the file: not a regular file (a FIFO, socket or device)")
        if info.st_size > max_bytes:
            raise YamlError(
                f"the file is {info.st_size} bytes; a config file has at most {max_bytes}"
            )
        chunks = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = os.read(fd, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as err:
        raise YamlError(f"cannot read the file: {err.strerror or err}") from None


class _BoundedComposer(Composer):
    """No anchors or aliases, and a depth limit."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlError(
                f"line {event.start_mark.line + 1}: more than {MAX_NODES} values in one file"
            )
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlError(
                f"line {event.start_mark.line + 1}: YAML anchors and aliases (&name, *name) "
                "are not supported: write each value out"
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlError(
                    f"line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _BoundedResolver(Resolver):
    """YAML 1.1 resolution without timestamps: a date-like value stays text."""


_BoundedResolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}

#: The tags a config (and a Helm values file) may hold.
_ALLOWED_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


class _BoundedConstructor(SafeConstructor):
    """Plain data only: duplicate keys, merge keys, odd tags and huge ints rejected."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag == "tag:yaml.org,2002:merge":
            raise YamlError(
                f"line {node.start_mark.line + 1}: merge keys (<<) are not supported: "
                "write each key out"
            )
        if node.tag not in _ALLOWED_TAGS:
            raise YamlError(
                f"line {node.start_mark.line + 1}: the tag {shown(node.tag, 80)} is not "
                "supported (plain text, numbers, booleans, lists and mappings only)"
            )
        return super().construct_object(node, deep=deep)

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(char.isdigit() for char in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise YamlError(
                f"line {node.start_mark.line + 1}: a number of {digits} digits "
                f"(at most {MAX_INT_DIGITS})"
            )
        return super().construct_yaml_int(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        mapping: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise YamlError(
                    f"line {line}: the key {shown(key, 80)} is not text "
                    "(quote it, e.g. 'on': or '1':)"
                )
            if key in first_line:
                raise YamlError(
                    f"line {line}: duplicate key {shown(key, 80)} (first at line "
                    f"{first_line[key]}); each key may appear once"
                )
            first_line[key] = line
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


_BoundedConstructor.add_constructor(  # type: ignore[type-var]
    "tag:yaml.org,2002:int", _BoundedConstructor.construct_yaml_int
)


class BoundedLoader(
    Reader, Scanner, Parser, _BoundedComposer, _BoundedConstructor, _BoundedResolver
):
    """Pure-Python safe loader with the bounds above (input is at most MAX_FILE_BYTES)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _BoundedConstructor.__init__(self)
        _BoundedResolver.__init__(self)


def parse_yaml(text: str) -> Any:
    """Plain data from one YAML document, or YamlError naming the line."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(f"the text has more than {MAX_FILE_BYTES} characters")
    loader: BoundedLoader | None = None
    try:
        loader = BoundedLoader(text)  # the reader already rejects unprintable characters
        return loader.get_single_data()
    except YamlError:
        raise
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = err.problem or err.context or "invalid YAML"
        raise YamlError(f"YAML syntax error at {where}{clip(problem)}") from None
    except yaml.YAMLError as err:
        raise YamlError(f"YAML syntax error: {clip(str(err))}") from None
    except (ValueError, OverflowError, RecursionError) as err:
        # A scalar the constructor could not convert (e.g. an odd float).
        raise YamlError(f"cannot read a value: {clip(str(err))}") from None
    finally:
        if loader is not None:
            loader.dispose()
