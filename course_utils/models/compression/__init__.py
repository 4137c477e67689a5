"""Model compression for notebook 06: the baseline quark/gluon tagger and what shrinks it.

The figures of merit (parameters, sizes, latency, speedup) are in
:mod:`course_utils.metrics.compression`; this module holds the techniques and
the benchmark that applies them:

* the data (:func:`tagger_data`) and the baseline MLP on jet observables,
  trained once and cached (:func:`baseline_tagger`);
* training with optional knowledge distillation (:func:`train_classifier`);
* pruning: global magnitude pruning (:func:`prune_global`, :func:`pruning_sweep`),
  sparse storage (:func:`sparse_bytes`), structured pruning (:func:`shrink_mlp`);
* quantization: dynamic and static int8, quantization-aware training, float16;
* ONNX export and ONNX Runtime (:func:`export_onnx`, :func:`quantize_onnx`);
* the benchmark: :func:`measure_variants` measures variants (latencies in
  interleaved rounds, :func:`compare_latency`), :func:`benchmark_table` puts
  the measurements side by side, :func:`pareto_front` finds the best trade-offs.

Sub-modules: :mod:`~course_utils.models.compression.tagger`, :mod:`~course_utils.models.compression.pruning`,
:mod:`~course_utils.models.compression.quantization`, :mod:`~course_utils.models.compression.deploy`,
:mod:`~course_utils.models.compression.benchmark`; everything is re-exported here. torch
and onnx are imported inside the functions, never at module import.

Examples
--------
>>> from course_utils.models import compression as cmp
>>> data = cmp.tagger_data(n_jets=3000)                     # doctest: +SKIP
>>> model, info = cmp.baseline_tagger(data)                 # doctest: +SKIP
>>> pruned = cmp.prune_global(model, 0.9)                   # doctest: +SKIP
"""

from course_utils.models.compression.benchmark import (
    Runner,
    Variant,
    VariantResult,
    benchmark_table,
    compare_latency,
    measure_variants,
    onnx_runner,
    pareto_front,
    torch_runner,
)
from course_utils.models.compression.deploy import export_onnx, onnx_session, quantize_onnx
from course_utils.models.compression.pruning import (
    from_sparse_bytes,
    linear_layers,
    prune_global,
    pruning_sweep,
    remove_pruning,
    shrink_mlp,
    sparse_bytes,
    weight_sparsity,
)
from course_utils.models.compression.quantization import (
    convert_qat,
    prepare_qat,
    quantization_engine,
    quantize_dynamic,
    quantize_static,
    to_half,
)
from course_utils.models.compression.tagger import (
    BASELINE_HIDDEN,
    TaggerData,
    baseline_tagger,
    build_mlp,
    predict_proba,
    tagger_data,
    train_classifier,
)

__all__ = [
    "BASELINE_HIDDEN",
    "TaggerData", "tagger_data", "build_mlp", "train_classifier", "predict_proba", "baseline_tagger",
    "linear_layers", "prune_global", "remove_pruning", "weight_sparsity", "pruning_sweep",
    "sparse_bytes", "from_sparse_bytes", "shrink_mlp",
    "quantization_engine", "quantize_dynamic", "quantize_static", "prepare_qat", "convert_qat", "to_half",
    "export_onnx", "quantize_onnx", "onnx_session",
    "Runner", "torch_runner", "onnx_runner", "compare_latency", "Variant", "VariantResult", "measure_variants",
    "benchmark_table", "pareto_front",
]
