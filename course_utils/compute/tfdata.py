"""TFRecord files for ``tf.data`` pipelines: one ``tf.train.Example`` per event, split into shards.

TFRecord is TensorFlow's binary record format: a file of serialized
``tf.train.Example`` protocol buffers. A pipeline that reads several shards in
parallel keeps an accelerator busy, and on a Cloud TPU it is the way to feed
data (the TPU reads from files, not from the notebook's memory). Each event is
stored as two features:

* ``"features"``: a float list of length ``n_features``;
* ``"label"``: a float (0 or 1).

:func:`feature_spec` gives the matching ``tf.io.FixedLenFeature`` schema for
``tf.io.parse_example``. TensorFlow is imported inside the functions only.

Examples
--------
>>> from course_utils.compute import tfdata
>>> files = tfdata.write_tfrecords(X, y, "build/04/train", n_shards=4)   # doctest: +SKIP
>>> spec = tfdata.feature_spec(X.shape[1])                                # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from course_utils import _files
from course_utils._optional import require
from course_utils.validation import check_count

__all__ = ["feature_spec", "write_tfrecords"]


def feature_spec(n_features: int) -> dict[str, Any]:
    """The parsing schema of the records written by :func:`write_tfrecords`.

    Parameters
    ----------
    n_features
        Length of each event's feature vector.

    Returns
    -------
    dict
        ``{"features": FixedLenFeature([n_features], float32), "label": FixedLenFeature([], float32)}``.
    """
    n_features = check_count(n_features, "n_features")
    tf = require("tensorflow", why="tfdata (TFRecord files and tf.data pipelines)")

    return {
        "features": tf.io.FixedLenFeature([int(n_features)], tf.float32),
        "label": tf.io.FixedLenFeature([], tf.float32),
    }


def write_tfrecords(features: Any, labels: Any, prefix: str | os.PathLike[str], *, n_shards: int = 4) -> list[Path]:
    """Write events to ``n_shards`` TFRecord files ``<prefix>-00000-of-0000N.tfrecord``.

    Events are dealt out in contiguous blocks (shard ``k`` holds the ``k``-th
    block), so reading the shards in order gives the events in order. Each
    file is written under a temporary name and renamed when complete.

    Parameters
    ----------
    features : array-like, shape (n_events, n_features)
        Finite numbers, stored as float32.
    labels : array-like, shape (n_events,)
        0 or 1.
    prefix
        Path prefix of the shards; its folder is created.
    n_shards
        Number of files, at most ``n_events``.

    Returns
    -------
    list of Path
        The shards, in order.
    """
    x = np.asarray(features, dtype=np.float32)
    y = np.asarray(labels, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"features must have shape (n_events, n_features) with both > 0, got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("features hold NaN or infinite values")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"labels must be 0 or 1, got values {np.unique(y)[:5]}")
    n_shards = check_count(n_shards, "n_shards", max_value=len(x))
    tf = require("tensorflow", why="tfdata (TFRecord files and tf.data pipelines)")

    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, block in enumerate(np.array_split(np.arange(len(x)), int(n_shards))):
        path = prefix.parent / f"{prefix.name}-{k:05d}-of-{int(n_shards):05d}.tfrecord"
        with _files.atomic_path(path) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
            for i in block:
                example = tf.train.Example(features=tf.train.Features(feature={
                    "features": tf.train.Feature(float_list=tf.train.FloatList(value=x[i])),
                    "label": tf.train.Feature(float_list=tf.train.FloatList(value=[y[i]])),
                }))
                writer.write(example.SerializeToString())
        paths.append(path)
    return paths
