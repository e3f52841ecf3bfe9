package gemm

// smallM is the largest m for which Sgemm computes a product with a
// transposed B as dot products of rows: packing B^T would copy all of B
// (an 8 MB gather for a 2048x1000 classifier) to use it only m times.
// Measured at n=1000, k=2048: m=1 3.7 ms packed vs 1.1 ms by rows; at m=8
// both take about 4 ms.
const smallM = 4

// dotRows computes C = alpha*A*B^T (+ C when accum) for row-major A (m x k,
// element (i,kk) at a[i*lda+kk]) and B (n x k) by dot products of rows,
// four rows of B at a time so that they stay in L1 across the rows of A.
func dotRows(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, accum bool, c []float32, ldc int) {
	var out [4]float32
	for j0 := 0; j0 < n; j0 += 4 {
		rows := min(4, n-j0)
		// Short last group: repeat the last row rather than read past b.
		var br [4][]float32
		for r := range br {
			jr := j0 + min(r, rows-1)
			br[r] = b[jr*ldb : jr*ldb+k : jr*ldb+k]
		}
		for i := 0; i < m; i++ {
			dot4(&out, a[i*lda:i*lda+k:i*lda+k], br[0], br[1], br[2], br[3])
			cr := c[i*ldc+j0 : i*ldc+j0+rows : i*ldc+j0+rows]
			for r := range cr {
				v := alpha * out[r]
				if accum {
					v += cr[r]
				}
				cr[r] = v
			}
		}
	}
}

// dot4Generic sets out[r] to the dot product of a with br (r = 0..3); all
// five slices have the same length.
func dot4Generic(out *[4]float32, a, b0, b1, b2, b3 []float32) {
	var s0, s1, s2, s3 float32
	b0, b1, b2, b3 = b0[:len(a)], b1[:len(a)], b2[:len(a)], b3[:len(a)]
	for kk, av := range a {
		s0 += av * b0[kk]
		s1 += av * b1[kk]
		s2 += av * b2[kk]
		s3 += av * b3[kk]
	}
	out[0], out[1], out[2], out[3] = s0, s1, s2, s3
}
