//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 versions of the slice functions of fastmath.go, 16 lanes at a
// time with a masked tail. exp uses the same reduction and polynomial as
// exp32 but clamps x to [-104, 89] and scales with VSCALEFPS, which rounds
// overflow to +Inf and underflow to a subnormal or zero in one step, so no
// lane needs a slow path. NaN survives the clamps (VMAXPS/VMINPS return
// their second source, here x, when it is NaN).

DATA fmLog2e<>+0(SB)/4, $1.44269504088896341
GLOBL fmLog2e<>(SB), RODATA|NOPTR, $4
DATA fmC1<>+0(SB)/4, $0.693359375
GLOBL fmC1<>(SB), RODATA|NOPTR, $4
DATA fmC2<>+0(SB)/4, $-2.12194440e-4
GLOBL fmC2<>(SB), RODATA|NOPTR, $4
DATA fmP0<>+0(SB)/4, $1.9875691500e-4
GLOBL fmP0<>(SB), RODATA|NOPTR, $4
DATA fmP1<>+0(SB)/4, $1.3981999507e-3
GLOBL fmP1<>(SB), RODATA|NOPTR, $4
DATA fmP2<>+0(SB)/4, $8.3334519073e-3
GLOBL fmP2<>(SB), RODATA|NOPTR, $4
DATA fmP3<>+0(SB)/4, $4.1665795894e-2
GLOBL fmP3<>(SB), RODATA|NOPTR, $4
DATA fmP4<>+0(SB)/4, $1.6666665459e-1
GLOBL fmP4<>(SB), RODATA|NOPTR, $4
DATA fmP5<>+0(SB)/4, $5.0000001201e-1
GLOBL fmP5<>(SB), RODATA|NOPTR, $4
DATA fmOne<>+0(SB)/4, $1.0
GLOBL fmOne<>(SB), RODATA|NOPTR, $4
DATA fmLo<>+0(SB)/4, $-104.0
GLOBL fmLo<>(SB), RODATA|NOPTR, $4
DATA fmHi<>+0(SB)/4, $89.0
GLOBL fmHi<>(SB), RODATA|NOPTR, $4
DATA fmSign<>+0(SB)/4, $0x80000000
GLOBL fmSign<>(SB), RODATA|NOPTR, $4
DATA fmT0<>+0(SB)/4, $-5.70498872745e-3
GLOBL fmT0<>(SB), RODATA|NOPTR, $4
DATA fmT1<>+0(SB)/4, $2.06390887954e-2
GLOBL fmT1<>(SB), RODATA|NOPTR, $4
DATA fmT2<>+0(SB)/4, $-5.37397155531e-2
GLOBL fmT2<>(SB), RODATA|NOPTR, $4
DATA fmT3<>+0(SB)/4, $1.33314422036e-1
GLOBL fmT3<>(SB), RODATA|NOPTR, $4
DATA fmT4<>+0(SB)/4, $-3.33332819422e-1
GLOBL fmT4<>(SB), RODATA|NOPTR, $4
DATA fmSmall<>+0(SB)/4, $0.625
GLOBL fmSmall<>(SB), RODATA|NOPTR, $4

// Z16-Z29 hold the constants.
#define LOADCONSTS \
	VBROADCASTSS fmLog2e<>(SB), Z16; \
	VBROADCASTSS fmC1<>(SB), Z17; \
	VBROADCASTSS fmC2<>(SB), Z18; \
	VBROADCASTSS fmP0<>(SB), Z19; \
	VBROADCASTSS fmP1<>(SB), Z20; \
	VBROADCASTSS fmP2<>(SB), Z21; \
	VBROADCASTSS fmP3<>(SB), Z22; \
	VBROADCASTSS fmP4<>(SB), Z23; \
	VBROADCASTSS fmP5<>(SB), Z24; \
	VBROADCASTSS fmOne<>(SB), Z25; \
	VBROADCASTSS fmLo<>(SB), Z26; \
	VBROADCASTSS fmHi<>(SB), Z27; \
	VBROADCASTSS fmSign<>(SB), Z29; \
	VXORPS Z28, Z28, Z28

