"""Nothing is written outside the cache folder while the library meets the adversarial corpus (issue 12).

The worker child runs one call of every input path under ``strace -f`` (every ``openat`` for writing,
``creat``, ``rename*``, ``unlink*``, ``mkdir*`` of it and its threads), or, where strace is not
installed, with an audit hook on ``open``/``os.rename``/``os.remove``; every path written must lie in
``INTERP_CORE_HOME``."""
from __future__ import annotations

import os
import re
import shutil

from tests.data import fixtures_real as fx
from tests.hardening import corpus
from tests.hardening.worker import Worker

_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
_STRACE_PATH = re.compile(r'^(?:\[pid\s+\d+\]\s+|\d+\s+)?(\w+)\((?:(?:AT_FDCWD|\d+|-\d+),\s*)?"([^"]*)"(?:,\s*([^,)]*))?')


def _exercise(worker: Worker, tmp_path) -> None:
    tmp_path.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "upload.jpg"
    upload.write_bytes(corpus.many_scans_jpeg())
    worker.call("upload_image", path=str(upload), name="scans.jpg")
    sound = tmp_path / "stream.flac"
    sound.write_bytes(corpus.flac_without_length())
    worker.call("upload_audio", path=str(sound), name="stream.flac")
    cub = corpus.cub_tree(tmp_path / "cub")
    worker.call("load_real", kind="cub", root=str(tmp_path / "cub"), split="train", image_size=16)
    corpus.mkfifo(corpus.cub_first_image(cub))
    worker.call("check_folder", kind="cub", root=str(tmp_path / "cub"))
    folder = corpus.image_folder(tmp_path / "if")
    (folder / "cat" / "bomb.png").write_bytes(corpus.text_chunk_bomb_png())
    worker.call("load_real", kind="imagefolder", root=str(folder), split=None, image_size=16)
    esc = corpus.esc50_tree(tmp_path / "esc")
    corpus.esc50_first_clip(esc).write_bytes(corpus.unfinished_wav())
    worker.call("load_real", kind="esc50", root=str(esc), split="train")
    fx.make_cifar10(tmp_path / "cifar")
    worker.call("load_real", kind="cifar10", root=str(tmp_path / "cifar"), split="test")
    (tmp_path / "m.json").write_bytes(corpus.nested_json())
    worker.call("read_metadata", stem=str(tmp_path / "m"))
    worker.call("catalog", home=str(worker.home), recipe="cnn-digits")


def _written_by_strace(log) -> list[str]:
    written = []
    for line in log.read_text().splitlines():
        found = _STRACE_PATH.match(line)
        if not found or "= -1" in line:
            continue
        call, path = found.group(1), found.group(2)
        if call in ("openat", "open"):
            if any(flag in line for flag in _WRITE_FLAGS):
                written.append(path)
        elif call.startswith("rename"):
            written.extend(re.findall(r'"([^"]*)"', line))  # source and destination
        elif call.startswith(("creat", "unlink", "mkdir", "rmdir")):
            written.append(path)
    return written


def _allowed(path: str, home) -> bool:
    real = os.path.realpath(path)
    return real.startswith(os.path.realpath(home) + os.sep) or real == os.path.realpath(home) or real in ("/dev/null", "/dev/tty")


def test_nothing_is_written_outside_the_cache_folder(tmp_path):
    home = tmp_path / "home"
    log = tmp_path / "trace.log"
    strace = shutil.which("strace")
    if strace:
        prefix = (strace, "-f", "-qq", "-e", "trace=open,openat,creat,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir",
                  "-o", str(log))
        worker = Worker(home, prefix, HARDENING_NO_CLEAR_REFS="1")
    else:
        worker = Worker(home, (), HARDENING_NO_CLEAR_REFS="1", HARDENING_AUDIT_LOG=str(log))
    try:
        _exercise(worker, tmp_path / "corpus")
    finally:
        worker.close()
    written = _written_by_strace(log) if strace else [line.split(" ", 1)[1] for line in log.read_text().splitlines() if line]
    # The trace does see writes: the catalog creates the cache folder itself.
    assert any(_allowed(path, home) and str(home) in path for path in written), written[:20]
    outside = sorted({path for path in written if not _allowed(path, home)})
    assert outside == [], outside
