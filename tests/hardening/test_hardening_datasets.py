"""Adversarial real-dataset folders (issue 12): CUB, ImageFolder, ESC-50, MNIST, CIFAR-10, STL-10.

Each failure class gets DatasetFormatError naming the file (or, where the loader skips bad files, a
warning naming it and the rest loaded), within 2 s and 200 MB in a limited child process."""
from __future__ import annotations

import gzip
import os
import struct

import pytest

from tests.data import fixtures_real as fx
from tests.hardening import corpus
from tests.hardening.worker import loaded, refused

FORMAT_ERROR = "interp_core.data.base.DatasetFormatError"

# ---------------------------------------------------------------- images: CUB and ImageFolder

IMAGE_CLASSES = {
    "scans": (lambda: corpus.many_scans_jpeg(), "scans"),
    "text-chunk": (corpus.text_chunk_bomb_png, "cannot be decoded"),
    "pixel-limit": (lambda: corpus.bilevel_png(8000, 6000), "8000×6000 pixels"),
    "fifo": (None, "named pipe"),
}


def _plant(path, case: str) -> None:
    make, _ = IMAGE_CLASSES[case]
    if make is None:
        corpus.mkfifo(path)
    else:
        path.write_bytes(make())


@pytest.mark.parametrize("case", sorted(IMAGE_CLASSES))
def test_cub_image_classes_are_refused_naming_the_file(worker, tmp_path, case):
    cub = corpus.cub_tree(tmp_path)
    bad = corpus.cub_first_image(cub)
    _plant(bad, case)
    message = refused(worker.call("load_real", kind="cub", root=str(tmp_path), split="train", image_size=16),
                      FORMAT_ERROR, IMAGE_CLASSES[case][1])
    assert bad.name in message


@pytest.mark.parametrize("case", sorted(IMAGE_CLASSES))
def test_image_folder_skips_each_bad_image_with_a_warning(worker, tmp_path, case):
    root = corpus.image_folder(tmp_path / "if")
    bad = root / "cat" / "img_0.png"
    _plant(bad, case)
    result = loaded(worker.call("load_real", kind="imagefolder", root=str(root), split=None, image_size=16))
    assert result["n"] == 5
    assert any(str(bad) in w and IMAGE_CLASSES[case][1] in w for w in result["warnings"]), result["warnings"]


def test_image_folder_symlink_loop_counts_each_file_once(worker, tmp_path):
    root = corpus.image_folder(tmp_path / "if")
    os.symlink("..", root / "cat" / "loop")  # cat/loop -> if/, which holds cat/ again
    os.symlink(root / "dog" / "img_0.png", root / "dog" / "again.png")
    os.symlink("b.png", root / "dog" / "a.png")
    os.symlink("a.png", root / "dog" / "b.png")
    result = loaded(worker.call("load_real", kind="imagefolder", root=str(root), split=None, image_size=16))
    # 6 images once each; the link loop between a.png and b.png is skipped with a warning
    assert result["n"] == 6
    assert any("symbolic link loop" in w for w in result["warnings"]), result["warnings"]


def test_cub_huge_and_negative_ids_are_refused_without_allocating(worker, tmp_path):
    cub = corpus.cub_tree(tmp_path)
    labels = cub / "attributes" / "image_attribute_labels.txt"
    labels.write_text(labels.read_text() + "1000000000000 1 1 3 1.0\n")
    refused(worker.call("load_real", kind="cub", root=str(tmp_path), split="train", image_size=16),
            FORMAT_ERROR, "image id 1000000000000", "images.txt")
    labels.write_text(labels.read_text().replace("1000000000000 1", "-5 1"))
    refused(worker.call("load_real", kind="cub", root=str(tmp_path), split="train", image_size=16), FORMAT_ERROR, "-5")
    images = cub / "images.txt"
    images.write_text(images.read_text() + "99999999999999999999 x/y.jpg\n")
    refused(worker.call("load_real", kind="cub", root=str(tmp_path), split="train", image_size=16),
            FORMAT_ERROR, "images.txt", "outside")


