"""The one check of ``--profile`` and ``--key-mode`` values shared by every surface.

Values are case-sensitive (trace.md §2.1, §5.2): ``OSS-PROD`` or ``PROD`` are
errors (exit 6), never silently lowercased, so each command accepts exactly
what ``gate eval`` accepts and says so in the same words.
"""

from __future__ import annotations

from gait.errors import InvalidInput

__all__ = ["KEY_MODES", "PROFILES", "check_key_mode", "check_profile"]

PROFILES = ("standard", "oss-prod")
KEY_MODES = ("dev", "prod")


def check_profile(value: str, flag: str = "--profile") -> str:
    """The profile, trimmed; anything but ``standard`` / ``oss-prod`` is InvalidInput."""
    profile = value.strip()
    if profile not in PROFILES:
        raise InvalidInput(f'unsupported {flag} value "{profile}" (expected standard or oss-prod)')
    return profile


def check_key_mode(value: str) -> str:
    """The key mode, trimmed; anything but ``dev`` / ``prod`` is InvalidInput (trace.md §2.1)."""
    mode = value.strip()
    if mode not in KEY_MODES:
        raise InvalidInput(f'unsupported key mode: "{mode}"')
    return mode
