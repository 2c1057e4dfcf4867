#!/usr/bin/env python3
"""Train the digits MLP and write the files the Rust tests read (CI never runs this).

Remake every output (from the repository root):

    python3 -m venv /tmp/venv
    /tmp/venv/bin/pip install -r models/digits/requirements.txt
    /tmp/venv/bin/python models/digits/train.py
    (cd models/digits && sha256sum -c SHA256SUMS)

Model: scikit-learn's MLPClassifier((128, 64), activation="tanh", random_state=0) on the
handwritten-digits set bundled with scikit-learn (1797 images of 8x8, values 0..16), inputs
divided by 16, stratified 80/20 split with random_state=0. Training is deterministic on one
thread (OMP/BLAS pinned to 1 below); versions are pinned in requirements.txt.

Outputs (all safetensors, little-endian, row-major):
  weights.safetensors    layers.{i}.weight  F32 [out, in]  (sklearn's coefs_[i] transposed)
                         layers.{i}.bias    F32 [out]
                         __metadata__: hidden_activation ("tanh"), output_activation
                         ("softmax"), layers (count), framework versions
  reference.safetensors  inputs         F32 [N, 64]  the held-out split, already divided by 16
                         labels         U8  [N]      true digits
                         predictions    U8  [N]      sklearn's predict() on the f64 model
                         probabilities  F64 [N, 10]  sklearn's predict_proba() on the f64 model
  SHA256SUMS             sha256 of the two files above
The files are written by models/write_safetensors.py (sorted keys), so every run gives the
same bytes.
"""

import os
import pathlib
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import safetensors  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import write_safetensors  # noqa: E402  (models/write_safetensors.py)

SEED = 0
OUT = pathlib.Path(__file__).resolve().parent


def main() -> None:
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SEED
    )
    model = MLPClassifier(
        hidden_layer_sizes=(128, 64), activation="tanh", max_iter=500, random_state=SEED
    )
    model.fit(x_train, y_train)
    assert list(model.classes_) == list(range(10)), model.classes_
    assert model.out_activation_ == "softmax", model.out_activation_

    tensors = {}
    for i, (w, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        tensors[f"layers.{i}.weight"] = np.ascontiguousarray(w.T, dtype=np.float32)
        tensors[f"layers.{i}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
    metadata = {
        "hidden_activation": model.activation,
        "output_activation": model.out_activation_,
        "layers": str(len(model.coefs_)),
        "trained_with": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
        f"safetensors {safetensors.__version__}, seed {SEED}",
    }
    write_safetensors.write(OUT / "weights.safetensors", tensors, metadata)

    reference = {
        "inputs": np.ascontiguousarray(x_test, dtype=np.float32),
        "labels": y_test.astype(np.uint8),
        "predictions": model.predict(x_test).astype(np.uint8),
        "probabilities": np.ascontiguousarray(model.predict_proba(x_test), dtype=np.float64),
    }
    # The f32 inputs are exact (k/16), so the reference saw the same inputs as the Rust code.
    assert np.array_equal(reference["inputs"].astype(np.float64), x_test)
    write_safetensors.write(OUT / "reference.safetensors", reference)

    write_safetensors.write_sums(OUT, ("weights.safetensors", "reference.safetensors"))
    accuracy = float(np.mean(reference["predictions"] == reference["labels"]))
    print(f"{len(y_test)} test samples, accuracy {accuracy:.4f}, iterations {model.n_iter_}")


if __name__ == "__main__":
    main()
