"""Output files, written so that an interrupted run leaves nothing half-written.

A file is written under a temporary name in its folder and renamed; a folder
of files is built beside its target and swapped in whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from analytic import SuperlossError


def umask() -> int:
    """The process's file-creation mask (reading it means setting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic(path: str | os.PathLike, binary: bool = False):
    """A file handle for ``path``, really a temporary file in the same folder that
    is renamed to ``path`` when the block ends without an error, and removed
    otherwise: a reader never sees half a file.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic(folder / "a.txt") as handle:
    ...     _ = handle.write("done")
    >>> (folder / "a.txt").read_text(), len(list(folder.iterdir()))
    ('done', 1)
    """
    path = Path(path)
    if not path.name:
        raise SuperlossError("an output file name is empty")
    if path.is_dir():
        raise SuperlossError(f"cannot write {path}: it is a folder")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SuperlossError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SuperlossError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            yield handle
        os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise SuperlossError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (:func:`atomic`)."""
    with atomic(path) as handle:
        handle.write(text)


def output_folder(out: str | None, force: bool, kind: str) -> Path:
    """The folder to write, checked before any work is done: ``out``, or a new
    dated ``superloss-{kind}-...`` folder; a non-empty ``out`` only with ``force``."""
    if out is None:
        base = f"superloss-{kind}-{datetime.now():%Y%m%d-%H%M%S}"
        path, k = Path(base), 1
        while path.exists():
            k += 1
            path = Path(f"{base}-{k}")
        return path
    path = Path(out)
    if not path.name:
        raise SuperlossError("--out is empty")
    if path.exists() and not path.is_dir():
        raise SuperlossError(f"--out {out}: exists and is not a folder")
    if not path.parent.is_dir():
        raise SuperlossError(f"--out {out}: folder {path.parent} does not exist")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise SuperlossError(f"--out {out}: folder is not empty (use --force to replace it)")
    return path


@contextmanager
def staged_folder(folder: Path):
    """A temporary sibling of ``folder`` to fill; when the block ends without an
    error it is swapped in whole (an old ``folder`` goes), else removed: an
    interrupted run leaves the old folder (or none), never half of one."""
    parent = folder.parent if str(folder.parent) else Path(".")
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}."))
        tmp.chmod(0o777 & ~umask())  # mkdtemp makes it private; the output is not
    except OSError as exc:
        raise SuperlossError(f"cannot write {folder}: {exc.strerror or exc}") from None
    try:
        yield tmp
        old = None
        if folder.exists():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}.old."))
            os.replace(folder, old / folder.name)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old)
    except OSError as exc:
        raise SuperlossError(f"cannot write {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
