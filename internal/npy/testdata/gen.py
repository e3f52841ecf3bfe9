#!/usr/bin/python3
"""Writes the .npy files the Go tests read, with numpy's own writer.
The Go tests never run this script. Usage: cd testdata && /usr/bin/python3 gen.py
"""
import numpy as np
from numpy.lib import format as npformat

a = np.array([[1.5, -2.0, 3.25], [0.0, -0.0, 1e-3]], dtype="<f4")
np.save("f4_2x3.npy", a)
np.save("f2_4.npy", np.array([1.0, -2.0, 65504.0, 6e-8], dtype="<f2"))
np.save("f8_3.npy", np.array([0.1, -1e300, 2.5], dtype="<f8"))
np.save("i8_2x2.npy", np.array([[-1, 2**40], [3, -(2**62)]], dtype="<i8"))
np.save("i4_3.npy", np.array([-7, 0, 2**31 - 1], dtype="<i4"))
np.save("f4_scalar.npy", np.float32(42.0))
np.save("f4_0x3.npy", np.zeros((0, 3), dtype="<f4"))
with open("f4_v2.npy", "wb") as f:
    npformat.write_array(f, np.arange(5, dtype="<f4"), version=(2, 0))
np.save("fortran.npy", np.asfortranarray(np.ones((2, 3), dtype="<f4")))
np.save("bigendian.npy", np.arange(3, dtype=">f4"))
np.save("u1_3.npy", np.array([0, 128, 255], dtype="u1"))
