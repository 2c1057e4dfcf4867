#!/usr/bin/env python3
"""Train a SiLU MLP on the digits with plain NumPy and write the files the Rust tests read.

Remake every output (from the repository root; CI never runs this):

    python3 -m venv /tmp/venv
    /tmp/venv/bin/pip install -r models/digits/requirements.txt
    /tmp/venv/bin/python models/digits_silu/train.py
    (cd models/digits_silu && sha256sum -c SHA256SUMS)

Model: 64 -> 64 -> 10, hidden activation SiLU (x * sigmoid(x)), softmax output, trained in
float64 by full-batch Adam (lr 0.01, 300 steps, L2 1e-4) on cross-entropy, weights drawn with
numpy.random.default_rng(0). Data: the same split as models/digits (scikit-learn's bundled
digits, inputs / 16, stratified 80/20, random_state 0); scikit-learn is used for the data only.

Outputs have the layout documented in models/digits/train.py (weights.safetensors with
hidden_activation "silu"; reference.safetensors with inputs, labels, NumPy's predictions and
float64 probabilities) plus SHA256SUMS.
"""

import pathlib
import sys

import numpy as np
import safetensors
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import write_safetensors  # noqa: E402  (models/write_safetensors.py)

SEED = 0
OUT = pathlib.Path(__file__).resolve().parent
SIZES = (64, 64, 10)


def silu(z):
    return z / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def forward(params, x):
    (w0, b0), (w1, b1) = params
    z0 = x @ w0.T + b0
    h = silu(z0)
    return z0, h, softmax(h @ w1.T + b1)


def main() -> None:
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SEED
    )
    rng = np.random.default_rng(SEED)
    params = [
        [rng.normal(0, np.sqrt(2.0 / n_in), (n_out, n_in)), np.zeros(n_out)]
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:])
    ]
    onehot = np.eye(10)[y_train]
    moments = [[np.zeros_like(p) for p in layer] for layer in params]
    velocities = [[np.zeros_like(p) for p in layer] for layer in params]
    lr, beta1, beta2, eps, l2 = 0.01, 0.9, 0.999, 1e-8, 1e-4
    for step in range(1, 301):
        z0, h, p = forward(params, x_train)
        d_out = (p - onehot) / len(x_train)
        (w0, _), (w1, _) = params
        sig = 1.0 / (1.0 + np.exp(-z0))
        d_hidden = (d_out @ w1) * (sig * (1.0 + z0 * (1.0 - sig)))
        grads = [
            [d_hidden.T @ x_train + l2 * w0, d_hidden.sum(axis=0)],
            [d_out.T @ h + l2 * w1, d_out.sum(axis=0)],
        ]
        for layer, g_layer, m_layer, v_layer in zip(params, grads, moments, velocities):
            for i, g in enumerate(g_layer):
                m_layer[i] = beta1 * m_layer[i] + (1 - beta1) * g
                v_layer[i] = beta2 * v_layer[i] + (1 - beta2) * g * g
                m_hat = m_layer[i] / (1 - beta1**step)
                v_hat = v_layer[i] / (1 - beta2**step)
                layer[i] = layer[i] - lr * m_hat / (np.sqrt(v_hat) + eps)

    tensors = {}
    for i, (w, b) in enumerate(params):
        tensors[f"layers.{i}.weight"] = np.ascontiguousarray(w, dtype=np.float32)
        tensors[f"layers.{i}.bias"] = np.ascontiguousarray(b, dtype=np.float32)
    metadata = {
        "hidden_activation": "silu",
        "output_activation": "softmax",
        "layers": str(len(params)),
        "trained_with": f"numpy {np.__version__}, safetensors {safetensors.__version__}, "
        f"seed {SEED}",
    }
    write_safetensors.write(OUT / "weights.safetensors", tensors, metadata)

    _, _, probabilities = forward(params, x_test)
    reference = {
        "inputs": np.ascontiguousarray(x_test, dtype=np.float32),
        "labels": y_test.astype(np.uint8),
        "predictions": probabilities.argmax(axis=1).astype(np.uint8),
        "probabilities": np.ascontiguousarray(probabilities, dtype=np.float64),
    }
    write_safetensors.write(OUT / "reference.safetensors", reference)
    write_safetensors.write_sums(OUT, ("weights.safetensors", "reference.safetensors"))
    accuracy = float(np.mean(reference["predictions"] == reference["labels"]))
    print(f"{len(y_test)} test samples, accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
