"""Reference run of the seed article's XOR network, in numpy.

The article (a 2-2-1 sigmoid network without biases, hand-written backprop,
learning rate 0.5, 5000 full-batch epochs, numpy seed 1) prints the
predictions of its last forward pass. This script redoes that computation
and prints them with 17 significant digits, so that examples/seed_xor.rs and
tests/integration/seed_xor.rs can be compared against numpy to 1e-9.

Run: python3 -m pip install numpy && python3 tools/seed_xor_reference.py
"""

import numpy as np

inputs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
targets = np.array([[0], [1], [1], [0]], dtype=float)

np.random.seed(1)
w1 = np.random.rand(2, 2)  # input -> hidden
w2 = np.random.rand(2, 1)  # hidden -> output
print("initial w1 =", w1.tolist())
print("initial w2 =", w2.tolist())


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


for _ in range(5000):
    hidden = logistic(inputs @ w1)
    out = logistic(hidden @ w2)
    # Backprop of 0.5 * sum((targets - out)^2), written out by hand.
    delta_out = (targets - out) * out * (1.0 - out)
    delta_hidden = (delta_out @ w2.T) * hidden * (1.0 - hidden)
    w2 += 0.5 * (hidden.T @ delta_out)
    w1 += 0.5 * (inputs.T @ delta_hidden)

print("predictions of the last forward pass:")
for v in out[:, 0]:
    print(f"{v:.17g}")
