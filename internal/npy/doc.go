// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0) holding little-endian arrays in C order.
//
// Read returns floating-point arrays (<f2, <f4, <f8) as float32 and integer
// and boolean arrays (|b1, |i1, |u1, <i2, <u2, <i4, <u4, <i8) as int64.
// WriteFloat32 and WriteInt64 write <f4 and <i8 arrays with the same
// header layout as numpy.save, so their files are byte-identical to
// numpy's.
package npy
