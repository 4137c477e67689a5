"""Check the course's accelerator paths on a machine with a GPU (or TPU).

Nothing in the course needs an accelerator; this script shows that, when one is
there, the helpers pick it and real training steps run on it. It prints what it
checked and exits non-zero on the first failure. Usage: python scripts/gpu_check.py
"""

from __future__ import annotations

import importlib.util
import sys
import time

import numpy as np


def check_torch() -> None:
    import torch

    from course_utils import metrics, runtime

    device = runtime.torch_device()
    print(f"torch {torch.__version__}: runtime.torch_device() -> {device}")
    if torch.cuda.is_available():
        assert device.type == "cuda", "a CUDA GPU is visible but torch_device() did not choose it"
        print("  GPU:", torch.cuda.get_device_name(0))
    # a small classifier trained on the device: the loss must fall
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 10)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")
    xt, yt = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xt).squeeze(1), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        scores = model(xt).squeeze(1).cpu().numpy()
    auc = metrics.auc(y, scores)
    print(f"  training on {device}: loss {losses[0]:.3f} -> {losses[-1]:.3f}, AUC {auc:.3f}")
    assert losses[-1] < 0.5 * losses[0] and auc > 0.95

    def step() -> None:
        with torch.no_grad():
            model(xt)
        if device.type == "cuda":
            torch.cuda.synchronize()

    lat = metrics.latency(step, runs=50, warmup=5)
    print(f"  latency of a 4096-row batch: median {lat['median'] * 1e6:.0f} µs")


def check_tensorflow() -> None:
    if importlib.util.find_spec("tensorflow") is None:
        print("tensorflow is not installed here: tf_strategy() not checked")
        return
    import tensorflow as tf

    from course_utils import runtime

    strategy = runtime.tf_strategy()
    gpus = tf.config.list_physical_devices("GPU")
    print(f"tensorflow {tf.__version__}: {len(gpus)} GPU(s), {strategy.num_replicas_in_sync} replica(s)")
    # MirroredStrategy also runs over a single GPU: the code path of several GPUs
    mirrored = tf.distribute.MirroredStrategy() if gpus else strategy
    with mirrored.scope():
        import keras

        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss="binary_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4096, 10)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    hist = model.fit(x, y, epochs=3, batch_size=256, verbose=0)
    print(f"  Keras fit under {type(mirrored).__name__}: loss {hist.history['loss'][0]:.3f} -> "
          f"{hist.history['loss'][-1]:.3f}")
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def main() -> int:
    from course_utils import runtime

    t0 = time.perf_counter()
    print(runtime.format_environment(runtime.describe_environment()))
    check_torch()
    check_tensorflow()
    print(f"all checks passed in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
