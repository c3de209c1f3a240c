"""Writes crates/autograd-nn/tests/fixtures/torch_layers.safetensors: for
each layer case, PyTorch's (float64) weights and buffers, an input, an output
weighting, and what PyTorch computes from them -- the output, the input's
gradient and every parameter's gradient of sum(output * weighting), and the
buffers after the forward pass. crates/autograd-nn/tests/integration/torch_fixtures.rs loads the same
weights into autograd-nn's layers and compares.

Run (needs torch; CI does not, the file is committed):
    python3 tools/nn_fixtures.py
"""

import json
import os
import struct

import torch

OUT = os.path.join(
    os.path.dirname(__file__), "..", "crates", "autograd-nn", "tests", "fixtures",
    "torch_layers.safetensors",
)

tensors = {}


def put(name, t):
    tensors[name] = t.detach().to(torch.float64).contiguous().clone()


def case(name, layer, x, forward=None, train=True, randomise_buffers=False):
    """Records one layer: state before, input, weighting, outputs, grads."""
    layer = layer.double()
    with torch.no_grad():
        for p in layer.parameters():
            p.uniform_(-1.0, 1.0)
        if randomise_buffers:
            layer.running_mean.uniform_(-0.5, 0.5)
            layer.running_var.uniform_(0.5, 1.5)
    layer.train(train)
    for k, v in layer.state_dict().items():
        put(f"{name}.param.{k}", v)
    x = x.double().requires_grad_(True)
    put(f"{name}.x", x)
    y = forward(layer, x) if forward else layer(x)
    w = torch.rand_like(y) + 0.5
    put(f"{name}.w", w)
    put(f"{name}.y", y)
    (y * w).sum().backward()
    put(f"{name}.dx", x.grad)
    for k, p in layer.named_parameters():
        put(f"{name}.grad.{k}", p.grad)
    for k, b in layer.named_buffers():
        put(f"{name}.after.{k}", b)


def main():
    torch.manual_seed(0)
    case("batchnorm2d_train", torch.nn.BatchNorm2d(3), torch.randn(4, 3, 3, 2))
    case("batchnorm2d_eval", torch.nn.BatchNorm2d(3), torch.randn(2, 3, 2, 2),
         train=False, randomise_buffers=True)
    case("batchnorm1d_rows", torch.nn.BatchNorm1d(5), torch.randn(6, 5))
    case("batchnorm1d_seq", torch.nn.BatchNorm1d(4, momentum=0.3), torch.randn(3, 4, 5))
    case("groupnorm", torch.nn.GroupNorm(2, 6), torch.randn(2, 6, 3, 2))
    case("conv1d", torch.nn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2),
         torch.randn(2, 3, 9))
    first = lambda m, x: m(x)[0]  # noqa: E731 (RNNs return (output, state))
    case("gru", torch.nn.GRU(3, 4), torch.randn(5, 2, 3), forward=first)
    case("grucell", torch.nn.GRUCell(3, 4), torch.randn(2, 3))
    case("lstm", torch.nn.LSTM(3, 4), torch.randn(5, 2, 3), forward=first)
    case("layernorm", torch.nn.LayerNorm(5), torch.randn(2, 3, 5))
    case("conv2d", torch.nn.Conv2d(2, 3, (3, 2), stride=2, padding=1), torch.randn(2, 2, 5, 4))
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    case("attention", torch.nn.MultiheadAttention(6, 2, batch_first=True), torch.randn(2, 4, 6),
         forward=lambda m, x: m(x, x, x, attn_mask=causal, need_weights=False)[0])

    # Key padding: sample 0 has its last position padded, sample 1 its last
    # two; the mask is stored as 1.0 where padded.
    pad = torch.tensor([[False, False, False, True], [False, False, True, True]])
    put("attention_padded.mask", pad.double())
    case("attention_padded", torch.nn.MultiheadAttention(6, 2, batch_first=True),
         torch.randn(2, 4, 6),
         forward=lambda m, x: m(x, x, x, attn_mask=causal, key_padding_mask=pad,
                                need_weights=False)[0])

    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"source": f"tools/nn_fixtures.py, torch {torch.__version__}"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(OUT, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    print(f"wrote {len(tensors)} tensors to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
