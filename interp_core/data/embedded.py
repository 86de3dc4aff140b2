"""The embedded datasets, registered by name (torch-free: each loader is imported on first use)."""
from interp_core.data import DatasetEntry, register_dataset

register_dataset(DatasetEntry(
    "shapes", "64x64 scenes, 24 classes = shape x color x pattern, masks and attributes",
    "interp_core.data.shapes", "load_shapes", "shapes_info", info_options={"name": "shapes"}, resizable=True))
register_dataset(DatasetEntry(
    "shapes-spurious", "shapes with background correlated with class in train, random in test",
    "interp_core.data.shapes", "load_shapes", "shapes_info",
    load_options={"spurious": True, "name": "shapes-spurious"}, info_options={"name": "shapes-spurious"}, resizable=True))
register_dataset(DatasetEntry(
    "shapes-captions", "shapes with a caption per image built from attributes and background",
    "interp_core.data.shapes", "load_shapes", "shapes_info",
    load_options={"captions": True, "name": "shapes-captions"}, info_options={"name": "shapes-captions"}, resizable=True))
register_dataset(DatasetEntry(
    "digits", "scikit-learn handwritten digits upsampled to 28x28",
    "interp_core.data.digits", "load_digits_split", "digits_info"))
register_dataset(DatasetEntry(
    "sounds", "synthetic 16 kHz sound events (2 s) with exact time-frequency masks",
    "interp_core.data.sounds", "load_sounds", "sounds_info", resizable=True))
