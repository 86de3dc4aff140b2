"""The embedded datasets, registered by name (torch-free: each loader is imported on first use)."""
from interp_core.data import DatasetEntry, register_dataset

register_dataset(DatasetEntry(
    "shapes", "64x64 scenes of one object: classes = shape x colour x pattern, per-image concepts, masks, part masks, captions",
    "interp_core.data.shapes", "load_shapes", "shapes_info", info_options={"name": "shapes"}, resizable=True))
register_dataset(DatasetEntry(
    "shapes-spurious", "shapes whose background stands in for the shape 95% of the time in train, random in test",
    "interp_core.data.shapes", "load_shapes", "shapes_info",
    load_options={"spurious": True, "name": "shapes-spurious"}, info_options={"name": "shapes-spurious"}, resizable=True))
register_dataset(DatasetEntry(
    "shapes-spurious-class",
    "shapes whose background follows the class 95% of the time in train (TravelingBirds' design), random in test",
    "interp_core.data.spurious", "load_shapes_spurious", "shapes_spurious_info", resizable=True))
register_dataset(DatasetEntry(
    "shapes-multi", "2-3 possibly overlapping objects per scene, multi-hot labels, one mask per object, captions with relations",
    "interp_core.data.scenes", "load_shapes_multi", "shapes_multi_info", resizable=True))
register_dataset(DatasetEntry(
    "digits", "scikit-learn handwritten digits upsampled to 28x28",
    "interp_core.data.digits", "load_digits_split", "digits_info"))
register_dataset(DatasetEntry(
    "digits-overlap", "two overlapping digits (weights 0.5/0.5 and 0.7/0.3), both labels, per-source masks",
    "interp_core.data.digit_mixtures", "load_digits_overlap", "digits_overlap_info"))
register_dataset(DatasetEntry(
    "digits-on-texture", "a digit over a textured shapes background",
    "interp_core.data.digit_mixtures", "load_digits_on_texture", "digits_on_texture_info"))
register_dataset(DatasetEntry(
    "sounds", "synthetic 16 kHz sound events (2 s) with exact time-frequency masks and shared sound concepts",
    "interp_core.data.sounds", "load_sounds", "sounds_info", resizable=True))
register_dataset(DatasetEntry(
    "sounds-mix", "two-event mixtures with both labels, per-source time-frequency masks and measured SNR",
    "interp_core.data.sound_mixtures", "load_sounds_mix", "sounds_mix_info", resizable=True))
register_dataset(DatasetEntry(
    "creatures", "part-based creatures (2D FunnyBirds): 48 classes of 5 part variants, part maps, distractors, interventions",
    "interp_core.data.creatures", "load_creatures", "creatures_info", resizable=True))
