"""Signed registry packs: install a manifest into a local pinned cache, list it, verify it.

Formats and rules: docs/registry.md. The CLI is ``gait registry install|list|verify``.
"""

from __future__ import annotations

from gait.registry.install import InstallResult, install, resolve_cache_dir
from gait.registry.manifest import RegistryError, parse_manifest, signable_digest
from gait.registry.query import VerifyResult, list_packs, verification_report, verify_manifest

__all__ = [
    "InstallResult",
    "RegistryError",
    "VerifyResult",
    "install",
    "list_packs",
    "parse_manifest",
    "resolve_cache_dir",
    "signable_digest",
    "verification_report",
    "verify_manifest",
]
