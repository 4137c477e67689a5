"""Every figure of merit of the course: how good a selection, a model or a generator is.

* :mod:`~course_utils.metrics.classification`: accuracy, precision, recall, F1,
  per-class and aggregated (support-weighted) metrics;
* :mod:`~course_utils.metrics.hep`: signal efficiency, background rejection,
  R50, ROC/AUC, significance, SIC;
* :mod:`~course_utils.metrics.regression`: MSE, MAE, RMSE, R²;
* :mod:`~course_utils.metrics.compression`: parameters, sizes, latency, speedup;
* :mod:`~course_utils.metrics.decorrelation`, :mod:`~course_utils.metrics.systematics`:
  distance correlation, Jensen-Shannon divergence, significance with an uncertain background;
* :mod:`~course_utils.metrics.tracking`: the TrackML score, tracking efficiency and fake rate;
* :mod:`~course_utils.metrics.generative`: Wasserstein distances, separation power,
  FPD, KPD and the classifier test of generated samples;
* :mod:`~course_utils.metrics.sideband_fit`: the sideband fit of a bump hunt and the
  significance of the excess in the signal region (iminuit);
* :mod:`~course_utils.metrics.uncertainty`: the paired bootstrap, the spread over seeds
  and the verdict ("A meilleur", "B meilleur", "indiscernables") of every comparison.

The first four are re-exported here; import the others by name
(``from course_utils.metrics import sideband_fit``).
Every function checks its inputs and raises ``ValueError`` with a message that
says what was received and what was expected.
"""

from course_utils.metrics.classification import (
    aggregated_from_confusion,
    aggregated_metrics,
    classification_metrics,
    per_class_metrics,
)
from course_utils.metrics.compression import (
    accuracy_drop,
    check_same_output,
    compression_ratio,
    count_nonzero,
    count_parameters,
    latency,
    parameter_arrays,
    serialized_size,
    speedup,
)
from course_utils.metrics.hep import (
    asimov_significance,
    auc,
    efficiencies,
    efficiency_at_background,
    rejection_at_efficiency,
    roc,
    significance,
)
from course_utils.metrics.regression import regression_metrics

__all__ = [
    "classification_metrics", "per_class_metrics", "aggregated_metrics", "aggregated_from_confusion",
    "roc", "auc", "efficiencies", "rejection_at_efficiency", "efficiency_at_background", "significance", "asimov_significance",
    "regression_metrics",
    "parameter_arrays", "count_parameters", "count_nonzero", "serialized_size", "compression_ratio",
    "accuracy_drop", "latency", "speedup", "check_same_output",
]
