"""Workload T1 (docs/workloads.md) written by hand in numpy, as a reference for
examples/digits.rs: the same MLP, init, loss, plain SGD lr 0.05, batch 32,
20 epochs, with numpy's own random streams. It prints the test accuracy
for seeds 0-7 (seen: 0.8855-0.9057), the range the engine's plain-SGD run
falls in too (docs/performance.md).

    pip install numpy && python3 tools/t1_numpy_reference.py
"""
import pathlib
import numpy as np

d = np.loadtxt(pathlib.Path(__file__).resolve().parent.parent / 'data/digits.csv', delimiter=',', skiprows=1)
X = d[:, 1:] / 16.0; Y = d[:, 0].astype(int)
Xtr, Ytr, Xte, Yte = X[:1500], Y[:1500], X[1500:], Y[1500:]
def run(seed, epochs=20, lr=0.05):
    rng = np.random.default_rng(seed)
    sizes = [64, 128, 128, 10]
    W = []; B = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        b = 1/np.sqrt(i)
        W.append(rng.uniform(-b, b, (o, i))); B.append(rng.uniform(-b, b, o))
    for e in range(epochs):
        perm = rng.permutation(1500)
        for s in range(0, 1500, 32):
            idx = perm[s:s+32]; x = Xtr[idx]; y = Ytr[idx]; n = len(idx)
            hs = [x]; h = x
            for l in range(3):
                z = h @ W[l].T + B[l]
                h = np.maximum(z, 0) if l < 2 else z
                hs.append(h)
            z = hs[-1]; z = z - z.max(1, keepdims=True); p = np.exp(z); p /= p.sum(1, keepdims=True)
            g = p; g[np.arange(n), y] -= 1; g /= n
            for l in (2, 1, 0):
                gW = g.T @ hs[l]; gB = g.sum(0)
                if l > 0:
                    g = (g @ W[l]) * (hs[l] > 0)
                W[l] -= lr * gW; B[l] -= lr * gB
    h = Xte
    for l in range(3):
        h = h @ W[l].T + B[l]
        if l < 2: h = np.maximum(h, 0)
    return (h.argmax(1) == Yte).mean()
print([round(float(run(s)), 4) for s in range(8)])
