"""What the validator reports: findings with a place, a severity and a bilingual message.

A finding is plain data so every renderer (text, JSON, GitHub annotations) and every engine
(the fast one and the pyshacl reference) speak the same language, and tests can compare engines
finding by finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """Ordered from worst to mildest; ``error`` means the input itself could not be read."""

    ERROR = "error"
    VIOLATION = "violation"
    WARNING = "warning"
    INFO = "info"

    @property
    def label_de(self) -> str:
        return {"error": "Fehler", "violation": "Verstoß", "warning": "Warnung", "info": "Hinweis"}[self.value]


SHACL_SEVERITIES = {
    "http://www.w3.org/ns/shacl#Violation": Severity.VIOLATION,
    "http://www.w3.org/ns/shacl#Warning": Severity.WARNING,
    "http://www.w3.org/ns/shacl#Info": Severity.INFO,
}


@dataclass(frozen=True)
class Message:
    de: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    """``shacl:<ConstraintComponent>``, ``syntax``, ``io``, ``empty-file``, ``duplicate-resource``,
    ``undefined-link`` or ``literal-for-iri``."""
    message: Message
    file: str | None = None
    line: int | None = None
    column: int | None = None
    focus: str | None = None
    path: str | None = None
    value: str | None = None
    shape: str | None = None

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.column or 0, self.code, self.focus or "",
                self.path or "", self.value or "")

    def identity(self) -> tuple:
        """What makes two findings 'the same' when comparing engines (place and wording aside)."""
        return (self.severity.value, self.code, self.focus, self.path, self.value, self.shape)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    triples: int = 0
    engine: str = "fast"

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def conforms(self) -> bool:
        return not any(f.severity in (Severity.ERROR, Severity.VIOLATION) for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 conforms (warnings allowed), 1 violations, 2 unreadable or unparseable input."""
        if any(f.severity is Severity.ERROR for f in self.findings):
            return 2
        return 0 if self.conforms else 1

    def sorted_findings(self) -> list[Finding]:
        order = {s: i for i, s in enumerate(Severity)}
        return sorted(self.findings, key=lambda f: (f.sort_key(), order[f.severity]))
