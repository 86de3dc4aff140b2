"""B-cos networks (Böhle et al., CVPR 2022): recipes (``recipes``), the ``bcos`` explainer with neurons
and Δ-explanations (``explainers``), and what the B-cos view shows (``views``). The layers and networks
are architectures in :mod:`interp_core.models.bcos`; the recipes are classifiers trained by the standard
classifier handler."""
from interp_core.views import View, register_view

register_view(View("bcos", "B-cos", ":material/palette:", "Methods",
                   "coloured weight maps W(x), contribution maps, Δ-explanations, neurons, the B ablation", order=0,
                   warm="interp_core.methods.bcos.views:warm_up"))
