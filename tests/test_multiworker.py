"""TensorFlow distribution strategies of notebook 04: the local strategy, the TPU fall-back, two workers.

The two-worker test starts two Python processes on 127.0.0.1, each with its
own ``TF_CONFIG``, and trains a tiny model for a few synchronous steps with
``MultiWorkerMirroredStrategy``. Keras 3's ``model.fit`` does not work with
that strategy (keras-team/keras#20585, tensorflow/tensorflow#72388: it fails
while building the model from a distributed batch), so the workers use a
custom training loop with ``strategy.run``, the pattern the notebook shows.

Robustness on a small, busy machine: one thread per TensorFlow process, no
GPU, ports chosen free just before the start, a generous time limit, one
retry when a port was taken in between, and an ``xdist_group`` so that the
test does not run beside another TensorFlow-heavy test of this file.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tensorflow")]

#: Seconds the two workers may take together (TensorFlow's import alone takes 5-20 s on a busy 2-core machine).
TIMEOUT = 300

WORKER = textwrap.dedent('''
    import json, os
    import numpy as np
    import tensorflow as tf
    import keras

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()   # reads TF_CONFIG
    GLOBAL_BATCH = 32                                        # split between the replicas

    with strategy.scope():                                   # variables mirrored on every worker
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(learning_rate=0.1)
        optimizer.build(model.trainable_variables)

    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    rng = np.random.default_rng(index)                       # each worker holds its own data
    x = rng.normal(size=(256, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH).repeat().with_options(options)
    batches = iter(strategy.experimental_distribute_dataset(data))

    @tf.function
    def train_step(iterator):
        def step(xb, yb):
            with tf.GradientTape() as tape:
                logits = model(xb, training=True)
                per_event = tf.nn.sigmoid_cross_entropy_with_logits(yb, logits)[:, 0]
                loss = tf.nn.compute_average_loss(per_event, global_batch_size=GLOBAL_BATCH)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))   # gradients all-reduced
            return loss
        per_replica = strategy.run(step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    losses = [float(train_step(batches)) for _ in range(4)]
    print("RESULT " + json.dumps({"replicas": strategy.num_replicas_in_sync, "losses": losses,
                                  "weights": np.concatenate([w.ravel() for w in model.get_weights()]).tolist()}))
''')


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _run_two_workers(tmp_path) -> list[dict]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), CUDA_VISIBLE_DEVICES="",
                   TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise RuntimeError(f"worker exited with {proc.returncode}:\n{err[-3000:]}")
            results.append(json.loads(lines[-1].removeprefix("RESULT ")))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results


def test_two_workers_train_in_sync_on_loopback(tmp_path):
    try:
        results = _run_two_workers(tmp_path)
    except RuntimeError as exc:  # a port taken between choosing and binding it: try once more
        if "address already in use" not in str(exc).lower() and "bind" not in str(exc).lower():
            raise
        results = _run_two_workers(tmp_path)
    first, second = results
    assert first["replicas"] == second["replicas"] == 2
    # synchronous data parallelism: the same reduced loss and the same weights on both workers
    assert first["losses"] == pytest.approx(second["losses"], rel=1e-6)
    assert first["weights"] == pytest.approx(second["weights"], rel=1e-6)
    assert all(loss == loss and loss > 0 for loss in first["losses"])


def test_tf_strategy_on_cpu(monkeypatch, capsys):
    pytest.importorskip("tensorflow")
    from course_utils import runtime

    monkeypatch.delenv("COURSE_TRY_TPU", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this test is about a CPU-only machine")
    strategy = runtime.tf_strategy()
    assert strategy.num_replicas_in_sync == 1
    assert "CPU" in capsys.readouterr().out
    with strategy.scope():
        import keras

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert model.count_params() == 4


def test_tpu_that_cannot_start_falls_back_with_a_reason(monkeypatch, capsys):
    pytest.importorskip("tensorflow")
    from course_utils import runtime

    monkeypatch.setenv("COURSE_TRY_TPU", "1")
    # the default resolver asks the cloud metadata server; make it fail at once instead of waiting
    monkeypatch.setenv("TPU_NAME", "no-such-tpu")
    strategy = runtime.tf_strategy()
    out = capsys.readouterr().out
    assert "no TPU" in out
    assert strategy.num_replicas_in_sync >= 1
