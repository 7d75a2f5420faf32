"""The console's words: gates pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
