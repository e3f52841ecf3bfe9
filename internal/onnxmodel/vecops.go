package onnxmodel

// sumGeneric returns the sum of src in eight interleaved partial sums, so
// that consecutive additions do not wait on each other; it is the
// specification of the assembly sum.
func sumGeneric(src []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		v := src[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	for ; i < len(src); i++ {
		s0 += src[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// scaleGeneric sets dst[i] = src[i]·s; src must be at least as long as dst.
func scaleGeneric(dst, src []float32, s float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i] * s
	}
}
