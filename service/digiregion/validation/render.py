"""Renderers for validation reports: human text, a stable JSON document, GitHub annotations."""

from __future__ import annotations

import json

from .findings import Finding, Report, Severity

JSON_SCHEMA_VERSION = "1.0"


def render(report: Report, output_format: str, lang: str = "de") -> str:
    if output_format == "json":
        return render_json(report, lang)
    if output_format == "github":
        return render_github(report, lang)
    return render_text(report, lang)


def _place(finding: Finding) -> str:
    if not finding.file:
        return ""
    place = finding.file
    if finding.line:
        place += f":{finding.line}"
        if finding.column:
            place += f":{finding.column}"
    return place + ": "


def render_text(report: Report, lang: str) -> str:
    lines = []
    for f in report.sorted_findings():
        severity = f.severity.label_de if lang == "de" else f.severity.value
        details = []
        if f.focus:
            details.append(f"{'Ressource' if lang == 'de' else 'focus'} <{f.focus}>" if not f.focus.startswith("_:")
                           else f"{'Ressource' if lang == 'de' else 'focus'} {f.focus}")
        if f.path:
            details.append(f"{'Eigenschaft' if lang == 'de' else 'path'} <{f.path}>")
        if f.value:
            details.append(f"{'Wert' if lang == 'de' else 'value'} {f.value}")
        suffix = f" [{'; '.join(details)}]" if details else ""
        lines.append(f"{_place(f)}{severity}: {f.message.text(lang)}{suffix}")
    lines.append(summary(report, lang))
    return "\n".join(lines) + "\n"


def summary(report: Report, lang: str) -> str:
    errors, violations, warnings = (report.count(Severity.ERROR), report.count(Severity.VIOLATION),
                                    report.count(Severity.WARNING))
    if lang == "de":
        verdict = "konform" if report.conforms else "nicht konform"
        return (f"{len(report.files)} Datei(en), {report.triples} Tripel: {verdict} — "
                f"{errors} Fehler, {violations} Verstöße, {warnings} Warnungen")
    verdict = "conforms" if report.conforms else "does not conform"
    return (f"{len(report.files)} file(s), {report.triples} triples: {verdict} — "
            f"{errors} errors, {violations} violations, {warnings} warnings")


def finding_to_json(f: Finding, lang: str) -> dict:
    return {
        "severity": f.severity.value,
        "code": f.code,
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "focusNode": f.focus,
        "resultPath": f.path,
        "value": f.value,
        "sourceShape": f.shape,
        "message": f.message.text(lang),
        "messages": {"de": f.message.de, "en": f.message.en},
    }


def render_json(report: Report, lang: str) -> str:
    document = {
        "schemaVersion": JSON_SCHEMA_VERSION,
        "conforms": report.conforms,
        "exitCode": report.exit_code,
        "engine": report.engine,
        "files": report.files,
        "triples": report.triples,
        "summary": {s.value: report.count(s) for s in Severity},
        "findings": [finding_to_json(f, lang) for f in report.sorted_findings()],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report, lang: str) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""
    command = {Severity.ERROR: "error", Severity.VIOLATION: "error", Severity.WARNING: "warning",
               Severity.INFO: "notice"}
    lines = []
    for f in report.sorted_findings():
        props = []
        if f.file:
            props.append(f"file={_escape_property(f.file)}")
        if f.line:
            props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
        props.append(f"title={_escape_property('digiregion ' + f.code)}")
        text = f.message.text(lang)
        if f.focus:
            text += f" ({f.focus}"
            text += f", {f.path}" if f.path else ""
            text += f", {f.value})" if f.value else ")"
        lines.append(f"::{command[f.severity]} {','.join(props)}::{_escape_data(text)}")
    lines.append(summary(report, lang))
    return "\n".join(lines) + "\n"
