"""PIQ: class-specific vector-quantised interpretations of a frozen classifier, images and audio
(Paissan, Subakan & Ravanelli, "Posthoc Interpretation via Quantization").

- :mod:`.model`: :class:`ClassPartitionedCodebook` (Eq. 1), :class:`PIQInterpreter` (Fig. 2) and
  :class:`PIQModel` (the frozen classifier with its interpreter, as the store saves it).
- :mod:`.targets`: where training target masks come from (Fig. 3), open to a user's mask model.
- :mod:`.recipes` (``piq-digits``, ``piq-shapes``, ``piq-sounds``), :mod:`.training` (their handler, Eq. 2),
  :mod:`.metrics` (Sec. 3.2 and the reference's AI/AD/AG on a recipe's test data, with Grad-CAM and LIME
  baselines), :mod:`.audio` (interpretation -> waveform with the input's phase), :mod:`.contaminated`
  (Sec. 3.3's mixtures), :mod:`.explainers` (``piq``) and :mod:`.views` (what the PIQ view shows).

Importing the package is light (it only registers the view).
"""
from interp_core.views import View, register_view

register_view(View("piq", "PIQ", ":material/filter_center_focus:", "Methods",
                   "class-specific quantised interpretation masks for images and audio, mixtures, listen to the interpretation, "
                   "fidelity and faithfulness against Grad-CAM and LIME", order=30, warm="interp_core.methods.piq.views:warm_up"))
