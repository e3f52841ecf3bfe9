//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 slice reductions and scalings of vecops.go, 16 lanes at a time
// with a masked tail.

// func sumAVX512(src []float32) float32
TEXT ·sumAVX512(SB), NOSPLIT, $0-28
	MOVQ src_base+0(FP), SI
	MOVQ src_len+8(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
sum64:
	CMPQ CX, $64
	JLT sum16
	VADDPS (SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	SUBQ $64, CX
	JMP sum64
sum16:
	CMPQ CX, $16
	JLT sumtail
	VADDPS (SI), Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP sum16
sumtail:
	TESTQ CX, CX
	JEQ sumreduce
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VADDPS Z4, Z1, Z1
sumreduce:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func scaleAVX512(dst, src []float32, s float32)
TEXT ·scaleAVX512(SB), NOSPLIT, $0-52
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	VBROADCASTSS s+48(FP), Z5
scale64:
	CMPQ CX, $64
	JLT scale16
	VMULPS (SI), Z5, Z0
	VMULPS 64(SI), Z5, Z1
	VMULPS 128(SI), Z5, Z2
	VMULPS 192(SI), Z5, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP scale64
scale16:
	CMPQ CX, $16
	JLT scaletail
	VMULPS (SI), Z5, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP scale16
scaletail:
	TESTQ CX, CX
	JEQ scaledone
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z0, Z5, Z0
	VMOVUPS Z0, K1, (DI)
scaledone:
	VZEROUPPER
	RET