def test_cub_path_outside_the_images_folder_is_refused(worker, tmp_path):
    cub = corpus.cub_tree(tmp_path)
    images = cub / "images.txt"
    lines = images.read_text().splitlines()
    lines[0] = "1 ../../../../../../dev/zero"
    images.write_text("\n".join(lines) + "\n")
    refused(worker.call("load_real", kind="cub", root=str(tmp_path), split="train", image_size=16),
            FORMAT_ERROR, "not a path inside")


# ---------------------------------------------------------------- ESC-50

def test_esc50_csv_that_is_not_utf8_names_the_file(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    csv_path = root / "meta" / "esc50.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"rain", "pluie d'\u00e9t\u00e9".encode("latin-1")))
    refused(worker.call("load_real", kind="esc50", root=str(root), split="train"), FORMAT_ERROR, "esc50.csv", "not UTF-8")


def test_esc50_huge_target_and_path_filename_are_refused(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    csv_path = root / "meta" / "esc50.csv"
    original = csv_path.read_text()
    csv_path.write_text(original.replace(",1,rain,", ",1000000000000,rain,"))
    refused(worker.call("load_real", kind="esc50", root=str(root), split="train"), FORMAT_ERROR, "target", "outside")
    first = corpus.esc50_first_clip(root).name
    csv_path.write_text(original.replace(first, "../../etc/passwd", 1))
    refused(worker.call("load_real", kind="esc50", root=str(root), split="train"), FORMAT_ERROR, "not a plain file name")


def test_esc50_clip_claiming_one_hertz_is_refused(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    clip = corpus.esc50_first_clip(root)
    clip.write_bytes(corpus.one_hertz_wav())
    refused(worker.call("load_real", kind="esc50", root=str(root), split="train"), FORMAT_ERROR, clip.name, "1 Hz")


def test_esc50_hour_long_clip_is_read_only_as_far_as_the_clip_goes(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    clip = corpus.esc50_first_clip(root)
    size = 3600 * 44100 * 2  # one hour of 44.1 kHz int16, sparse on disk
    corpus.sparse_file(clip, corpus.wav_header(44100, 1, size) + corpus.tone_pcm16(1.0, 44100), 44 + size)
    result = loaded(worker.call("load_real", kind="esc50", root=str(root), split="train"))
    assert result["n"] == 3 and result["shape"] == [3, 80000]


def test_esc50_named_pipe_clip_is_refused(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    clip = corpus.esc50_first_clip(root)
    corpus.mkfifo(clip)
    refused(worker.call("load_real", kind="esc50", root=str(root), split="train"), FORMAT_ERROR, "named pipe")


@pytest.mark.parametrize("make", ["unfinished_wav", "flac_without_length"])
def test_esc50_streams_without_a_length_load(worker, tmp_path, make):
    root = corpus.esc50_tree(tmp_path)
    clip = corpus.esc50_first_clip(root)
    clip.write_bytes(getattr(corpus, make)(1.0, 16000))
    result = loaded(worker.call("load_real", kind="esc50", root=str(root), split="train"))
    assert result["n"] == 3


# ---------------------------------------------------------------- MNIST, CIFAR-10, STL-10

def test_idx_header_whose_dimension_product_overflows_is_refused(worker, tmp_path):
    fx.make_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    # 2**32-1 cubed wraps around in 64-bit arithmetic; as Python integers it is simply far too large.
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(64))
    refused(worker.call("load_real", kind="mnist", root=str(tmp_path), split="train"), FORMAT_ERROR, "declares shape")


def test_gzipped_idx_bomb_stops_at_its_declared_size(worker, tmp_path):
    fx.make_mnist(tmp_path, gz=True)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=1) as fh:  # declares 12 images but inflates to 256 MB
        fh.write(bytes([0, 0, 8, 3]) + struct.pack(">III", 12, 28, 28))
        block = bytes(1 << 20)
        for _ in range(256):
            fh.write(block)
    assert path.stat().st_size < 2_000_000
    refused(worker.call("load_real", kind="mnist", root=str(tmp_path), split="train"), FORMAT_ERROR, "holds more")


def test_cifar_pickle_declaring_a_gigantic_byte_string_is_refused(worker, tmp_path):
    fx.make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(corpus.giant_bytes_pickle())
    refused(worker.call("load_real", kind="cifar10", root=str(tmp_path), split="test"), FORMAT_ERROR, "test_batch")


def test_stl10_named_pipe_is_refused(worker, tmp_path):
    fx.make_stl10(tmp_path)
    corpus.mkfifo(tmp_path / "stl10_binary" / "test_X.bin")
    refused(worker.call("load_real", kind="stl10", root=str(tmp_path), split="test"), FORMAT_ERROR, "named pipe")


# ---------------------------------------------------------------- check-folder

def test_check_folder_lists_every_problem_of_an_image_folder(worker, tmp_path):
    root = corpus.image_folder(tmp_path / "if")
    for case, name in zip(sorted(IMAGE_CLASSES), ("a.jpg", "b.png", "c.png", "d.jpg")):
        _plant(root / "cat" / name, case)
    os.symlink("..", root / "dog" / "loop")
    report = loaded(worker.call("check_folder", kind="imagefolder", root=str(root)))
    assert not report["ok"] and report["errors"] == 4, report
    assert {p["path"].rsplit("/", 1)[-1] for p in report["problems"] if p["severity"] == "error"} == {"a.jpg", "b.png", "c.png", "d.jpg"}
    assert any("loop" in p["message"] or "already read" in p["message"] for p in report["problems"])


def test_check_folder_lists_every_problem_of_cub(worker, tmp_path):
    cub = corpus.cub_tree(tmp_path)
    corpus.mkfifo(corpus.cub_first_image(cub))
    (cub / "image_class_labels.txt").write_text((cub / "image_class_labels.txt").read_text() + "123456 1\nx 1\n")
    (cub / "train_test_split.txt").write_bytes((cub / "train_test_split.txt").read_bytes().replace(b"2 0", b"2 7"))
    report = loaded(worker.call("check_folder", kind="cub", root=str(tmp_path)))
    messages = " | ".join(p["message"] for p in report["problems"])
    assert not report["ok"] and report["errors"] >= 4, report
    for needle in ("named pipe", "123456 is not listed in images.txt", "'x' is not an integer", "must be 0 or 1"):
        assert needle in messages, (needle, messages)


def test_check_folder_lists_every_problem_of_esc50(worker, tmp_path):
    root = corpus.esc50_tree(tmp_path)
    clip = corpus.esc50_first_clip(root)
    clip.write_bytes(corpus.one_hertz_wav())
    csv_path = root / "meta" / "esc50.csv"
    csv_path.write_text(csv_path.read_text() + "missing.wav,1,3,wind,False,1,A\nx.wav,9,3,wind,False,1,A\n")
    (root / "audio" / "stray.wav").write_bytes(corpus.unfinished_wav(0.1))
    report = loaded(worker.call("check_folder", kind="esc50", root=str(root)))
    messages = " | ".join(p["message"] for p in report["problems"])
    assert report["errors"] == 3 and report["warnings"] == 1, report
    for needle in ("1 Hz", "missing", "fold", "not listed in meta/esc50.csv"):
        assert needle in messages, (needle, messages)


def test_check_folder_command_prints_json_and_exit_status(tmp_path):
    import json
    import subprocess
    import sys

    from tests.hardening.worker import REPO, child_env

    root = corpus.image_folder(tmp_path / "if")
    corpus.mkfifo(root / "cat" / "pipe.jpg")
    command = [sys.executable, "-m", "interp_core", "check-folder", "imagefolder", str(root), "--json"]
    done = subprocess.run(command, cwd=REPO, env=child_env(tmp_path / "home"), capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 1 and report["checked"] == {"images": 7, "classes": 2}, done.stderr
    assert report["errors"] == 1 and "named pipe" in report["problems"][0]["message"]
