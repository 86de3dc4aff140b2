"""Post-hoc attribution methods for any classifier: Grad, Input×Gradient, Integrated Gradients, DeepLIFT,
Grad-CAM and LIME through Captum, and RISE (``explainers``). No recipes of their own."""
