"""The package's exception type, :class:`SERError` (defined in the model folder, which is copied
next to saved models and so cannot import the package)."""

from .models.errors import SERError

__all__ = ["SERError"]
