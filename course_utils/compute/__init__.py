"""Where and how the computation runs: Dask clusters and TFRecord input pipelines.

Modules
-------
cluster
    a Dask cluster with the course's defaults, local or remote (notebook 01b).
tfdata
    TFRecord writing and ``tf.data`` pipelines (notebook 04).

Neither dask nor TensorFlow is imported by ``import course_utils.compute``:
``from course_utils.compute import cluster``.
"""
