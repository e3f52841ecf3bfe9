package gemm

import "unsafe"

// generic is the portable kernel; its tile function is the specification
// that the assembly kernels implement.
var generic = &kernel{name: "generic", id: kernGeneric, mr: 6, nr: 16}

// tileGeneric computes one output tile. For r < p.rows and j < p.cols, with
// A[r,k] = p.a[k*mr+r] and B[k,j] the element j of the k-th B row:
//
//	v := sum_{k < p.k} A[r,k]*B[k,j]
//	if flagAccum: v += C[r,j]
//	if flagBias:  v += bias[r]
//	if flagAdd:   v += add[r,j]
//	if flagRelu:  v = max(v, 0)
//	if flagClip:  v = min(max(v, p.lo), p.hi)
//	C[r,j] = v
//
// Strides p.ldb, p.ldc and p.ldadd are in bytes. Nothing outside the
// rows x cols tile of C is written.
func tileGeneric(p *tileArgs, mr int) {
	const maxTile = 8 * 64
	if p.rows > mr || mr*p.cols > maxTile {
		panic("gemm: tile too large")
	}
	ldb := p.ldb / 4
	rows, cols := p.rows, p.cols
	a := unsafe.Slice(p.a, p.k*mr)
	b := unsafe.Slice(p.b, (p.k-1)*ldb+cols)
	var acc [maxTile]float32
	for k := 0; k < p.k; k++ {
		ak := a[k*mr : k*mr+rows : k*mr+rows]
		bk := b[k*ldb : k*ldb+cols : k*ldb+cols]
		for r, av := range ak {
			accr := acc[r*cols : r*cols+cols : r*cols+cols]
			for j, bv := range bk {
				accr[j] += av * bv
			}
		}
	}
	storeTile(p, acc[:], cols)
}

// storeTile finishes a tile whose products are in acc (row r at
// acc[r*stride:]): it applies p.flags and writes the p.rows x p.cols tile
// of C, exactly as the second half of tileGeneric specifies.
func storeTile(p *tileArgs, acc []float32, stride int) {
	rows, cols := p.rows, p.cols
	ldc, ldadd := p.ldc/4, p.ldadd/4
	c := unsafe.Slice(p.c, (rows-1)*ldc+cols)
	var bias, add []float32
	if p.flags&flagBias != 0 {
		bias = unsafe.Slice(p.bias, rows)
	}
	if p.flags&flagAdd != 0 {
		add = unsafe.Slice(p.add, (rows-1)*ldadd+cols)
	}
	for r := 0; r < rows; r++ {
		cr := c[r*ldc : r*ldc+cols : r*ldc+cols]
		for j := range cr {
			v := acc[r*stride+j]
			if p.flags&flagAccum != 0 {
				v += cr[j]
			}
			cr[j] = applyEpilogue(v, bias, add, ldadd, r, j, p.flags, p.lo, p.hi)
		}
	}
}
