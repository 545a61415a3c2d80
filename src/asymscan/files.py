"""Writing files atomically, so an interrupted run never leaves a half-written file (used by
every layer that writes: checkpoints, PYTHIA pools, scan results, reports)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ("atomic_path", "write_json")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp creates the file with mode 0600; give it the usual permissions.
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _standard(obj: Any) -> Any:
    """``obj`` with NaN and infinities (which standard JSON lacks) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _standard(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_standard(v) for v in obj]
    return obj


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented standard JSON, atomically; NaN and infinities become null."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_standard(data), indent=2, allow_nan=False) + "\n")
    return Path(path)
