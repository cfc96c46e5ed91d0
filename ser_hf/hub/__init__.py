"""The Hub: model and dataset cards (``cards``) and uploads (``push``). Old ``ser_hf.hub`` names
resolve lazily for one release (see ``ser_hf/_compat.py``)."""

from .._compat import package_getattr

__getattr__ = package_getattr(__name__)
