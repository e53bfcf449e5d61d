"""Labeling: projects on imported datasets, pre-labels from registered models, review,
agreement, label formats, and publishing the labels as a dataset version."""
