"""``python -m ser_hf``: the same as ``ser-hf`` (and ``python -m ser_hf.cli``)."""

import sys

from .cli import main

sys.exit(main())
