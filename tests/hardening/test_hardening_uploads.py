"""Adversarial uploads (issue 12): each failure class gets InputError (or a sane conversion) within
2 s and 200 MB, measured in a limited child process (see :mod:`tests.hardening.worker`)."""
from __future__ import annotations

import pytest

from tests.hardening import corpus
from tests.hardening.worker import loaded, refused

INPUT_ERROR = "interp_core.inputs.upload_checks.InputError"


def _file(tmp_path, name: str, data: bytes):
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return {"path": str(path), "name": name}


def test_jpeg_with_thousands_of_scans_is_refused_before_decoding(worker, tmp_path):
    data = corpus.many_scans_jpeg()
    assert len(data) < 2_000_000
    message = refused(worker.call("upload_image", **_file(tmp_path, "scans.jpg", data)), INPUT_ERROR, "scans")
    assert "100" in message


def test_ordinary_progressive_jpeg_still_loads(worker, tmp_path):
    data = corpus.many_scans_jpeg(side=64, repeats=0)
    assert loaded(worker.call("upload_image", **_file(tmp_path, "ok.jpg", data)))["size"] == [64, 64]


def test_png_text_chunk_bomb_is_refused(worker, tmp_path):
    refused(worker.call("upload_image", **_file(tmp_path, "text.png", corpus.text_chunk_bomb_png())), INPUT_ERROR, "“text.png”")


def test_pixel_bomb_is_refused_from_the_header(worker, tmp_path):
    message = refused(worker.call("upload_image", **_file(tmp_path, "big.png", corpus.bilevel_png(8000, 6000))),
                      INPUT_ERROR, "8000×6000 pixels")
    assert "(48 megapixels); the limit is 40 megapixels" in message


def test_wav_claiming_one_hertz_is_refused(worker, tmp_path):
    refused(worker.call("upload_audio", **_file(tmp_path, "slow.wav", corpus.one_hertz_wav())), INPUT_ERROR,
            "sample rate of 1 Hz")


def test_flac_without_a_length_in_its_header_loads(worker, tmp_path):
    result = loaded(worker.call("upload_audio", **_file(tmp_path, "stream.flac", corpus.flac_without_length(1.0))))
    assert result["samples"] == 16000 and result["notes"] == []


def test_long_flac_without_a_length_is_cut_off_by_the_streamed_read(worker, tmp_path):
    data = corpus.flac_without_length(seconds=70.0, rate=8000)
    message = refused(worker.call("upload_audio", **_file(tmp_path, "long.flac", data)), INPUT_ERROR, "longer than 60 s")
    assert " h " not in message  # never "160127986750 h long"


def test_unfinished_wav_with_data_size_zero_loads_as_unknown_length(worker, tmp_path):
    result = loaded(worker.call("upload_audio", **_file(tmp_path, "rec.wav", corpus.unfinished_wav(1.0))))
    assert result["samples"] == 16000


def test_markdown_and_very_long_file_names_are_shortened_and_flattened(worker, tmp_path):
    name = "# Heading\n[link](http://x) $\\frac{1}{2}$ " + "a" * 5000 + ".png"
    message = refused(worker.call("upload_image", **_file(tmp_path, name, b"just text, no image")), INPUT_ERROR)
    assert len(message) < 300 and "\n" not in message and "…" in message


def test_one_byte_over_the_size_limit_shows_figures_that_agree(worker, tmp_path):
    from interp_core.guards import MAX_UPLOAD_BYTES

    path = tmp_path / "big.png"
    corpus.sparse_file(path, b"\x89PNG\r\n\x1a\n", MAX_UPLOAD_BYTES + 1)
    message = refused(worker.call("upload_image", path=str(path), name="big.png"), INPUT_ERROR)
    assert "20,971,521 bytes; uploads are limited to 20 MB (20,971,520 bytes)" in message
    assert "20.0 MB" not in message


@pytest.mark.parametrize("orientation,rotated", [(6, True), (0, False), (9, False), (1, False)])
def test_rotation_note_only_for_a_valid_exif_orientation(worker, tmp_path, orientation, rotated):
    result = loaded(worker.call("upload_image", **_file(tmp_path, "o.jpg", corpus.jpeg_with_orientation(orientation))))
    assert any("rotated" in note for note in result["notes"]) == rotated
    assert result["size"] == ([20, 40] if rotated else [40, 20])