// EXPZ0 sets Z0 to e^Z0; it uses Z1-Z3.
#define EXPZ0 \
	VMAXPS Z0, Z26, Z0; \
	VMINPS Z0, Z27, Z0; \
	VMULPS Z16, Z0, Z1; \
	VRNDSCALEPS $0, Z1, Z1; \
	VFNMADD231PS Z17, Z1, Z0; \
	VFNMADD231PS Z18, Z1, Z0; \
	VMOVAPS Z19, Z2; \
	VFMADD213PS Z20, Z0, Z2; \
	VFMADD213PS Z21, Z0, Z2; \
	VFMADD213PS Z22, Z0, Z2; \
	VFMADD213PS Z23, Z0, Z2; \
	VFMADD213PS Z24, Z0, Z2; \
	VMULPS Z0, Z0, Z3; \
	VFMADD213PS Z0, Z3, Z2; \
	VADDPS Z25, Z2, Z2; \
	VSCALEFPS Z1, Z2, Z0

// SIGMOIDZ4 sets Z0 to sigmoid(Z4): with e = e^-|x|, 1/(1+e), or e/(1+e)
// where x < 0. It uses Z1-Z3 and K2.
#define SIGMOIDZ4 \
	VORPS Z29, Z4, Z0; \
	EXPZ0; \
	VADDPS Z25, Z0, Z1; \
	VCMPPS $1, Z28, Z4, K2; \
	VMOVAPS Z25, Z2; \
	VMOVAPS Z0, K2, Z2; \
	VDIVPS Z1, Z2, Z0

// TANHZ4 sets Z0 to tanh(Z4), with the sign of x set last so that
// tanh(-0) = -0; it uses Z1-Z3, Z5-Z7 and K2, and the
// polynomial constants in Z9-Z14.
#define TANHZ4 \
	VANDNPS Z4, Z29, Z5; \
	VADDPS Z5, Z5, Z0; \
	VORPS Z29, Z0, Z0; \
	EXPZ0; \
	VSUBPS Z0, Z25, Z1; \
	VADDPS Z25, Z0, Z2; \
	VDIVPS Z2, Z1, Z1; \
	VMULPS Z4, Z4, Z6; \
	VMOVAPS Z9, Z7; \
	VFMADD213PS Z10, Z6, Z7; \
	VFMADD213PS Z11, Z6, Z7; \
	VFMADD213PS Z12, Z6, Z7; \
	VFMADD213PS Z13, Z6, Z7; \
	VMULPS Z6, Z7, Z7; \
	VFMADD213PS Z4, Z4, Z7; \
	VCMPPS $1, Z14, Z5, K2; \
	VMOVAPS Z7, K2, Z1; \
	VANDNPS Z1, Z29, Z1; \
	VANDPS Z29, Z4, Z3; \
	VORPS Z3, Z1, Z0

// LOOP runs BODY (Z4 in, Z0 out) over CX elements from SI to DI.
#define LOOP(BODY) \
loop:; \
	CMPQ CX, $16; \
	JLT tail; \
	VMOVUPS (SI), Z4; \
	BODY; \
	VMOVUPS Z0, (DI); \
	ADDQ $64, SI; \
	ADDQ $64, DI; \
	SUBQ $16, CX; \
	JMP loop; \
tail:; \
	TESTQ CX, CX; \
	JEQ done; \
	MOVQ $1, AX; \
	SHLQ CX, AX; \
	DECQ AX; \
	KMOVW AX, K1; \
	VMOVUPS.Z (SI), K1, Z4; \
	BODY; \
	VMOVUPS Z0, K1, (DI); \
done:; \
	VZEROUPPER; \
	RET

#define EXPZ4 VMOVAPS Z4, Z0; EXPZ0
#define SILUZ4 SIGMOIDZ4; VMULPS Z4, Z0, Z0

// func expAVX512(dst, src []float32)
TEXT ·expAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	LOADCONSTS
	LOOP(EXPZ4)

// func sigmoidAVX512(dst, src []float32)
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	LOADCONSTS
	LOOP(SIGMOIDZ4)

// func siluAVX512(dst, src []float32)
TEXT ·siluAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	LOADCONSTS
	LOOP(SILUZ4)

// func tanhAVX512(dst, src []float32)
TEXT ·tanhAVX512(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	LOADCONSTS
	VBROADCASTSS fmT0<>(SB), Z9
	VBROADCASTSS fmT1<>(SB), Z10
	VBROADCASTSS fmT2<>(SB), Z11
	VBROADCASTSS fmT3<>(SB), Z12
	VBROADCASTSS fmT4<>(SB), Z13
	VBROADCASTSS fmSmall<>(SB), Z14
	LOOP(TANHZ4)
