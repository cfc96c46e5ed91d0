"""Shared and group-specific weights (exploration, session 9; the protocol and machinery of
``../fits.py``).

Feature augmentation (Daume III 2007, "frustratingly easy domain adaptation"): each standardised
training vector x of group g is fitted as [x, x * [g = g_1], x * [g = g_2], ...] by one logistic
regression, for two kinds of group: the corpus and the speaker's gender (a kind with one level in the
training data adds nothing). Under the same L2 penalty a direction that works in every group is
cheapest in the shared weights; what only one group does goes into that group's weights.

Jobs (the default's recipe, rooms x1, otherwise unchanged):
  ref    the default's recipe through ``fits.py`` (checks that the module reproduces session 6's rows)
  easy   at test only the shared weights are used: corpus- and gender-invariant training, linear and
         closed over one matrix (the saved model would stay one StandardScaler -> LogisticRegression)
  gated  at test the shared weights plus the gender weights, mixed by a gender classifier (a class-
         balanced logistic regression on the same standardised features, trained on the training
         clips' gender): a gender-dependent model, aimed at the male gap. The corpus weights are
         dropped (a user's corpus is unknown)
  gender the same with gender weights only (no corpus weights): on the r6t folds the corpus weights
         take what RAVDESS alone does, which the RAVDESS validation and test actors need; on the
         xc folds (one training corpus) it is the same fit as gated
  gender-voices  gender with the voices bundle's copies (rooms and other voices, x2) in place of the
         default's; its reference is voices x2 (session 7). On T->R (one group) it is the plain
         voices x2 fit, session 7's row

    python session9.py DATA_DIR ref|easy|gated|gender|gender-voices [FOLD ...] > OUT.jsonl   (FOLD: R->T, T->R, 0..5; all in this order by default)
"""

import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, __file__.rsplit("/", 2)[0])
import fits  # noqa: E402


class SharedAndGroups:
    """``_fit``'s contract for the augmented fit: ``[0]`` the scaler, ``[-1]`` a logistic regression
    holding the shared weights; ``predict_proba`` adds the gender weights when ``gate`` is set."""

    def __init__(self, scaler, shared, gender_weights, gate):
        self.scaler, self.shared, self.gender_weights, self.gate = scaler, shared, gender_weights, gate

    def __getitem__(self, i):
        return (self.scaler, self.shared)[i]

    def decision_function(self, x):
        xs = self.scaler.transform(x)
        z = xs @ self.shared.coef_.T + self.shared.intercept_
        if self.gate is not None:
            p = self.gate.predict_proba(xs)  # columns: the gate's classes, i.e. the genders
            for k, g in enumerate(self.gate.classes_):
                z = z + p[:, k : k + 1] * (xs @ self.gender_weights[g].T)
        return z

    def predict_proba(self, x):
        z = self.decision_function(x)
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, x):
        return self.shared.classes_[self.decision_function(x).argmax(1)]


def augmented_fit(
    x, y, c, seed, soft=None, alpha=0.0, sample_weight=None, gated=False, kinds=("corpus", "gender")
):
    groups = fits.GROUPS[-1]
    assert soft is None and len(groups) == len(x)
    kinds = {
        k: np.asarray([g.split("/")[i] for g in groups])
        for i, k in enumerate(("corpus", "gender"))
        if k in kinds
    }
    blocks = [(kind, level) for kind, v in kinds.items() if len(set(v)) > 1 for level in sorted(set(v))]
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    parts = [xs] + [xs * (kinds[kind] == level)[:, None] for kind, level in blocks]
    lr = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    lr.fit(np.hstack(parts), y, sample_weight=sample_weight)
    d = x.shape[1]
    weights = {block: lr.coef_[:, d * (i + 1) : d * (i + 2)] for i, block in enumerate(blocks)}
    lr.coef_, lr.n_features_in_ = lr.coef_[:, :d].copy(), d
    gate, by_gender = None, {}
    if gated and ("gender", "female") in weights:
        gate = LogisticRegression(C=0.01, max_iter=3000, class_weight="balanced", random_state=seed)
        gate.fit(xs, kinds["gender"])
        by_gender = {g: weights["gender", g] for g in gate.classes_}
    return SharedAndGroups(scaler, lr, by_gender, gate)


data, job = sys.argv[1], sys.argv[2]
wanted = sys.argv[3:]
if job in ("easy", "gated", "gender", "gender-voices"):
    kinds = ("gender",) if job.startswith("gender") else ("corpus", "gender")
    fits.replace_fit(lambda *a, **k: augmented_fit(*a, **k, gated=job != "easy", kinds=kinds))
variant = {
    "ref": "rooms x1 (the default's recipe)",
    "easy": "rooms x1, shared + (corpus, gender) weights, shared only at test",
    "gated": "rooms x1, shared + (corpus, gender) weights, shared + gated gender weights at test",
    "gender": "rooms x1, shared + gender weights, shared + gated gender weights at test",
    "gender-voices": "voices x2, shared + gender weights, shared + gated gender weights at test",
}[job]
ex = fits.Exploration(data)
folds = {str(fold): (protocol, fold, split_spec) for protocol, fold, split_spec in fits.FOLDS}
for name in wanted or folds:  # in the order given
    ex.fit(*folds[name], variant, fits.VOICES if job.endswith("voices") else fits.ROOMS)
