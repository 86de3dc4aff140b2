"""Post-hoc attribution methods for any classifier: Grad, Input×Gradient, Integrated Gradients, DeepLIFT
and Grad-CAM (``gradients``) and LIME (``lime``) through Captum, and RISE (``rise``), on a shared base
(``base``); ``explainers`` registers them all. No recipes of their own."""
