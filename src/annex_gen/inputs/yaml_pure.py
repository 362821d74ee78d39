"""ruamel's pure YAML parser, for the files libyaml's fast path leaves (see yamlio): imported only then.

Its located messages are what every YAML error reports.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

from annex_gen.errors import Diagnostic, InvalidInput

__all__ = ["MappingNode", "ScalarNode", "SequenceNode", "compose"]


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


_HINTS = {
    "found character '\\t'": "; indent with spaces, not tabs",
    "mapping values are not allowed here": "; put quotes around a value that contains ': '",
}


_UNCLOSED = (("quoted scalar", "a quoted value", "quote"), ("flow sequence", "a list", "']'"),
             ("flow mapping", "a mapping", "'}'"))


def _hint(problem: str) -> str:
    """A suggestion for the parser's most common complaints."""
    return next((hint for text, hint in _HINTS.items() if text in problem), "")


class _DepthLimitedComposer(Composer):
    """Refuses nesting beyond `limit` as soon as the parser reaches it.

    The scanner's cost grows with the square of the flow nesting depth, so a few kilobytes
    of '[' would otherwise take seconds to reach the recursion limit.
    """

    level = 0
    limit = 64

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.level > self.limit:
            raise _TooDeep(self.parser.peek_event().start_mark)
        self.level += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.level -= 1


def compose(text: str, path: str, max_depth: int) -> Any:
    """The node tree from ruamel's pure parser, nested at most max_depth deep; raise InvalidInput with its
    located message."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = type("Composer", (_DepthLimitedComposer,), {"limit": max_depth})
    try:
        node = yaml.compose(text)
    except _TooDeep as exc:
        line, col = exc.mark.line + 1, exc.mark.column + 1
        message = f"nested deeper than {max_depth} levels"
        raise InvalidInput([Diagnostic(path, line, col, "", message, code="yaml.too_deep")]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "invalid YAML") + _hint(exc.problem or "")
        if exc.context and problem.startswith("but "):
            # e.g. "expected a single document in the stream, but found another document"
            problem = f"{exc.context}, {problem}"
        unclosed = next(((what, closer) for context, what, closer in _UNCLOSED if context in (exc.context or "")),
                        None)
        ended = "end of stream" in (exc.problem or "") or "<stream end>" in (exc.problem or "")
        if exc.context_mark and ended:
            # the file ends inside something never closed: point where it starts, not past the last line
            mark = exc.context_mark
            problem = (f"{unclosed[0]} starts here and is never closed; add the closing {unclosed[1]}" if unclosed
                       else f"{exc.context}, {exc.problem}")
        elif exc.context_mark and exc.problem_mark and unclosed and (exc.problem or "").startswith("expected ','"):
            # a [ or { left open, and more of the file after it: point at the opening, say where it stopped
            mark, stopped = exc.context_mark, exc.problem_mark.line + 1
            problem = (f"{unclosed[0]} starts here and is not closed before line {stopped}; add the closing "
                       f"{unclosed[1]}")
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise InvalidInput([Diagnostic(path, line, col, "", f"invalid YAML: {problem}", code="yaml.invalid",
                                       params={"line": line})]) from None
    except YAMLError as exc:
        raise InvalidInput([Diagnostic(path, None, None, "", f"invalid YAML: {exc}", code="yaml.unreadable")]) from None
    except RecursionError:
        raise InvalidInput([Diagnostic(path, None, None, "", "invalid YAML: nested too deeply",
                                       code="yaml.too_deep")]) from None
    if node is None:
        raise InvalidInput([Diagnostic(path, 1, 1, "", "the file is empty; expected a mapping", code="file.empty")])
    return node
