"""Data: files -> corpus rows -> ``datasets.Dataset`` -> speaker-independent splits -> augmentation.

``audio`` decodes anything FFmpeg reads; ``labels`` holds the label schemes; ``layouts`` parses
native corpus file names, ``sources`` reads audio folders and Hub datasets, ``rows`` builds the
shared columns and ``corpora`` is the entry point (``load_corpus``); ``splits`` and ``folds`` split
by speaker on metadata only; ``transforms`` (pure batched tensor functions), ``augment`` (config-
driven modules) and ``expand`` (offline copies) augment training clips. Nothing here imports
training, inference or the model folder.
"""
