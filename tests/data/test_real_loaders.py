"""Real-dataset loaders read tiny fixtures written in the real on-disk formats, and reject malformed ones."""
from __future__ import annotations

import pickle
import socket
import warnings

import numpy as np
import pytest
import torch

from interp_core.data.base import DatasetFormatError
from interp_core.data import real
from interp_core.data.real import (
    CHECKABLE_KINDS,
    REAL_DATASETS,
    DatasetDownloadError,
    check_real_folder,
    load_cub,
    load_esc50,
    load_image_folder,
    load_real,
    load_torchvision,
)
from tests.data import fixtures_real as fx


# ---------------------------------------------------------------- MNIST / Fashion-MNIST

@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_reads_torchvision_raw_layout(tmp_path, split):
    truth = fx.make_mnist(tmp_path)
    data = load_torchvision("mnist", tmp_path, split)
    images, labels = truth[split]
    assert data.data.shape == (len(labels), 28, 28, 1) and data.data.dtype == np.uint8
    np.testing.assert_array_equal(data.data[..., 0], images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.info.class_names == tuple("0123456789") and data.info.input_shape == (1, 28, 28)
    batch = data.inputs([0, 1])
    assert batch.shape == (2, 1, 28, 28) and batch.dtype == torch.float32
    assert torch.allclose(batch[1, 0], torch.from_numpy(images[1]).float() / 255)


def test_fashion_mnist_reads_gzipped_files_and_subsamples(tmp_path):
    truth = fx.make_mnist(tmp_path, folder="FashionMNIST", n_train=20, gz=True, seed=3)
    full = load_torchvision("fashion-mnist", tmp_path, "train")
    part = load_torchvision("fashion-mnist", tmp_path, "train", max_samples=6)
    assert full.info.class_names[0] == "T-shirt/top" and full.info.class_names[9] == "Ankle boot"
    np.testing.assert_array_equal(full.labels, truth["train"][1])
    assert len(part) == 6
    # A subset of the same samples, in file order, with labels still attached to their images.
    rows = [int(np.flatnonzero((truth["train"][0] == img[..., 0]).all(axis=(1, 2)))[0]) for img in part.data]
    assert rows == sorted(rows) and len(set(rows)) == 6
    np.testing.assert_array_equal(part.labels, truth["train"][1][rows])


def test_mnist_truncated_file_names_it(tmp_path):
    fx.make_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetFormatError, match="train-images-idx3-ubyte.*declares shape"):
        load_torchvision("mnist", tmp_path, "train")


def test_mnist_label_count_mismatch(tmp_path):
    fx.make_mnist(tmp_path)
    fx.write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(DatasetFormatError, match="7 images but .* 3 labels"):
        load_torchvision("mnist", tmp_path, "test")


def test_empty_root_without_download_says_where_and_mentions_download(tmp_path):
    with pytest.raises(DatasetFormatError) as err:
        load_torchvision("mnist", tmp_path, "train")
    message = str(err.value)
    assert "download=True" in message and str(tmp_path / "MNIST" / "raw") in message
    with pytest.raises(DatasetFormatError, match="does not exist"):
        load_torchvision("cifar10", tmp_path / "nowhere", "test")


def test_download_offline_fails_fast_without_calling_torchvision(tmp_path, monkeypatch):
    probed = []

    def unreachable(address, timeout=None, *args, **kwargs):
        probed.append((address, timeout))
        raise OSError("Network is unreachable")

    def forbidden(*args, **kwargs):
        raise AssertionError("torchvision must not be asked to download when the probe fails")

    import torchvision.datasets as tvd

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(tvd.CIFAR10, "download", forbidden)
    with pytest.raises(DatasetDownloadError, match="unreachable.*cifar-10-python.tar.gz") as err:
        load_torchvision("cifar10", tmp_path, "train", download=True)
    assert isinstance(err.value, DatasetFormatError)
    assert probed and probed[0][1] == real.DOWNLOAD_PROBE_SECONDS and probed[0][0][0] == "www.cs.toronto.edu"


