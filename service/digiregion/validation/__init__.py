"""Validation of contributions: parsing with positions, SHACL shapes, cross-file checks, reports.

``runner.run_validation`` is the entry point; the other modules each do one step and know nothing
about the command line.
"""
