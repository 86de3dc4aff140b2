"""CLIP-style vision-language models that name the features of other models (Q-SENN, AAAI 2024, Eqs. 11-16).

- :mod:`.recipes` (torch-free): ``clip-shapes``, a small open_clip model trained contrastively from
  scratch on the shapes captions.
- :mod:`.model`: :class:`~interp_core.methods.clip.model.ClipEncoder`, an open_clip model with its image
  preprocessing and tokenizer, and a recipe's model built from its custom config registered with open_clip.
- :mod:`.pretrained`: a pretrained open_clip model from a local weights file or the local cache only
  (nothing downloads; a clear error otherwise).
- :mod:`.training`: the ``clip`` recipe handler (contrastive training, zero-shot and retrieval tests).
- :mod:`.alignment`: the estimator :class:`~interp_core.methods.clip.alignment.ClipFeatureAlignment`
  (A_clip = Vᵀ S, Eqs. 11-13) and its validation against ground-truth alignments (Eqs. 14-16, Table 6,
  Fig. 6).
"""
