"""``ser-hf bench``: ``measure`` (a part in its own process, peak RSS), ``parts`` (features,
augmentation, latency, training, demo) and ``run`` (all parts, ``BENCH.md``). Old ``ser_hf.bench``
names resolve lazily for one release (see ``ser_hf/_compat.py``)."""

from .._compat import package_getattr

__getattr__ = package_getattr(__name__)
