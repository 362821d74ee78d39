"""One error hierarchy for the library; the CLI maps it to messages and exit codes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input file, located like a compiler message."""

    file: str
    line: int | None
    col: int | None
    key: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {prefix}{self.message}"


class AnnexGenError(Exception):
    """Base of every error annex-gen raises on purpose."""

    exit_code = 1


@dataclass
class InvalidInput(AnnexGenError):
    """One or more input files are invalid; every problem found is listed."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(d) for d in self.diagnostics)


class UsageError(AnnexGenError):
    """The command was asked for something it cannot do (bad option value, missing file)."""

    exit_code = 2


class OutputError(AnnexGenError):
    """An output could not be written."""
