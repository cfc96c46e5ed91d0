"""The model folder: everything a saved model needs, and nothing else (remote code).

``configuration_ser.py``, ``modeling_ser.py`` (both frame families and the functionals model),
``modeling_layers.py`` and ``modeling_base.py`` (their blocks and shared base), ``modeling_compact.py`` (the
CPU family), ``modeling_fusion.py``, ``feature_extraction_ser.py`` (log-mel / MFCC) and
``feature_functions.py`` (its pure batched tensor functions),
``feature_extraction_functionals.py`` (functionals, fusion front end), ``functionals_vector.py`` and
``functionals_statistics.py`` (what computes the functionals), ``voice_encoder.py`` (a pretrained
speaker encoder, its weights beside it), ``turn_encoder.py`` (the default's pretrained speech encoder,
its weights beside it) and ``errors.py`` import only
torch, numpy, transformers and each other with single-dot imports, so ``save_pretrained`` copies
them next to the weights and the Hub can run them without ``ser_hf``. This ``__init__`` imports
nothing (so ``ser_hf.errors`` stays light); ``auto.py`` registers the classes with the Auto
classes.
"""
