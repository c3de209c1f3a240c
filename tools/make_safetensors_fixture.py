"""Writes crates/autograd-nn/tests/fixtures/python_written.safetensors with
the Python `safetensors` package, for the test that files written there
load here (crates/autograd-nn/tests/integration/weights.rs).

    pip install safetensors numpy
    python3 tools/make_safetensors_fixture.py
"""
import pathlib

import numpy as np
from safetensors.numpy import save_file

tensors = {
    "0.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "0.bias": np.array([-1.5, 2.25], dtype=np.float32),
    "scale": np.array(3.141592653589793, dtype=np.float64),
    "emb.weight": np.array([[1e-3, -2e5], [0.0, 1.0], [np.pi, -np.e]], dtype=np.float64),
}
out = pathlib.Path(__file__).resolve().parent.parent / "crates/autograd-nn/tests/fixtures/python_written.safetensors"
save_file(tensors, str(out), metadata={"format": "np"})
print(f"wrote {out} ({out.stat().st_size} bytes)")
