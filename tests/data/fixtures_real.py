"""Tiny copies of real datasets written in exactly their published on-disk formats.

Each ``make_*`` writes a dataset tree under a folder and returns the ground truth it wrote, so tests
can compare what the loaders read against what was put there.
"""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np

CUB_CLASSES = ("001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross")
CUB_ATTRIBUTES = ("has_bill_shape::curved_(up_or_down)", "has_bill_shape::dagger", "has_wing_color::blue", "has_size::small_(5_-_9_in)")
ESC50_HEADER = "filename,fold,target,category,esc10,src_file,take"


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    """LeCun's idx format: 0, 0, type 0x08 (ubyte), ndim, big-endian uint32 dims, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(f"{path}.gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def make_mnist(root: Path, folder: str = "MNIST", n_train: int = 12, n_test: int = 7, gz: bool = False, seed: int = 0) -> dict:
    """``root/<folder>/raw`` with the four idx files (torchvision's layout)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels, gz)
        truth["train" if prefix == "train" else "test"] = (images, labels.astype(np.int64))
    return truth


def _py2_style_pickle(obj: object) -> bytes:
    # Protocol 2 names classes by text lines; the official batches (numpy 1, Python 2) say numpy.core.
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def make_cifar10(root: Path, per_batch: int = 3, label_names: tuple[str, ...] | None = None, seed: int = 0) -> dict:
    """``root/cifar-10-batches-py`` with data_batch_1..5, test_batch (dicts of uint8 (N, 3072) rows) and batches.meta."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = label_names or ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    truth = {"train": ([], []), "test": ([], [])}
    for batch in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        rows = images.transpose(0, 3, 1, 2).reshape(per_batch, 3072)
        entry = {"batch_label": f"{batch} of 6", "labels": labels, "data": rows, "filenames": [f"img_{i}.png" for i in range(per_batch)]}
        (folder / batch).write_bytes(_py2_style_pickle(entry))
        split = "test" if batch == "test_batch" else "train"
        truth[split][0].append(images)
        truth[split][1].append(np.array(labels))
    meta = {"num_cases_per_batch": per_batch, "label_names": list(names), "num_vis": 3072}
    (folder / "batches.meta").write_bytes(_py2_style_pickle(meta))
    return {k: (np.concatenate(v[0]), np.concatenate(v[1])) for k, v in truth.items()}


def make_stl10(root: Path, n_train: int = 4, n_test: int = 3, seed: int = 0) -> dict:
    """``root/stl10_binary`` with {train,test}_{X,y}.bin (column-major planar bytes, 1-based labels)."""
    rng = np.random.default_rng(seed)
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    names = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
    (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    truth = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, n)
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(images.transpose(0, 3, 2, 1)).tobytes())
        (folder / f"{split}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
        truth[split] = (images, labels)
    return truth


def make_cub(root: Path, attributes_at: str = "root", segmentations: bool = True, seed: int = 0) -> dict:
    """A CUB_200_2011 tree: 3 classes, 7 images of different sizes (one grayscale), attributes with one
    malformed line carrying extra fields, and segmentation PNGs whose mask is a rectangle painted red
    in the image (blue elsewhere). ``attributes_at`` is ``"root"`` or ``"folder"`` (attributes/attributes.txt)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    cub = root / "CUB_200_2011"
    (cub / "attributes").mkdir(parents=True)
    sizes = [(40, 30), (30, 44), (36, 36), (50, 32), (28, 40), (44, 34), (32, 32)]
    classes = [1, 1, 2, 2, 3, 3, 1]
    train = [1, 0, 1, 0, 1, 0, 1]
    images_txt, labels_txt, split_txt, boxes_txt, paths = [], [], [], [], {}
    rects = {}
    for image_id, ((w, h), c, t) in enumerate(zip(sizes, classes, train), start=1):
        folder = CUB_CLASSES[c - 1]
        name = f"{folder.split('.')[1]}_{image_id:04d}_{image_id + 100}.jpg"
        rel = f"{folder}/{name}"
        x0, y0 = int(rng.integers(2, w // 3)), int(rng.integers(2, h // 3))
        x1, y1 = int(rng.integers(w // 2, w - 2)), int(rng.integers(h // 2, h - 2))
        pixels = np.zeros((h, w, 3), dtype=np.uint8)
        pixels[..., 2] = 200
        pixels[y0:y1, x0:x1] = (220, 20, 20)
        mask = np.zeros((h, w), dtype=np.uint8)
        mask[y0:y1, x0:x1] = 255
        (cub / "images" / folder).mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(pixels)
        if image_id == 3:
            img = img.convert("L")
        img.save(cub / "images" / rel, quality=95)
        if segmentations:
            (root / "segmentations" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(mask).save(root / "segmentations" / folder / name.replace(".jpg", ".png"))
        images_txt.append(f"{image_id} {rel}")
        labels_txt.append(f"{image_id} {c}")
        split_txt.append(f"{image_id} {t}")
        boxes_txt.append(f"{image_id} {x0}.0 {y0}.0 {x1 - x0}.0 {y1 - y0}.0")
        paths[image_id] = rel
        rects[image_id] = (x0, y0, x1, y1, w, h)
    (cub / "images.txt").write_text("\n".join(images_txt) + "\n")
    (cub / "image_class_labels.txt").write_text("\n".join(labels_txt) + "\n")
    (cub / "train_test_split.txt").write_text("\n".join(split_txt) + "\n")
    (cub / "bounding_boxes.txt").write_text("\n".join(boxes_txt) + "\n")
    (cub / "classes.txt").write_text("\n".join(f"{i} {c}" for i, c in enumerate(CUB_CLASSES, start=1)) + "\n")
    names_text = "\n".join(f"{i} {a}" for i, a in enumerate(CUB_ATTRIBUTES, start=1)) + "\n"
    (root / "attributes.txt" if attributes_at == "root" else cub / "attributes" / "attributes.txt").write_text(names_text)
    (cub / "attributes" / "certainties.txt").write_text("1 not visible\n2 guessing\n3 probably\n4 definitely\n")
    present = rng.integers(0, 2, (len(sizes), len(CUB_ATTRIBUTES))).astype(np.uint8)
    certainty = rng.integers(1, 5, (len(sizes), len(CUB_ATTRIBUTES))).astype(np.uint8)
    lines = []
    for i in range(len(sizes)):
        for a in range(len(CUB_ATTRIBUTES)):
            line = f"{i + 1} {a + 1} {present[i, a]} {certainty[i, a]} {rng.uniform(1, 30):.4f}"
            if (i, a) in ((0, 2), (1, 1)):
                line = f"{i + 1} {a + 1} {present[i, a]} {certainty[i, a]} 0 {rng.uniform(1, 30):.4f}"
            lines.append(line)
    (cub / "attributes" / "image_attribute_labels.txt").write_text("\n".join(lines) + "\n")
    return {
        "root": cub, "classes": classes, "train": train, "paths": paths, "rects": rects,
        "present": present, "certainty": certainty,
    }


def make_image_folder(root: Path, classes: dict[str, int], size: tuple[int, int] = (20, 14), seed: int = 0) -> dict[str, list[Path]]:
    """``root/<class>/img_k.png`` with ``classes[name]`` solid-colour images each plus a README.txt that is
    not an image; the colour encodes the class (red level = 40 * class index + 20)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    written: dict[str, list[Path]] = {}
    for index, (name, count) in enumerate(sorted(classes.items())):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        written[name] = []
        for k in range(count):
            pixels = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            pixels[..., 0] = 40 * index + 20
            pixels[..., 1] = int(rng.integers(0, 256))
            path = folder / f"img_{k}.png"
            Image.fromarray(pixels).save(path)
            written[name].append(path)
        (folder / "README.txt").write_text("not an image")
    return written


def make_esc50(root: Path, clips: list[tuple[int, int, str, bool, float]], seconds: float = 1.0, rate: int = 44100) -> dict[str, float]:
    """``root/meta/esc50.csv`` + ``root/audio/*.wav``: one clip per ``(fold, target, category, esc10,
    frequency)``, a 16-bit PCM sine of that frequency; returns ``{filename: frequency}``."""
    import soundfile as sf

    (root / "meta").mkdir(parents=True)
    (root / "audio").mkdir(parents=True)
    lines, freqs = [ESC50_HEADER], {}
    t = np.arange(int(seconds * rate)) / rate
    for k, (fold, target, category, esc10, freq) in enumerate(clips):
        filename = f"{fold}-{100 + k}-A-{target}.wav"
        sf.write(root / "audio" / filename, 0.5 * np.sin(2 * np.pi * freq * t), rate, subtype="PCM_16")
        lines.append(f"{filename},{fold},{target},{category},{esc10},{100 + k},A")
        freqs[filename] = freq
    (root / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return freqs
