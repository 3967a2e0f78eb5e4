"""Building Swift source text."""

from __future__ import annotations

from typing import List


# --------------------------------------------------------------------------
# Swift code writer
# --------------------------------------------------------------------------


class Writer:
    def __init__(self):
        self.lines: List[str] = []
        self.level = 0

    def __call__(self, line: str = ""):
        self.lines.append(("    " * self.level + line) if line else "")

    def extend(self, lines: List[str]):
        self.lines.extend(lines)

    def indent(self):
        self.level += 1

    def dedent(self):
        self.level -= 1

    @property
    def pad(self) -> str:
        return "    " * self.level

    def text(self) -> str:
        # No trailing blank lines, exactly one final newline.
        while self.lines and not self.lines[-1]:
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


def swift_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def byte_literal(data: bytes, pad: str) -> str:
    if not data:
        return "[]"
    rows = []
    for i in range(0, len(data), 16):
        rows.append(", ".join(f"0x{b:02x}" for b in data[i:i + 16]))
    inner = (",\n" + pad + "    ").join(rows)
    return "[\n" + pad + "    " + inner + ",\n" + pad + "]"