def test_download_true_with_files_present_touches_no_network(tmp_path, monkeypatch):
    truth = fx.make_stl10(tmp_path)

    def no_network(*args, **kwargs):
        raise AssertionError("no network access expected")

    monkeypatch.setattr(socket, "create_connection", no_network)
    data = load_torchvision("stl10", tmp_path, "test", download=True)
    np.testing.assert_array_equal(data.labels, truth["test"][1])


# ---------------------------------------------------------------- CIFAR-10 / STL-10

@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_reads_python_batches(tmp_path, split):
    names = tuple(f"c{k}" for k in range(9, -1, -1))
    truth = fx.make_cifar10(tmp_path, label_names=names)
    data = load_torchvision("cifar10", tmp_path, split)
    images, labels = truth[split]
    assert data.data.shape == (len(labels), 32, 32, 3) == images.shape
    np.testing.assert_array_equal(data.data, images)
    np.testing.assert_array_equal(data.labels, labels)
    assert data.info.class_names == names and data.info.input_shape == (3, 32, 32)
    assert torch.allclose(data.inputs([0])[0, 2], torch.from_numpy(images[0, ..., 2]).float() / 255)


def test_cifar10_missing_batch_is_named(tmp_path):
    fx.make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetFormatError, match="lacks data_batch_3"):
        load_torchvision("cifar10", tmp_path, "train")
    assert len(load_torchvision("cifar10", tmp_path, "test")) == 3


def test_cifar10_batch_that_would_run_code_is_refused(tmp_path):
    fx.make_cifar10(tmp_path)
    marker = tmp_path / "executed"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(DatasetFormatError, match="test_batch: refers to io.open"):
        load_torchvision("cifar10", tmp_path, "test")
    assert not marker.exists()


def test_stl10_reads_column_major_binaries(tmp_path):
    truth = fx.make_stl10(tmp_path)
    for split in ("train", "test"):
        data = load_torchvision("stl10", tmp_path, split)
        np.testing.assert_array_equal(data.data, truth[split][0])
        np.testing.assert_array_equal(data.labels, truth[split][1])
    assert data.info.class_names[7] == "monkey" and data.info.input_shape == (3, 96, 96)


def test_stl10_truncated_images(tmp_path):
    fx.make_stl10(tmp_path)
    path = tmp_path / "stl10_binary" / "train_X.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetFormatError, match="train_X.bin.*not a multiple of 27648"):
        load_torchvision("stl10", tmp_path, "train")


# ---------------------------------------------------------------- CUB-200-2011

@pytest.mark.parametrize("attributes_at", ["root", "folder"])
def test_cub_reads_labels_attributes_masks_and_boxes(tmp_path, attributes_at):
    truth = fx.make_cub(tmp_path, attributes_at=attributes_at)
    size = 24
    data = load_cub(tmp_path, "train", image_size=size)  # the parent of CUB_200_2011 is accepted
    train_ids = [i + 1 for i, t in enumerate(truth["train"]) if t]
    np.testing.assert_array_equal(data.extras["image_ids"], train_ids)
    np.testing.assert_array_equal(data.labels, [truth["classes"][i - 1] - 1 for i in train_ids])
    assert data.info.class_names == ("Black footed Albatross", "Laysan Albatross", "Sooty Albatross")
    assert data.info.attribute_names == fx.CUB_ATTRIBUTES
    assert data.data.shape == (len(train_ids), size, size, 3) and data.info.input_shape == (3, size, size)
    rows = np.array(train_ids) - 1
    np.testing.assert_array_equal(data.extras["attributes"], truth["present"][rows])
    np.testing.assert_array_equal(data.extras["attribute_certainty"], truth["certainty"][rows])
    masks = data.extras["masks"]
    assert masks.shape == (len(train_ids), size, size) and masks.dtype == bool
    for k, image_id in enumerate(train_ids):
        image = data.data[k].astype(int)
        if image_id == 3:  # stored as grayscale JPEG: red becomes luma ~79, blue ~23, in all 3 channels
            assert (image[..., 0] == image[..., 2]).all()
            red, blue = image[..., 0] > 60, image[..., 0] < 40
        else:
            red = (image[..., 0] > 150) & (image[..., 2] < 100)
            blue = (image[..., 2] > 150) & (image[..., 0] < 100)
        # The mask went through the same resize and crop as the image.
        assert red.sum() > 10 and (masks[k] & red).sum() / red.sum() > 0.95 and (masks[k] & blue).sum() / blue.sum() < 0.05
        x0, y0, x1, y1, w, h = truth["rects"][image_id]
        scale = size / min(w, h)
        left, top = (round(w * scale) - size) // 2, (round(h * scale) - size) // 2
        bx, by, bw, bh = data.extras["boxes"][k]
        assert abs(bx - max(0, x0 * scale - left)) < 0.6 and abs(by - max(0, y0 * scale - top)) < 0.6
        assert abs(bx + bw - min(size, x1 * scale - left)) < 0.6 and abs(by + bh - min(size, y1 * scale - top)) < 0.6
        ys, xs = np.nonzero(masks[k])
        assert abs(xs.min() - bx) <= 1.5 and abs(xs.max() + 1 - (bx + bw)) <= 1.5


