"""Every figure the guards refuse beyond, in one place (torch-free, no imports).

The guards read these at call time as ``limits.NAME``, so a test that lowers one does it here:
``monkeypatch.setattr(interp_core.guards.limits, "MAX_UPLOAD_BYTES", 100)``. The same names exported by
:mod:`interp_core.guards` are copies for callers that show or pass a figure.
"""
from __future__ import annotations

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
#: Scans of one JPEG; encoders write 1 (baseline) to about 10-20 (progressive, optimised).
MAX_JPEG_SCANS = 100
#: A dataset image file (CUB, ImageFolder) is read whole before decoding; larger ones are refused.
MAX_DATASET_IMAGE_BYTES = 64 * 1024 * 1024
#: Index and metadata files of a dataset (CUB's image_attribute_labels.txt is about 60 MB, esc50.csv 150 kB).
MAX_INDEX_FILE_BYTES = 256 * 1024 * 1024
#: One CIFAR-10 python batch is about 31 MB.
MAX_PICKLE_BYTES = 256 * 1024 * 1024
#: One array file of a dataset (MNIST's train images are 47 MB, STL-10's train_X.bin 138 MB).
MAX_ARRAY_FILE_BYTES = 1024**3
#: Checkpoint metadata JSON (a few kB in practice).
MAX_METADATA_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_AUDIO_SECONDS = 60.0
MAX_AUDIO_CHANNELS = 32
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000
#: Longest file name shown in a message; longer ones keep their start and end.
MAX_SHOWN_NAME = 80
#: Largest id accepted in an index file (CUB has 11,788 images, ESC-50 50 targets).
MAX_INDEX_ID = 10_000_000
