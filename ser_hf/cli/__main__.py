"""``python -m ser_hf.cli``: the same as ``ser-hf``."""

import sys

from . import main

sys.exit(main())
