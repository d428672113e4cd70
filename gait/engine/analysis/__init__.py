"""Static analysis of compiled decision tables: ``policy lint`` and ``policy diff``."""
