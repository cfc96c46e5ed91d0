"""``evaluate`` module for speech emotion recognition: WA, UA, macro/weighted F1, per-class scores,
confusion matrix, and per-speaker / per-gender accuracy.

Load it offline from this folder (the Hub's metric scripts cannot be downloaded everywhere)::

    import evaluate
    ser = evaluate.load("path/to/ser_hf/training/ser_metrics")  # or ser_hf.training.metrics.load_evaluate_metric()
    ser.compute(predictions=[0, 1, 1], references=[0, 1, 2], label_names=["neutral", "happy", "sad"])

``evaluate`` copies this file and its sibling ``ser_metrics_core.py`` into its module cache, so
they import nothing from ``ser_hf``; the numbers come from ``ser_metrics_core.compute_ser_metrics``,
the same function ``ser_hf.training.metrics`` uses.
"""

import datasets
import evaluate

from .ser_metrics_core import compute_ser_metrics

_DESCRIPTION = """\
Speech emotion recognition metrics computed with scikit-learn. WA (weighted accuracy) is plain
accuracy; UA (unweighted accuracy, unweighted average recall) is the mean of per-class recall over
the classes present in the references (scikit-learn's balanced accuracy) and is the headline number
for imbalanced emotion corpora. Also returns macro and weighted F1, per-class precision / recall /
F1 / support / accuracy, the confusion matrix (counts and row-normalised) in the fixed order of
`label_names`, a text classification report and, when speakers or genders are given, accuracy per
speaker and per gender.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted class ids, 0..C-1.
    references (`list` of `int`): true class ids, 0..C-1.
    label_names (`list` of `str`, optional): the C class names in id order. Default: the ids as
        strings, 0..max id seen.
    speakers (`list`, optional): speaker of each clip, for `per_speaker` (pass to `compute`, in the
        same order as all added predictions).
    genders (`list`, optional): gender of each clip, for `per_gender`.
    probabilities (`list` of `list` of `float`, optional): (n, C) class probabilities, for
        `log_loss` (= `nll`), `brier`, `ece` (15-bin expected calibration error) and `top2_accuracy`.
Returns:
    wa, ua, f1_macro, f1_weighted (`float`), n, labels, per_class, confusion, confusion_normalized,
    classification_report, and per_speaker / per_gender / log_loss, nll, brier, ece / top2_accuracy when requested.
Examples:
    >>> ser = evaluate.load("path/to/ser_hf/training/ser_metrics")  # doctest: +SKIP
    >>> out = ser.compute(predictions=[0, 0, 1, 2], references=[0, 1, 1, 2], label_names=["a", "b", "c"])
    >>> round(out["wa"], 2), round(out["ua"], 2)  # doctest: +SKIP
    (0.75, 0.83)
"""

_CITATION = """\
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V. and Thirion, B. and others},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class SerMetrics(evaluate.Metric):
    """WA, UA, F1 and confusion for speech emotion recognition (see the module docstring)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.balanced_accuracy_score.html",
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.confusion_matrix.html",
            ],
        )

    def _compute(
        self,
        predictions,
        references,
        label_names=None,
        speakers=None,
        genders=None,
        probabilities=None,
    ):
        if label_names is None:
            label_names = [str(i) for i in range(max(max(predictions), max(references)) + 1)]
        return compute_ser_metrics(
            references,
            predictions,
            label_names,
            speakers=speakers,
            genders=genders,
            y_prob=probabilities,
        )
