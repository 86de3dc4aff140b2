"""Standard CNN classifiers: supervised training of an architecture on a dataset (recipe kind ``classifier``).

The baselines every other family explains (post-hoc methods, KMEx, PIQ) or compares with (B-cos).
Other families reuse :class:`~interp_core.methods.standard.recipes.ClassifierRecipe` for their own
classifiers (B-cos networks are classifiers with a B-cos architecture).
"""
