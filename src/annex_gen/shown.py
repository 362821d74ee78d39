"""Text from outside (certificate names, PDF metadata, file names) as it is shown: control characters escaped.

A signer's certificate can name itself "\\x1b]0;…" or carry a newline; printed raw, that moves a
terminal's cursor, rewrites its title or forges a line of output. `escaped` is the one function
that makes such text inert wherever it is shown: the terminal (each value, and every line the
command writes, see `EscapingStream`), the web pages (the templates' finalize) and log lines.
The stored data keeps the text as it was: it is evidence.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 and C1 controls, DEL, and the Unicode controls that reorder or hide text (bidirectional
# embeddings, overrides and isolates, the line and paragraph separators).
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escaped(text: Any, *, keep: str = "") -> str:
    """text with every control character written as a visible escape (\\x1b, \\u202e); keep names ones left as they are.

    A single-line value (a name) keeps nothing; a block of lines may keep "\\n" and "\\t".
    """
    text = str(text)
    if keep:
        return _CONTROL_RE.sub(lambda m: m.group() if m.group() in keep else _escape(m), text)
    return _CONTROL_RE.sub(_escape, text)


class EscapingStream:
    """A text stream escaping what it is given but newlines and tabs: nothing written can drive the terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escaped(text, keep="\n\t"))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, buffer, isatty, encoding...
        return getattr(self._stream, name)
