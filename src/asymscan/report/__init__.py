"""Reports: result files written atomically, and plots."""

from __future__ import annotations

from ..files import atomic_path, write_json

__all__ = ("atomic_path", "write_json")
