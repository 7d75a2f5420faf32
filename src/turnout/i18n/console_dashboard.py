"""The console's words: dashboard pages (see docs/glossary.md)."""

CATALOG: dict[str, dict[str, str]] = {}