def test_cub_test_split_without_segmentations(tmp_path):
    truth = fx.make_cub(tmp_path, segmentations=False)
    data = load_cub(truth["root"], "test", image_size=16)
    assert "masks" not in data.extras
    assert list(data.extras["image_ids"]) == [i + 1 for i, t in enumerate(truth["train"]) if not t]
    fx.make_cub(tmp_path / "b")
    assert "masks" not in load_cub(tmp_path / "b", "test", image_size=16, with_segmentations=False).extras


def test_cub_missing_image_is_named(tmp_path):
    truth = fx.make_cub(tmp_path)
    (truth["root"] / "images" / truth["paths"][5]).unlink()
    with pytest.raises(DatasetFormatError, match=r"missing: .*_0005_105\.jpg \(image 5\)"):
        load_cub(tmp_path, "train", image_size=16)


@pytest.mark.parametrize(
    "file_name, content, expected",
    [
        ("images.txt", None, "expected images.txt"),
        ("bounding_boxes.txt", None, "bounding_boxes.txt: missing"),
        ("image_class_labels.txt", "1 1\n2 x\n", "image_class_labels.txt: line 2: cannot parse '2 x'"),
        ("train_test_split.txt", "1 1\n2 0\n", "image 3 of images.txt has no line in .*train_test_split.txt"),
        ("attributes/image_attribute_labels.txt", "1 1 1\n", "data line 1: expected 'image_id attribute_id"),
        ("attributes/image_attribute_labels.txt", "1 9 1 3 1.0\n", "attribute ids outside 1-4"),
    ],
)
def test_cub_malformed_files(tmp_path, file_name, content, expected):
    truth = fx.make_cub(tmp_path)
    path = truth["root"] / file_name
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(DatasetFormatError, match=expected):
        load_cub(tmp_path, "train", image_size=16)


def test_cub_attribute_labels_without_names(tmp_path):
    fx.make_cub(tmp_path)
    (tmp_path / "attributes.txt").unlink()
    with pytest.raises(DatasetFormatError, match="attribute names do not"):
        load_cub(tmp_path, "train", image_size=16)


# ---------------------------------------------------------------- ImageFolder

def test_image_folder_classes_labels_and_ignored_files(tmp_path):
    written = fx.make_image_folder(tmp_path, {"cat": 3, "dog": 2, "emu": 4})
    data = load_image_folder(tmp_path, image_size=10)
    assert data.info.class_names == ("cat", "dog", "emu")
    assert data.data.shape == (9, 10, 10, 3)
    np.testing.assert_array_equal(np.bincount(data.labels), [3, 2, 4])
    np.testing.assert_array_equal(data.data[:, 5, 5, 0], 40 * data.labels + 20)
    assert sorted(data.extras["paths"]) == sorted(str(p) for paths in written.values() for p in paths)


def test_image_folder_skips_unreadable_images_with_a_warning(tmp_path):
    fx.make_image_folder(tmp_path, {"a": 2, "b": 2})
    (tmp_path / "b" / "broken.jpg").write_bytes(b"this is not a jpeg")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image.*broken\.jpg"):
        data = load_image_folder(tmp_path, image_size=8)
    assert len(data) == 4 and list(data.labels) == [0, 0, 1, 1]
    assert not any(p.endswith("broken.jpg") for p in data.extras["paths"])


