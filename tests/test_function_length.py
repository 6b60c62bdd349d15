"""No function in the project's own (non-test) code is longer than 120 lines.

Issue 18, item 2. Measured with ast, as end_lineno - lineno + 1 of every
FunctionDef and AsyncFunctionDef (nested ones and methods included): the
`def` line through the last line of the body; decorators are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.variants import ROOT

#: The non-test code: files and packages (searched recursively).
SOURCES = (
    "main.py",
    "platform_config",
    "platform_builders",
    "platform_constructs",
    "platform_services",
    "stacks",
    "bench",
    "tools",
)
MAX_LINES = 120


def _python_files() -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def function_lengths(path: Path) -> list[tuple[str, int]]:
    """(qualified name, lines) of every function in a file, nested ones included."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                found.append((name, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(), str(path)), "")
    return found


def test_the_sources_are_found() -> None:
    files = _python_files()
    assert ROOT / "main.py" in files
    for name in SOURCES[1:]:
        assert any(f.is_relative_to(ROOT / name) for f in files), name


def test_the_measure_counts_def_through_last_line(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "@decorator\n"
        "def outer():\n"
        "    def inner():\n"
        "        return 1\n"
        "\n"
        "    return inner\n"
        "\n"
        "class C:\n"
        "    async def method(self):\n"
        "        pass\n"
    )
    assert function_lengths(source) == [("outer", 5), ("outer.inner", 2), ("C.method", 2)]


def test_no_function_is_longer_than_120_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}: {name} ({lines} lines)"
        for path in _python_files()
        for name, lines in function_lengths(path)
        if lines > MAX_LINES
    ]
    assert not too_long, f"functions over {MAX_LINES} lines:\n" + "\n".join(too_long)
