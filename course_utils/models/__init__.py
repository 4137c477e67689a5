"""Models and their training: what learns from data (torch, scikit-learn, Keras).

Modules
-------
adversarial
    gradient reversal, pivot and DisCo training of a tagger robust to a nuisance (notebook 10).
compression
    the baseline quark/gluon tagger, pruning, quantization, distillation, ONNX export (notebook 06).
boosting
    scikit-learn's histogram boosted trees, their weighted bin edges computed in one pass (notebook 08).
cwola
    out-of-fold scores of classifiers trained on mixed samples (CWoLa hunting, notebook 08).
quantiles
    scikit-learn's quantile transformation, fitted by one sort per variable (notebook 09).

The figures of merit of these models are in :mod:`course_utils.metrics`; the
physics they learn from, in :mod:`course_utils.physics`. torch is imported only by
the modules that train torch models, never by ``import course_utils.models``:
``from course_utils.models import adversarial``.
"""
