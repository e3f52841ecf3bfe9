#!/usr/bin/python3
"""Writes squeezenet_summary.json, an independent description of
/work/shared/models/squeezenet1.1-fp16.onnx made with the onnx and numpy
Python packages. The Go tests compare DecodeModel and Tensor.Float32s
against it; they never run this script.

Usage: /usr/bin/python3 squeezenet_summary.py /work/shared/models/squeezenet1.1-fp16.onnx
"""
import json
import sys

import numpy as np
import onnx
from onnx import numpy_helper

m = onnx.load(sys.argv[1])
g = m.graph


def vi(v):
    t = v.type.tensor_type
    return {
        "name": v.name,
        "elem_type": t.elem_type,
        "dims": [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim],
    }


out = {
    "ir_version": m.ir_version,
    "opset": [[o.domain, o.version] for o in m.opset_import],
    "producer_name": m.producer_name,
    "nodes": [
        {
            "op_type": n.op_type,
            "input": list(n.input),
            "output": list(n.output),
            "attrs": {
                a.name: (list(a.ints) if a.type == onnx.AttributeProto.INTS
                         else a.i if a.type == onnx.AttributeProto.INT
                         else a.f if a.type == onnx.AttributeProto.FLOAT
                         else None)
                for a in n.attribute
            },
        }
        for n in g.node
    ],
    "initializers": [],
    "inputs": [vi(v) for v in g.input],
    "outputs": [vi(v) for v in g.output],
}
for t in g.initializer:
    a = numpy_helper.to_array(t).astype(np.float32).ravel()
    out["initializers"].append({
        "name": t.name,
        "dims": list(t.dims),
        "data_type": t.data_type,
        "sum": float(a.astype(np.float64).sum()),
        "sum_abs": float(np.abs(a.astype(np.float64)).sum()),
        "first": float(a[0]),
        "last": float(a[-1]),
    })
json.dump(out, open("squeezenet_summary.json", "w"), indent=1)
