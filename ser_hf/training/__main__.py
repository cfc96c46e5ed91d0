"""``python -m ser_hf.training``: the same as ``ser-hf train`` (what ``ser-hf cv`` runs per fold)."""

from ..cli.train import main
from .fold_processes import die_with_parent

die_with_parent()
main()
