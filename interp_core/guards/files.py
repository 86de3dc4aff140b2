"""Reading files without being fooled by them (torch-free).

Only regular files are opened: a named pipe, a device, a socket or a symlink to one is refused from
its ``stat``, before any read; symlink loops are refused by the kernel's ``ELOOP``. The size is checked
before reading or hashing, and reads stop at the limit even if the file grows meanwhile. Opening uses
``O_NONBLOCK`` and re-checks ``fstat`` on the descriptor, so a pipe swapped in between the check and the
open cannot hang the reader either.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from typing import IO, Iterator

from interp_core.guards import limits
from interp_core.guards.messages import GuardError, size_refusal

_KINDS = {stat.S_IFIFO: "a named pipe", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def _kind_of(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _check_regular(name: str, info: os.stat_result, max_bytes: int | None, what: str) -> None:
    """Refuse what ``info`` (a ``stat`` or ``fstat``) shows is not a regular file of at most ``max_bytes``."""
    if not stat.S_ISREG(info.st_mode):
        raise GuardError(f"{name} is {_kind_of(info.st_mode)}, not a regular file; it is not read.")
    if max_bytes is not None and info.st_size > max_bytes:
        raise GuardError(size_refusal(name, info.st_size, max_bytes, what))


def regular_file(path: str | os.PathLike, max_bytes: int | None = None, what: str = "files") -> os.stat_result:
    """``stat`` of ``path`` if it is (or links to) a regular file of at most ``max_bytes``; else
    :class:`GuardError`. Nothing is opened: a named pipe or a device is judged from its ``stat``."""
    name = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise GuardError(f"{name} does not exist (or is a symbolic link to nothing).") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise GuardError(f"{name} is a symbolic link loop.") from None
        raise GuardError(f"{name} cannot be read ({err.strerror}).") from None
    _check_regular(name, info, max_bytes, what)
    return info


@contextlib.contextmanager
def open_regular(path: str | os.PathLike, max_bytes: int | None = None, what: str = "files") -> Iterator[tuple[IO[bytes], int]]:
    """``(binary file, size in bytes)`` of a regular file checked as in :func:`regular_file`, rechecked on
    the open descriptor (a pipe swapped in after the check cannot block: the open does not wait)."""
    regular_file(path, max_bytes, what)
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise GuardError(f"{name} cannot be opened ({err.strerror}).") from None
    try:
        info = os.fstat(fd)
        _check_regular(name, info, max_bytes, what)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, info.st_size


def read_limited(path: str | os.PathLike, max_bytes: int, what: str = "files") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (the read stops there if it grew)."""
    with open_regular(path, max_bytes, what) as (handle, _):
        try:
            data = handle.read(max_bytes + 1)
        except OSError as err:
            raise GuardError(f"{path} cannot be read ({err.strerror}).") from None
    if len(data) > max_bytes:
        raise GuardError(size_refusal(str(path), len(data), max_bytes, what))
    return data


def sha256_file(path: str | os.PathLike, max_bytes: int, what: str = "files") -> str:
    """SHA-256 hex digest of a regular file, checked for its size first; hashes at most its size at the
    check (a file growing meanwhile is refused), so hashing always ends."""
    digest = hashlib.sha256()
    with open_regular(path, max_bytes, what) as (handle, size):
        left = size
        while left > 0:
            chunk = handle.read(min(1 << 20, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        if handle.read(1):
            raise GuardError(f"{path} changed while it was read; try again.")
    return digest.hexdigest()


def read_text(path: str | os.PathLike, max_bytes: int | None = None, errors: str = "strict") -> str:
    """A UTF-8 text file of at most ``max_bytes`` (default ``MAX_INDEX_FILE_BYTES``; a byte-order mark is
    dropped); non-UTF-8 bytes are refused with their offset."""
    data = read_limited(path, limits.MAX_INDEX_FILE_BYTES if max_bytes is None else max_bytes, "index files")
    try:
        return data.decode("utf-8-sig", errors=errors)
    except UnicodeDecodeError as err:
        raise GuardError(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); save it as UTF-8."
        ) from None
