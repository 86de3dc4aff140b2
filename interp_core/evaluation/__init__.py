"""Orchestration by recipe name, above the pure metrics: which models are ready, which (method, model)
pairs apply, the side-by-side comparison, pointing-game runs and example grids. Every result cache here
keys on the models' weight fingerprints (their cards), so retrained weights never reuse old results."""
