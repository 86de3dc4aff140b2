# %% [markdown]
# # interp_core in a notebook
#
# Runs from any folder once the package is installed (`pip install .` in the checkout; see the README's
# "Install as a package"), in Jupyter or VS Code (the `# %%` cells), or as a script. It loads two shipped
# models, explains one test image with two families (the B-cos contribution map of `bcos-shapes`, Grad-CAM
# of the standard `cnn-shapes`), scores both with the grid pointing game on one 2×2 grid, and plots.
# Nothing trains and nothing downloads: the checkpoints ship with the package.

# %%
import math

import matplotlib.pyplot as plt
import torch

from interp_core.data import load_split
from interp_core.methods import get_explainer
from interp_core.metrics.pointing_game import default_smooth, grid_maps, localisation_scores
from interp_core.store import load_model
from interp_core.visualize import explanation_panels, image_to_uint8

models = {"bcos": load_model("bcos-shapes", train_if_missing=False),
          "gradcam": load_model("cnn-shapes", train_if_missing=False)}
explainers = {method: get_explainer(method, loaded) for method, loaded in models.items()}
test = load_split("shapes", "test")  # generated on first use, then cached
for method, loaded in models.items():
    print(f"{method:8s} explains {loaded.name} ({loaded.source} checkpoint, weights {loaded.card.fingerprint})")

# %% [markdown]
# ## One test image, two families
#
# Each explainer returns the same `Explanation`: an attribution map at input resolution, the model's
# logit for the class, and how the method is drawn (`panels`).

# %%
index = 0
x, label = test.inputs([index])[0], int(test.labels[index])
explanations = {method: explainer.explain(x, [label])[0] for method, explainer in explainers.items()}
for method, explanation in explanations.items():
    print(f"{method:8s} logit {explanation.score:7.3f}  map {tuple(explanation.attribution.shape)}  "
          f"sum {float(explanation.attribution.sum()):8.3f}")
# B-cos Eq. 15: the contribution map sums to the logit minus the model's fixed bias -log(C - 1) (Eq. 16)
bias = -math.log(test.info.num_classes - 1)
print(f"bcos map sum - (logit - bias) = {float(explanations['bcos'].attribution.sum()) - (explanations['bcos'].score - bias):.1e}")

panels = [("input: " + test.info.class_names[label], image_to_uint8(x))]
panels += [(f"{method}: {title}", picture) for method, explanation in explanations.items()
           for title, picture in explanation_panels(x, explanation)]
fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2))
for ax, (title, picture) in zip(axes, panels):
    ax.imshow(picture)
    ax.set_title(title, fontsize=8)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## Score them: the grid pointing game on one 2×2 grid
#
# Four test images of distinct classes that both models classify correctly, tiled into one image; each
# method explains each cell's class on the whole grid, and the score is the share of positive attribution
# that falls in that class's cell (B-cos Sec. 4; 1/4 is chance). `interp-core pointing-game` runs the
# same on hundreds of grids.

# %%
with torch.no_grad():
    candidates = test.inputs(list(range(64)))
    correct = torch.stack([loaded.model(candidates.to(loaded.device)).argmax(1).cpu() == torch.as_tensor(test.labels[:64])
                           for loaded in models.values()]).all(0)
grid, seen = [], set()
for i in range(64):
    if correct[i] and int(test.labels[i]) not in seen:
        grid.append(i)
        seen.add(int(test.labels[i]))
    if len(grid) == 4:
        break

smooth = default_smooth(x.shape[-1])
scores, grid_pictures = {}, {}
for method, explainer in explainers.items():
    image, maps = grid_maps(explainer.attribute, test, grid, size=2, device=explainer.device)
    scores[method] = localisation_scores(maps, torch.arange(4), size=2, smooth=smooth)
    grid_pictures[method] = maps
    print(f"{method:8s} pointing game per cell {[round(float(s), 3) for s in scores[method]]}  "
          f"mean {float(scores[method].mean()):.3f}")

fig, axes = plt.subplots(1, 1 + len(explainers), figsize=(3.2 * (1 + len(explainers)), 3.4))
axes[0].imshow(image_to_uint8(image))
axes[0].set_title("2×2 grid of test images", fontsize=8)
print("grid classes:", ", ".join(test.info.class_names[int(test.labels[i])] for i in grid))
for ax, (method, maps) in zip(axes[1:], grid_pictures.items()):
    positive = maps.clamp(min=0)  # the four classes' maps, each scaled to its own maximum, overlaid
    ax.imshow((positive / positive.amax((1, 2), keepdim=True).clamp(min=1e-12)).sum(0), cmap="magma")
    ax.set_title(f"{method}: mean score {float(scores[method].mean()):.2f}", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.show()
