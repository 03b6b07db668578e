"""Default wording for SHACL results whose shape has no sh:message (German first, then English)."""

from __future__ import annotations

from .findings import Message

_DEFAULTS: dict[str, tuple[str, str]] = {
    "ClassConstraintComponent": ("Der Wert ist keine Instanz der Klasse {arg}", "value is not an instance of {arg}"),
    "DatatypeConstraintComponent": ("Der Wert hat nicht den Datentyp {arg} (oder ist ungültig)",
                                    "value does not have datatype {arg} (or is ill-formed)"),
    "NodeKindConstraintComponent": ("Der Wert ist nicht von der Art {arg}", "value is not of node kind {arg}"),
    "MinCountConstraintComponent": ("Zu wenige Werte (mindestens {arg})", "too few values (at least {arg})"),
    "MaxCountConstraintComponent": ("Zu viele Werte (höchstens {arg})", "too many values (at most {arg})"),
    "MinExclusiveConstraintComponent": ("Der Wert muss größer als {arg} sein", "value must be greater than {arg}"),
    "MinInclusiveConstraintComponent": ("Der Wert muss mindestens {arg} sein", "value must be at least {arg}"),
    "MaxExclusiveConstraintComponent": ("Der Wert muss kleiner als {arg} sein", "value must be less than {arg}"),
    "MaxInclusiveConstraintComponent": ("Der Wert darf höchstens {arg} sein", "value must be at most {arg}"),
    "MinLengthConstraintComponent": ("Der Wert ist kürzer als {arg} Zeichen", "value is shorter than {arg}"),
    "MaxLengthConstraintComponent": ("Der Wert ist länger als {arg} Zeichen", "value is longer than {arg}"),
    "PatternConstraintComponent": ("Der Wert passt nicht zum Muster {arg}", "value does not match pattern {arg}"),
    "LanguageInConstraintComponent": ("Die Sprache des Werts ist nicht erlaubt", "language tag not allowed"),
    "UniqueLangConstraintComponent": ("Mehrere Werte in derselben Sprache", "several values share a language"),
    "InConstraintComponent": ("Der Wert ist nicht in der erlaubten Liste", "value is not in the allowed list"),
    "HasValueConstraintComponent": ("Der geforderte Wert {arg} fehlt", "the required value {arg} is missing"),
    "NodeConstraintComponent": ("Der Wert erfüllt die Form {arg} nicht", "value does not conform to shape {arg}"),
    "NotConstraintComponent": ("Der Wert erfüllt eine ausgeschlossene Form", "value conforms to an excluded shape"),
    "AndConstraintComponent": ("Der Wert erfüllt nicht alle Formen", "value does not conform to all shapes"),
    "OrConstraintComponent": ("Der Wert erfüllt keine der erlaubten Formen", "value conforms to none of the shapes"),
    "XoneConstraintComponent": ("Der Wert erfüllt nicht genau eine Form", "value does not conform to exactly one"),
}


def default_message(component: str, argument: str = "") -> Message:
    de, en = _DEFAULTS.get(component, ("Verstoß gegen {arg}", "violates {arg}"))
    return Message(de.format(arg=argument), en.format(arg=argument))
