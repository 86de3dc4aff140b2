"""Q-SENN and its baseline SLDD (Norrenbrock et al., AAAI 2024 / ECCV 2022): a dense backbone trained with
the Feature Diversity Loss, a few selected features, a sparse ternary decision layer (every class explained
by about five features, one shared magnitude), fine-tuned in iterations; features named through CLIP-style
alignment. Torch-free: this module only registers the Q-SENN view."""
from interp_core.views import View, register_view

register_view(View("qsenn", "Q-SENN", ":material/grid_on:", "Methods",
                   "each class by ~5 ternary features, each feature named (CLIP and attributes), local explanations, Tables 1/4/6",
                   order=20, warm="interp_core.methods.qsenn.views:warm_up"))
