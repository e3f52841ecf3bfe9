//go:build amd64 && !purego

#include "textflag.h"

// func dwRowAVX512(dst, buf []float32, offs []int32, wts []float32, bias, lo, hi float32)
//
// DI walks dst and SI walks buf in step, so tap t of output i reads
// SI + 4*offs[t] + 4*i. Z28-Z30 hold bias, lo and hi.
TEXT ·dwRowAVX512(SB), NOSPLIT, $0-108
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ buf_base+24(FP), SI
	MOVQ offs_base+48(FP), R8
	MOVQ offs_len+56(FP), R9
	MOVQ wts_base+72(FP), R10
	VBROADCASTSS bias+96(FP), Z28
	VBROADCASTSS lo+100(FP), Z29
	VBROADCASTSS hi+104(FP), Z30

block64:
	CMPQ CX, $64
	JLT block16
	VMOVAPS Z28, Z0
	VMOVAPS Z28, Z1
	VMOVAPS Z28, Z2
	VMOVAPS Z28, Z3
	XORQ BX, BX

taps64:
	CMPQ BX, R9
	JGE store64
	MOVLQSX (R8)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z8
	LEAQ (SI)(AX*4), DX
	VFMADD231PS (DX), Z8, Z0
	VFMADD231PS 64(DX), Z8, Z1
	VFMADD231PS 128(DX), Z8, Z2
	VFMADD231PS 192(DX), Z8, Z3
	INCQ BX
	JMP taps64

store64:
	VMAXPS Z0, Z29, Z0
	VMAXPS Z1, Z29, Z1
	VMAXPS Z2, Z29, Z2
	VMAXPS Z3, Z29, Z3
	VMINPS Z0, Z30, Z0
	VMINPS Z1, Z30, Z1
	VMINPS Z2, Z30, Z2
	VMINPS Z3, Z30, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JMP block64

block16:
	CMPQ CX, $16
	JLT tail
	VMOVAPS Z28, Z0
	XORQ BX, BX

taps16:
	CMPQ BX, R9
	JGE store16
	MOVLQSX (R8)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z8
	VFMADD231PS (SI)(AX*4), Z8, Z0
	INCQ BX
	JMP taps16

store16:
	VMAXPS Z0, Z29, Z0
	VMINPS Z0, Z30, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JMP block16

tail:
	TESTQ CX, CX
	JEQ done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVAPS Z28, Z0
	XORQ BX, BX

tapsTail:
	CMPQ BX, R9
	JGE storeTail
	MOVLQSX (R8)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z8
	VMOVUPS.Z (SI)(AX*4), K1, Z9
	VFMADD231PS Z9, Z8, Z0
	INCQ BX
	JMP tapsTail

storeTail:
	VMAXPS Z0, Z29, Z0
	VMINPS Z0, Z30, Z0
	VMOVUPS Z0, K1, (DI)

done:
	VZEROUPPER
	RET

DATA split2Even<>+0(SB)/4, $0
DATA split2Even<>+4(SB)/4, $2
DATA split2Even<>+8(SB)/4, $4
DATA split2Even<>+12(SB)/4, $6
DATA split2Even<>+16(SB)/4, $8
DATA split2Even<>+20(SB)/4, $10
DATA split2Even<>+24(SB)/4, $12
DATA split2Even<>+28(SB)/4, $14
DATA split2Even<>+32(SB)/4, $16
DATA split2Even<>+36(SB)/4, $18
DATA split2Even<>+40(SB)/4, $20
DATA split2Even<>+44(SB)/4, $22
DATA split2Even<>+48(SB)/4, $24
DATA split2Even<>+52(SB)/4, $26
DATA split2Even<>+56(SB)/4, $28
DATA split2Even<>+60(SB)/4, $30
GLOBL split2Even<>(SB), RODATA|NOPTR, $64

// func split2AVX512(even, odd, src []float32) int
TEXT ·split2AVX512(SB), NOSPLIT, $0-80
	MOVQ even_base+0(FP), DI
	MOVQ odd_base+24(FP), DX
	MOVQ src_base+48(FP), SI
	MOVQ src_len+56(FP), CX
	SHRQ $5, CX
	MOVQ CX, AX
	SHLQ $5, AX
	MOVQ AX, ret+72(FP)
	VMOVDQU32 split2Even<>(SB), Z5
	MOVL $1, BX
	VPBROADCASTD BX, Z6
	VPADDD Z6, Z5, Z6

loop:
	TESTQ CX, CX
	JEQ done
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVAPS Z5, Z2
	VMOVAPS Z6, Z3
	VPERMI2PS Z1, Z0, Z2
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, (DX)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, DX
	DECQ CX
	JMP loop

done:
	VZEROUPPER
	RET