def test_image_folder_split_folders_share_class_indices(tmp_path):
    fx.make_image_folder(tmp_path / "train", {"ant": 2, "bee": 2, "cow": 1})
    fx.make_image_folder(tmp_path / "test", {"bee": 2, "cow": 1}, seed=1)
    test = load_image_folder(tmp_path, "test", image_size=8)
    assert test.info.class_names == ("ant", "bee", "cow")
    assert list(test.labels) == [1, 1, 2]
    assert len(load_real("imagefolder", tmp_path, "train", image_size=8)) == 5
    with pytest.raises(DatasetFormatError, match="split folders .*pass split="):
        load_image_folder(tmp_path)
    with pytest.raises(DatasetFormatError, match="no split folder .*val"):
        load_image_folder(tmp_path, "val")


def test_image_folder_empty_and_wrong_roots(tmp_path):
    with pytest.raises(DatasetFormatError, match="no class subfolders"):
        load_image_folder(tmp_path)
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "notes.txt").write_text("x")
    with pytest.raises(DatasetFormatError, match="hold no image files"):
        load_image_folder(tmp_path)
    with pytest.raises(DatasetFormatError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(DatasetFormatError, match="is a file"):
        load_image_folder(tmp_path / "cats" / "notes.txt")


# ---------------------------------------------------------------- ESC-50

ESC_CLIPS = [
    (1, 0, "dog", True, 440.0),
    (1, 1, "rooster", False, 1000.0),
    (2, 10, "rain", True, 2500.0),
    (4, 1, "rooster", False, 700.0),
    (5, 0, "dog", True, 3000.0),
    (3, 10, "rain", True, 5000.0),
]


def _dominant_hz(wave: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.argmax(spectrum) * rate / len(wave))


def test_esc50_folds_labels_and_resampling(tmp_path):
    freqs = fx.make_esc50(tmp_path, ESC_CLIPS)
    data = load_esc50(tmp_path, folds=(1, 2, 3), clip_seconds=1.0)
    assert list(data.extras["folds"]) == [1, 1, 2, 3]
    np.testing.assert_array_equal(data.labels, [0, 1, 10, 10])
    assert len(data.info.class_names) == 11 and data.info.class_names[10] == "rain" and data.info.class_names[1] == "rooster"
    assert data.data.shape == (4, 16000) and data.data.dtype == np.float32 and data.info.sample_rate == 16000
    for wave, name in zip(data.data, data.extras["filenames"]):
        assert abs(_dominant_hz(wave[1000:-1000], 16000) - freqs[name]) < 3.0
        assert abs(np.abs(wave[1000:-1000]).max() - 0.5) < 0.02
    batch = data.inputs([0, 2])
    assert batch.shape == (2, *data.info.input_shape) and data.info.input_shape == (1, 257, 1 + 16000 // 176)
    # The 5 s default pads a 1 s clip with silence.
    padded = load_esc50(tmp_path, folds=(4,))
    assert padded.data.shape == (1, 80000) and np.all(padded.data[0, 16100:] == 0)


def test_esc50_registry_splits_and_esc10(tmp_path):
    fx.make_esc50(tmp_path, ESC_CLIPS)
    val = load_real("esc50", tmp_path, "val", clip_seconds=0.5)
    assert list(val.extras["folds"]) == [4] and val.data.shape == (1, 8000)
    test = load_real("esc50", tmp_path, "test", clip_seconds=0.5, sample_rate=8000)
    assert test.data.shape == (1, 4000) and test.info.sample_rate == 8000
    esc10 = load_esc50(tmp_path, folds=(1, 2, 3, 4, 5), clip_seconds=0.5, esc10_only=True)
    assert esc10.info.class_names == ("dog", "rain") and esc10.info.name == "esc10"
    np.testing.assert_array_equal(esc10.labels, [0, 1, 0, 1])


def test_esc50_malformed(tmp_path):
    fx.make_esc50(tmp_path, ESC_CLIPS)
    csv_path = tmp_path / "meta" / "esc50.csv"
    original = csv_path.read_text()
    csv_path.write_text(original.replace(",category,", ",label,"))
    with pytest.raises(DatasetFormatError, match="lacks column.*category"):
        load_esc50(tmp_path)
    csv_path.write_text(original)
    (tmp_path / "audio" / "2-102-A-10.wav").unlink()
    with pytest.raises(DatasetFormatError, match="missing from .*audio: 2-102-A-10.wav"):
        load_esc50(tmp_path, clip_seconds=0.5)
    assert len(load_esc50(tmp_path, folds=(5,), clip_seconds=0.5)) == 1
    csv_path.unlink()
    with pytest.raises(DatasetFormatError, match=r"missing .*meta/esc50\.csv"):
        load_esc50(tmp_path)
    with pytest.raises(ValueError, match="fold numbers 1-5"):
        load_esc50(tmp_path, folds=(6,))


# ---------------------------------------------------------------- registry

def test_registry_dispatches_and_rejects_unknown(tmp_path):
    truth = fx.make_mnist(tmp_path)
    assert {"mnist", "fashion-mnist", "cifar10", "stl10", "cub", "imagefolder", "esc50"} <= set(REAL_DATASETS)
    data = load_real("mnist", tmp_path, "test")
    np.testing.assert_array_equal(data.labels, truth["test"][1])
    with pytest.raises(KeyError, match="Unknown real dataset kind 'imagenet'"):
        load_real("imagenet", tmp_path, "train")
    with pytest.raises(ValueError, match="Unknown split 'val'"):
        load_real("mnist", tmp_path, "val")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_real("mnist", tmp_path, "train", max_samples=5)) == 5


def test_unknown_kind_names_every_known_kind():
    with pytest.raises(KeyError) as err:
        load_real("imagenet", "/nowhere", "train")
    message = str(err.value)
    # The message itself, not KeyError's quoted repr of it.
    assert message.startswith("Unknown real dataset kind 'imagenet'")
    for kind in ("mnist", "fashion-mnist", "cifar10", "stl10", "cub", "imagefolder", "esc50"):
        assert kind in message
    assert CHECKABLE_KINDS == ("cub", "imagefolder", "esc50")
    with pytest.raises(ValueError, match="check-folder knows cub, imagefolder, esc50; got 'mnist'"):
        check_real_folder("mnist", "/nowhere")


# ---------------------------------------------------------------- check-folder: the loaders' parsers, every problem

def _messages(report: dict) -> str:
    return " | ".join(f"{p['severity']}: {p['path']}: {p['message']}" for p in report["problems"])


@pytest.mark.parametrize("kind, make", [
    ("cub", lambda root: fx.make_cub(root)),
    ("imagefolder", lambda root: fx.make_image_folder(root, {"cat": 3, "dog": 2})),
    ("esc50", lambda root: fx.make_esc50(root, ESC_CLIPS)),
])
def test_check_folder_passes_a_good_folder(tmp_path, kind, make):
    make(tmp_path)
    report = check_real_folder(kind, tmp_path, decode=True)
    assert report["ok"] and report["errors"] == report["warnings"] == 0, _messages(report)
    expected = {"cub": {"images": 7, "classes": 3}, "imagefolder": {"images": 5, "classes": 2},
                "esc50": {"clips": 6, "classes": 3}}[kind]
    assert report["checked"] == expected


def test_cub_check_lists_what_the_loader_refuses_first(tmp_path):
    truth = fx.make_cub(tmp_path)
    cub = truth["root"]
    split = cub / "train_test_split.txt"
    split.write_text(split.read_text().replace("2 0", "2 7"))
    boxes = cub / "bounding_boxes.txt"
    boxes.write_text(boxes.read_text() + "99 1 1 1 1\n")
    (cub / "classes.txt").write_text((cub / "classes.txt").read_text() + "9 009.Gap\n")
    report = check_real_folder("cub", tmp_path)
    messages = _messages(report)
    assert report["errors"] == 3 and report["warnings"] == 0, messages
    for needle in ("train_test_split.txt: line 2: cannot parse '2 7'", "is_training_image must be 0 or 1",
                   "bounding_boxes.txt: image id 99 is not listed in images.txt", "class ids must run 1..4 without gaps"):
        assert needle in messages, needle
    # The same parser stops the loader at the first of them, in the order check-folder lists them.
    first = report["problems"][0]
    with pytest.raises(DatasetFormatError) as err:
        load_cub(tmp_path, "train", image_size=16)
    assert str(err.value) == f"{first['path']}: {first['message']}"


def test_cub_check_reports_every_bad_line_and_missing_file(tmp_path):
    truth = fx.make_cub(tmp_path)
    cub = truth["root"]
    (cub / "image_class_labels.txt").write_text("1 1\n2 x\n2 1\n3\n4 7\n5 1\n6 1\n7 1\nx 1\n")
    (cub / "bounding_boxes.txt").unlink()
    (cub / "images" / truth["paths"][6]).unlink()
    messages = _messages(check_real_folder("cub", tmp_path))
    for needle in ("line 2: cannot parse '2 x'", "line 3: id 2 is listed twice", "line 4: expected 2 fields",
                   "image 4 has class 7, not in classes.txt", "'x' is not an integer id",
                   "image 3 of images.txt has no line in image_class_labels.txt",
                   "bounding_boxes.txt: missing (image id, x, y, width, height)",
                   f"{truth['paths'][6]}: listed in images.txt (image 6) but missing"):
        assert needle in messages, (needle, messages)
    assert "image 2 of images.txt has no line" not in messages  # its bad line is reported once, as such


def test_cub_loader_refuses_a_path_outside_images_in_another_split(tmp_path):
    truth = fx.make_cub(tmp_path)
    test_id = next(i + 1 for i, t in enumerate(truth["train"]) if not t)
    images = truth["root"] / "images.txt"
    images.write_text(images.read_text().replace(f"{test_id} {truth['paths'][test_id]}", f"{test_id} ../../outside.jpg"))
    with pytest.raises(DatasetFormatError, match=rf"images.txt: image {test_id}: '\.\./\.\./outside\.jpg' is not a path inside"):
        load_cub(tmp_path, "train", image_size=16)


def test_image_folder_check_counts_split_folders_and_warns_of_empty_classes(tmp_path):
    fx.make_image_folder(tmp_path / "train", {"ant": 2, "bee": 1})
    fx.make_image_folder(tmp_path / "test", {"bee": 1}, seed=1)
    (tmp_path / "test" / "cow").mkdir()
    (tmp_path / "test" / "bee" / "broken.png").write_bytes(b"not a png")
    report = check_real_folder("imagefolder", tmp_path)
    assert report["checked"] == {"images": 5, "classes": 3}
    assert (report["errors"], report["warnings"]) == (1, 1), _messages(report)
    assert "broken.png" in report["problems"][0]["path"] or "broken.png" in report["problems"][1]["path"]
    assert "class folder holds no image files" in _messages(report)


def test_esc50_check_lists_what_the_loader_refuses_first(tmp_path):
    fx.make_esc50(tmp_path, ESC_CLIPS)
    csv_path = tmp_path / "meta" / "esc50.csv"
    lines = csv_path.read_text().splitlines()
    lines.append(lines[1])  # listed twice: a warning, read once
    lines.append("x.wav,9,3,wind,False,1,A")
    lines.append("y.wav,1,0,cat,False,1,A")
    lines.append("z.wav,1")
    csv_path.write_text("\n".join(lines) + "\n")
    report = check_real_folder("esc50", tmp_path)
    messages = _messages(report)
    assert (report["errors"], report["warnings"]) == (4, 1), messages
    for needle in ("line 9, fold: id 9 is outside 1-5", "line 10: target 0 is named both 'dog' and 'cat'",
                   "y.wav: listed in meta/esc50.csv (line 10) but missing", "line 11: missing fields",
                   "is listed twice"):
        assert needle in messages, (needle, messages)
    first = next(p for p in report["problems"] if p["severity"] == "error")
    with pytest.raises(DatasetFormatError) as err:
        load_esc50(tmp_path)
    assert str(err.value) == f"{first['path']}: {first['message']}"
