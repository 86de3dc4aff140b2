"""Upload validation: every bad input is generated here, in memory, and must give a specific InputError."""
from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image, ImageFile
from scipy.signal import fftconvolve

from interp_core import guards, inputs
from interp_core.data.sounds import spectrogram
from interp_core.inputs import (
    MAX_IMAGE_PIXELS,
    MAX_UPLOAD_BYTES,
    InputError,
    input_from_upload,
    load_audio,
    load_image,
    prepare_audio,
    prepare_image,
    sniff_kind,
    upload_kind,
)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def random_rgb(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def black_bilevel_png(width: int, height: int) -> bytes:
    """A valid 1-bit grayscale PNG of any size, written row by row: all-zero rows compress ~1000x."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0 + packed bits
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    )


def wav_bytes(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def tone(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_frequency(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / rate)[np.argmax(spectrum)])


def rss_peak_growth_mb(action) -> float | None:
    """Peak resident memory added while ``action`` runs (Linux only; None where it cannot be reset)."""
    def status_kb(field: str) -> int:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field):
                    return int(line.split()[1])
        raise OSError(field)

    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # resets VmHWM to the current RSS
        before = status_kb("VmRSS:")
    except OSError:
        action()
        return None
    action()
    return (status_kb("VmHWM:") - before) / 1024


# --------------------------------------------------------------------------------------------
# Size and format checks


@pytest.mark.parametrize("loader", [load_image, load_audio, upload_kind])
def test_zero_byte_file_is_refused(loader):
    with pytest.raises(InputError, match=r"“a\.png” is empty \(0 bytes\)"):
        loader(b"", "a.png")


def test_oversized_upload_is_refused_before_decoding():
    data = b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES - 7)
    # One byte over: the figures must show it (never "20.0 MB; limited to 20 MB").
    with pytest.raises(InputError, match=r"20,971,521 bytes; uploads are limited to 20 MB \(20,971,520 bytes\)"):
        load_image(data, "big.png")
    with pytest.raises(InputError, match="limited to 20 MB"):
        load_audio(b"RIFF" + bytes(MAX_UPLOAD_BYTES), "big.wav")
    # One byte under the limit is not refused for its size (it fails later, as a damaged PNG).
    with pytest.raises(InputError, match="damaged or incomplete"):
        load_image(data[:-1], "big.png")


def test_text_named_png_is_not_an_image():
    with pytest.raises(InputError, match=r"“notes\.png” is not an image: it contains text"):
        load_image("just some notes, ünïcode too\n".encode() * 20, "notes.png")
    with pytest.raises(InputError, match="is not an image: its content is not a known format"):
        load_image(np.random.default_rng(1).bytes(3000), "noise.png")


def test_unsupported_formats_are_named():
    tiff = encode(Image.new("RGB", (8, 8)), "TIFF")
    with pytest.raises(InputError, match="is a TIFF file, which is not supported. Convert it to PNG or JPEG"):
        load_image(tiff, "scan.tif")
    with pytest.raises(InputError, match="is a TIFF file"):
        upload_kind(tiff, "scan.tif")
    wav = wav_bytes(tone(440, 16000, 0.1), 16000)
    with pytest.raises(InputError, match=r"is a sound \(WAV\), not an image"):
        load_image(wav, "x.png")
    png = encode(Image.new("RGB", (8, 8)), "PNG")
    with pytest.raises(InputError, match=r"is an image \(PNG\), not a sound"):
        load_audio(png, "x.wav")
    with pytest.raises(InputError, match="is an MP3 file, which is not supported. Convert it to WAV or FLAC"):
        load_audio(b"ID3\x04\x00" + bytes(500), "song.mp3")


def test_sniff_kind_reads_content_not_names():
    image = Image.fromarray(random_rgb(16, 16))
    for fmt in ("PNG", "JPEG", "WEBP", "BMP", "GIF"):
        data = encode(image, fmt)
        assert sniff_kind(data) == "image", fmt
        assert upload_kind(data, "sound.wav") == "image"
    for fmt in ("WAV", "FLAC", "OGG"):
        buffer = io.BytesIO()
        soundfile.write(buffer, tone(440, 16000, 0.2), 16000, format=fmt)
        assert sniff_kind(buffer.getvalue()) == "audio", fmt
    assert sniff_kind(encode(image, "TIFF")) is None
    assert sniff_kind(b"BM is a text that starts like a bitmap") is None
    assert sniff_kind(b"") is None


# --------------------------------------------------------------------------------------------
# Damaged images and bombs


def test_truncated_png_is_refused():
    data = encode(Image.fromarray(random_rgb(64, 64)), "PNG")
    for cut in (len(data) // 2, len(data) - 12, len(data) - 1):  # mid-pixels, IEND missing, IEND cut
        with pytest.raises(InputError, match=r"“t\.png” is damaged or incomplete"):
            load_image(data[:cut], "t.png")
    assert load_image(data, "t.png").size == (64, 64)


def test_truncated_jpeg_is_refused():
    data = encode(Image.fromarray(random_rgb(64, 64)), "JPEG", quality=90)
    for cut in (len(data) // 2, int(len(data) * 0.9)):
        with pytest.raises(InputError, match="damaged or incomplete"):
            load_image(data[:cut], "t.jpg")
    # Pillow's own switch must still be at its default, or truncation would pass silently everywhere.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bilevel_png_builder_makes_valid_pngs():
    image = Image.open(io.BytesIO(black_bilevel_png(300, 200)))
    image.load()
    assert image.size == (300, 200) and image.mode == "1"
    assert image.getextrema() == (0, 0)


def test_decompression_bomb_is_refused_from_the_header(monkeypatch):
    bomb = black_bilevel_png(30000, 30000)  # 900 megapixels, a few hundred KB on disk
    assert len(bomb) < 400_000
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))

    def refuse():
        expected = r"30000×30000 pixels \(900 megapixels\); the limit is 40 megapixels"
        with pytest.raises(InputError, match=expected):
            load_image(bomb, "bomb.png")

    growth = rss_peak_growth_mb(refuse)
    assert decoded == []
    if growth is not None:
        assert growth < 50, f"refusing the bomb used {growth:.0f} MB"


@pytest.mark.parametrize("width,height", [(8000, 6000), (30000, 30000)])
def test_jpeg_over_pixel_limit_is_refused_before_decoding(monkeypatch, width, height):
    # A real 64x64 JPEG whose frame header claims a larger size: 48 MP is over our limit but under
    # Pillow's own, 900 MP over both.
    data = bytearray(encode(Image.fromarray(random_rgb(64, 64)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    megapixels = round(width * height / 1e6)
    with pytest.raises(InputError, match=rf"{width}×{height} pixels \({megapixels} megapixels\)"):
        load_image(bytes(data), "huge.jpg")
    assert decoded == []


def test_header_sizes_match_pillow_for_every_format():
    image = Image.fromarray(random_rgb(37, 53))
    cases = [("PNG", {}), ("GIF", {}), ("BMP", {}), ("JPEG", {"progressive": True}), ("JPEG", {}),
             ("WEBP", {"lossless": True}), ("WEBP", {"quality": 80}), ("WEBP", {"exif": b"Exif\x00\x00"})]
    for fmt, options in cases:
        data = encode(image, fmt, **options)
        assert guards.header_size(data, fmt) == (53, 37), (fmt, options)


# --------------------------------------------------------------------------------------------
# Mode conversions


def test_16bit_png_is_scaled_not_clipped():
    values = (np.arange(32 * 32, dtype=np.uint32).reshape(32, 32) * 64).astype(np.uint16)
    data = encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I;16")
    image = load_image(data, "deep.png")
    pixels = np.asarray(image)
    assert image.mode == "RGB"
    expected = np.rint(values / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(pixels[..., 0], expected)
    np.testing.assert_array_equal(pixels[..., 2], expected)
    # Only 65408 and 65472 round to 255; clipping (Pillow's own convert) would saturate 1020 pixels.
    assert (pixels[..., 0] == 255).sum() == 2
    assert any("16-bit" in note for note in image.info["notes"])


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red ink
    image = load_image(encode(cmyk, "JPEG", quality=95), "print.jpg")
    red, green, blue = np.asarray(image).reshape(-1, 3).mean(axis=0)
    assert image.mode == "RGB" and red > 240 and green < 15 and blue < 15
    assert any("CMYK" in note for note in image.info["notes"])


@pytest.mark.parametrize("fmt", ["PNG", "BMP"])
def test_grayscale_is_copied_to_three_channels(fmt):
    gray = np.random.default_rng(2).integers(0, 256, (20, 30), dtype=np.uint8)
    image = load_image(encode(Image.fromarray(gray, "L"), fmt), "g")
    pixels = np.asarray(image)
    assert pixels.shape == (20, 30, 3)
    for channel in range(3):
        np.testing.assert_array_equal(pixels[..., channel], gray)
    assert image.info["notes"] == []


def test_rgba_and_la_are_composited_onto_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[0] = (10, 200, 30, 255)  # opaque: kept exactly
    rgba[1] = (10, 200, 30, 0)  # transparent: white whatever the color
    rgba[2] = (0, 0, 0, 128)  # half-transparent black: mid gray
    image = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"), "logo.png")
    pixels = np.asarray(image).astype(int)
    assert (pixels[0] == (10, 200, 30)).all()
    assert (pixels[1] == 255).all()
    assert np.abs(pixels[2] - round(255 * (1 - 128 / 255))).max() <= 1
    assert "Transparent areas were filled with white." in image.info["notes"]

    la = np.stack([np.full((4, 4), 40, np.uint8), np.tile(np.array([0, 255], np.uint8), (4, 2))], axis=-1)
    pixels = np.asarray(load_image(encode(Image.fromarray(la, "LA"), "PNG"), "la.png"))
    assert (pixels[:, 0::2] == 255).all() and (pixels[:, 1::2] == 40).all()


def test_opaque_rgba_gets_no_transparency_note():
    rgba = np.dstack([random_rgb(8, 8), np.full((8, 8), 255, np.uint8)])
    image = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"), "o.png")
    np.testing.assert_array_equal(np.asarray(image), rgba[..., :3])
    assert image.info["notes"] == []


def test_palette_with_transparency():
    indices = np.array([[0, 1], [2, 0]], dtype=np.uint8)
    palette_image = Image.fromarray(indices, "P")
    palette_image.putpalette([0, 0, 0, 200, 50, 25, 5, 90, 250] + [0] * (256 * 3 - 9))
    data = encode(palette_image, "PNG", transparency=0)
    image = load_image(data, "p.png")
    pixels = np.asarray(image)
    assert (pixels[0, 0] == 255).all() and (pixels[1, 1] == 255).all()
    assert tuple(pixels[0, 1]) == (200, 50, 25) and tuple(pixels[1, 0]) == (5, 90, 250)


def test_animated_gif_gives_its_first_frame():
    frames = []
    for k, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        pixels = np.zeros((12, 16, 3), dtype=np.uint8)
        pixels[:, k * 4 : k * 4 + 6] = color  # a different bar in each frame
        frames.append(Image.fromarray(pixels))
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    image = load_image(buffer.getvalue(), "anim.gif")
    np.testing.assert_array_equal(np.asarray(image), np.asarray(frames[0]))
    assert image.info["notes"] == ["The GIF file has several frames; only the first one is used."]


@pytest.mark.parametrize("fmt,options", [("WEBP", {"lossless": True}), ("BMP", {}), ("PNG", {})])
def test_lossless_round_trips_are_exact(fmt, options):
    pixels = random_rgb(24, 40, seed=3)
    image = load_image(encode(Image.fromarray(pixels), fmt, **options), f"x.{fmt.lower()}")
    assert image.mode == "RGB" and image.size == (40, 24)
    np.testing.assert_array_equal(np.asarray(image), pixels)


def test_exif_orientation_is_applied():
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image = load_image(encode(Image.fromarray(pixels), "JPEG", exif=exif.tobytes(), quality=95), "phone.jpg")
    assert image.size == (20, 40)
    gray = np.asarray(image).mean(axis=2)
    assert gray[:20].mean() > 200 and gray[20:].mean() < 50  # the left half is now on top
    assert any("EXIF" in note for note in image.info["notes"])


# --------------------------------------------------------------------------------------------
# prepare_image


def test_prepare_image_center_crops_without_stretching():
    pixels = np.zeros((50, 200, 3), dtype=np.uint8)
    pixels[:, :75] = (255, 0, 0)
    pixels[:, 75:125] = (0, 255, 0)  # the central square
    pixels[:, 125:] = (0, 0, 255)
    tensor = prepare_image(Image.fromarray(pixels), (3, 32, 32))
    assert tensor.shape == (3, 32, 32) and tensor.dtype == torch.float32
    # The resampling filter reaches one source pixel past the crop, so only the edge columns blend.
    inner = tensor[:, :, 1:-1]
    assert float(inner[1].min()) > 0.99 and float(inner[[0, 2]].max()) < 0.01
    assert float(tensor[1].min()) > 0.9


def test_prepare_image_grayscale_and_upscaling():
    image = Image.new("RGB", (7, 5), (200, 100, 50))
    tensor = prepare_image(image, (1, 28, 28))
    luma = (200 * 299 + 100 * 587 + 50 * 114) / 1000 / 255
    assert tensor.shape == (1, 28, 28)
    assert np.allclose(tensor.numpy(), luma, atol=1 / 255)
    with pytest.raises(ValueError, match="input_shape"):
        prepare_image(image, (4, 8, 8))


def test_prepare_image_handles_extreme_aspect_ratio():
    image = Image.new("RGB", (20000, 2), (0, 0, 255))
    tensor = prepare_image(image, (3, 64, 64))
    assert np.allclose(tensor[2].numpy(), 1.0) and np.allclose(tensor[:2].numpy(), 0.0)


# --------------------------------------------------------------------------------------------
# Audio


def test_empty_wav_has_no_samples():
    data = wav_bytes(np.zeros((0, 1), dtype=np.float32), 16000)
    with pytest.raises(InputError, match=r"“e\.wav” contains no samples that can be read"):
        load_audio(data, "e.wav")


def test_wav_cut_short_is_used_with_a_note():
    data = wav_bytes(tone(440, 16000, 2.0), 16000)
    wave, notes = load_audio(data[: 44 + 16000 * 2], "cut.wav")  # header + the first second
    np.testing.assert_allclose(wave, tone(440, 16000, 1.0), atol=1 / 32768)
    assert notes == ["The file is cut short: its header announces 2.0 s but it holds 1.0 s; "
                     "the part that is there is used."]


def test_nan_samples_are_refused():
    samples = tone(440, 16000, 0.5)
    samples[100:200] = np.nan
    with pytest.raises(InputError, match=r"contains invalid samples \(NaN or infinite values\)"):
        load_audio(wav_bytes(samples, 16000, subtype="FLOAT"), "nan.wav")
    samples = tone(440, 16000, 0.5)
    samples[5] = np.inf
    with pytest.raises(InputError, match="invalid samples"):
        load_audio(wav_bytes(samples, 16000, subtype="FLOAT"), "inf.wav")


def test_eight_channels_mix_down_to_their_mean():
    channels = np.random.default_rng(4).uniform(-0.5, 0.5, (8000, 8)).astype(np.float32)
    wave, notes = load_audio(wav_bytes(channels, 16000, subtype="FLOAT"), "octo.wav")
    assert wave.shape == (8000,) and wave.dtype == np.float32
    np.testing.assert_allclose(wave, channels.mean(axis=1), atol=1e-6)
    assert notes == ["8 channels were mixed down to mono (their average)."]


def test_absurd_channel_counts_are_refused():
    data = wav_bytes(np.zeros((100, 40), dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(InputError, match="has 40 channels; at most 32 are supported"):
        load_audio(data, "array.wav")


@pytest.mark.parametrize("rate,freq", [(8000, 440.0), (44100, 1000.0), (96000, 3000.0)])
def test_resampling_keeps_length_and_pitch(rate, freq):
    seconds = 1.5
    wave, notes = load_audio(wav_bytes(tone(freq, rate, seconds), rate), "tone.wav", target_sr=16000)
    assert abs(len(wave) - int(seconds * 16000)) <= 1
    assert abs(peak_frequency(wave, 16000) - freq) <= 1.0
    assert abs(np.abs(wave[2000:-2000]).max() - 0.5) < 0.02  # amplitude survives the filter
    assert notes[0].startswith(f"Resampled from {rate} Hz to 16000 Hz.")
    assert ("no content above 4000 Hz" in notes[0]) == (rate == 8000)


def test_sample_rates_outside_the_range_are_refused():
    with pytest.raises(InputError, match="sample rate of 2000 Hz; rates from 4000 to 192000 Hz"):
        load_audio(wav_bytes(tone(100, 2000, 0.5), 2000), "low.wav")


def test_hour_long_header_is_refused_without_decoding(monkeypatch):
    # A WAV header that announces one hour of 16 kHz int16, followed by only one second of samples.
    rate, seconds = 16000, 3600
    data_size = rate * seconds * 2
    fmt_chunk = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    header = (
        b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE"
        + b"fmt " + struct.pack("<I", 16) + fmt_chunk
        + b"data" + struct.pack("<I", data_size)
    )
    liar = header + bytes(rate * 2)
    # A genuine hour at the lowest accepted rate in 8 bits still fits the upload limit.
    genuine = wav_bytes(np.zeros(4000 * 3600, dtype=np.float32), 4000, subtype="PCM_U8")
    assert len(genuine) < MAX_UPLOAD_BYTES

    def no_decoding(*args, **kwargs):
        raise AssertionError("the samples were decoded")

    monkeypatch.setattr(soundfile.SoundFile, "blocks", no_decoding)
    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    for data in (liar, genuine):
        with pytest.raises(InputError, match=r"is 1 h 00 min long; sounds are limited to 60 s"):
            load_audio(data, "long.wav")


def test_flac_round_trip_is_exact():
    samples = (np.random.default_rng(5).integers(-20000, 20000, 12345)).astype(np.int16)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, 16000, format="FLAC", subtype="PCM_16")
    wave, notes = load_audio(buffer.getvalue(), "x.flac")
    np.testing.assert_array_equal(wave, samples.astype(np.float32) / 32768)
    assert notes == []


def test_ogg_round_trip_keeps_length_and_pitch():
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(660, 16000, 1.0), 16000, format="OGG", subtype="VORBIS")
    wave, notes = load_audio(buffer.getvalue(), "x.ogg")
    assert len(wave) == 16000 and notes == []
    assert abs(peak_frequency(wave, 16000) - 660) <= 1.0
    assert np.corrcoef(wave[1000:-1000], tone(660, 16000, 1.0)[1000:-1000])[0, 1] > 0.99


def test_garbage_named_wav_is_not_a_sound():
    with pytest.raises(InputError, match=r"“x\.wav” is not a sound: its content is not a known format"):
        load_audio(np.random.default_rng(6).bytes(5000), "x.wav")
    with pytest.raises(InputError, match="damaged or uses an encoding that cannot be read"):
        load_audio(b"RIFF\x00\x00\x00\x00WAVE" + bytes(100), "broken.wav")


def test_silence_is_a_note_not_an_error():
    wave, notes = load_audio(wav_bytes(np.zeros(8000, dtype=np.float32), 16000), "quiet.wav")
    assert wave.shape == (8000,) and not wave.any()
    assert notes == ["The sound is silent (all samples are zero or nearly zero)."]


def test_float_peaks_above_full_scale_are_scaled_down():
    samples = tone(440, 16000, 0.25, amplitude=4.0)
    wave, notes = load_audio(wav_bytes(samples, 16000, subtype="FLOAT"), "hot.wav")
    np.testing.assert_allclose(wave, samples / np.abs(samples).max(), atol=1e-6)
    assert len(notes) == 1 and "scaled down" in notes[0]


# --------------------------------------------------------------------------------------------
# prepare_audio


def test_prepare_audio_pads_short_sounds_centered():
    notes: list[str] = []
    clip = prepare_audio(np.ones(1001, dtype=np.float32), 2000, notes=notes)
    assert clip.shape == (2000,) and clip.dtype == np.float32
    assert np.flatnonzero(clip)[[0, -1]].tolist() == [499, 1499]
    assert notes == ["The sound is 0.06 s long; it was padded with silence to 0.12 s."]


def test_prepare_audio_takes_the_most_energetic_window():
    rng = np.random.default_rng(7)
    wave = rng.normal(0, 0.01, 16000 * 5).astype(np.float32)
    wave[40000:48000] += tone(500, 16000, 0.5)  # a loud half second from 2.5 s
    notes: list[str] = []
    clip = prepare_audio(wave, 16000, sample_rate=16000, notes=notes)
    start = int(np.argmax(fftconvolve(wave.astype(np.float64) ** 2, np.ones(16000), mode="valid")))
    np.testing.assert_array_equal(clip, wave[start : start + 16000])
    assert 32000 <= start <= 40001  # the whole burst is inside the chosen second (its sample 0 is 0)
    assert notes[0].endswith(f"{start / 16000:.2f} s to {start / 16000 + 1:.2f} s.")


def test_prepare_audio_exact_length_and_bad_shapes():
    wave = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(prepare_audio(wave, 10), wave)
    with pytest.raises(ValueError, match=r"shape \(S,\)"):
        prepare_audio(np.zeros((2, 10)), 10)


def test_module_leaves_pillow_globals_alone():
    before = (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)
    with pytest.raises(InputError):
        load_image(black_bilevel_png(30000, 30000), "bomb.png")
    load_image(encode(Image.fromarray(random_rgb(8, 8)), "PNG"))
    assert (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES) == before
    assert inputs.MAX_IMAGE_PIXELS == MAX_IMAGE_PIXELS


def test_a_lowered_limit_takes_effect_where_the_guards_read_it(monkeypatch):
    png = encode(Image.fromarray(random_rgb(20, 30)), "PNG")
    monkeypatch.setattr(guards.limits, "MAX_UPLOAD_BYTES", len(png) - 1)
    with pytest.raises(InputError, match="uploads are limited to"):
        load_image(png, "a.png")
    monkeypatch.setattr(guards.limits, "MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES)
    monkeypatch.setattr(guards.limits, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(InputError, match=r"30×20 pixels \(0\.001 megapixels\); the limit is 0\.0005 megapixels"):
        load_image(png, "a.png")
    with pytest.raises(guards.GuardError, match="30×20 pixels"):
        guards.decode_image_bytes(png, "a.png")


# --------------------------------------------------------------------------------------------
# input_from_upload


def test_input_from_upload_gives_the_image_as_the_model_sees_it():
    pixels = np.zeros((30, 40, 4), dtype=np.uint8)
    pixels[..., 0], pixels[:, :20, 3], pixels[:, 20:, 3] = 255, 255, 0  # left half red, right half transparent
    data = encode(Image.fromarray(pixels, "RGBA"), "PNG")
    upload = input_from_upload("image", data, "logo.png", (3, 24, 24), None)
    expected = prepare_image(load_image(data, "logo.png"), (3, 24, 24))
    torch.testing.assert_close(upload.x, expected)
    assert upload.display.shape == (24, 24, 3) and upload.display.dtype == np.uint8
    assert upload.display[12, 2].tolist() == [255, 0, 0] and upload.display[12, -2].tolist() == [255, 255, 255]
    assert upload.source == "upload logo.png" and upload.waveform is None
    assert upload.label is None and upload.mask is None  # an upload has no ground truth
    assert upload.notes == ["Transparent areas were filled with white."]


def test_input_from_upload_gives_the_sound_as_the_model_hears_it():
    data = wav_bytes(tone(1000, 8000, 0.5), 8000)
    upload = input_from_upload("audio", data, "beep.wav", (1, 257, 182), 16000)
    assert upload.waveform.shape == (32000,) and upload.waveform.dtype == np.float32
    assert abs(peak_frequency(upload.waveform, 16000) - 1000) < 5
    torch.testing.assert_close(upload.x, spectrogram(torch.from_numpy(upload.waveform)[None])[0])
    assert upload.x.shape == (1, 257, 182) and upload.display.shape == (257, 182, 3)
    assert upload.notes == ["Resampled from 8000 Hz to 16000 Hz. It has no content above 4000 Hz.",
                            "The sound is 0.50 s long; it was padded with silence to 2.00 s."]


def test_input_from_upload_refuses_a_file_of_the_other_kind():
    wav = wav_bytes(tone(440, 16000, 0.2), 16000)
    png = encode(Image.fromarray(random_rgb(8, 8)), "PNG")
    with pytest.raises(InputError, match=r"“a\.wav” is a sound \(WAV\), not an image\. Upload a PNG, JPEG, WebP"):
        input_from_upload("image", wav, "a.wav", (3, 64, 64), None)
    with pytest.raises(InputError, match=r"“b\.png” is an image \(PNG\), not a sound\. Upload a WAV, FLAC or OGG"):
        input_from_upload("audio", png, "b.png", (1, 257, 182), 16000)
    with pytest.raises(ValueError, match="kind must be 'image' or 'audio'"):
        input_from_upload("video", png, "b.png", (3, 64, 64), None)


def test_input_from_upload_shortens_the_name_in_its_source_and_messages():
    name = "x" * 200 + ".png"
    upload = input_from_upload("image", encode(Image.fromarray(random_rgb(8, 8)), "PNG"), name, (3, 8, 8), None)
    assert len(upload.source) == len("upload ") + 60 and "…" in upload.source
    with pytest.raises(InputError) as refused:
        input_from_upload("image", b"", name, (3, 8, 8), None)
    assert str(refused.value).startswith("“" + upload.source.removeprefix("upload ") + "” is empty")


def test_corrupted_uploads_raise_only_input_errors():
    """Seeded byte flips and cuts of every supported format: a result or an InputError, nothing else."""
    rng = np.random.default_rng(8)
    image = Image.fromarray(random_rgb(30, 40))
    originals = [(encode(image, fmt), load_image) for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP")]
    for fmt in ("WAV", "FLAC", "OGG"):
        buffer = io.BytesIO()
        soundfile.write(buffer, np.stack([tone(440, 22050, 0.3)] * 2, axis=1), 22050, format=fmt)
        originals.append((buffer.getvalue(), load_audio))
    outcomes = {"ok": 0, "refused": 0}
    for data, loader in originals:
        for trial in range(25):
            damaged = bytearray(data)
            if trial % 2:
                damaged = damaged[: int(rng.integers(1, len(data)))]
            else:
                for position in rng.integers(0, len(data), size=int(rng.integers(1, 8))):
                    damaged[position] = int(rng.integers(256))
            try:
                result = loader(bytes(damaged), "fuzz")
            except InputError as error:
                assert str(error).startswith("“fuzz”"), str(error)
                outcomes["refused"] += 1
                continue
            if loader is load_image:
                assert result.mode == "RGB"
            else:
                assert result[0].dtype == np.float32 and np.isfinite(result[0]).all()
            outcomes["ok"] += 1
    assert outcomes["refused"] > 50
