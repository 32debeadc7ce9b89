/*
 * convert.c — the three storage dtypes to and from float.
 *
 * BF16 is the top half of an IEEE single, so widening is a shift and
 * narrowing is round-to-nearest-even on the dropped 16 bits (NaN stays a
 * quiet NaN with its sign; overflow rounds to infinity naturally).
 *
 * F16 has 5 exponent bits: widening is exact for every pattern (subnormals
 * are renormalised, infinities and NaN payloads carried over); narrowing
 * rounds to nearest even, including into the subnormal range and up to
 * infinity at 65520 and beyond, like hardware conversion does.
 *
 * All of these work on bit patterns through memcpy, never on type-punned
 * pointers, and tensor data is read byte by byte in little-endian order, so
 * unaligned tensors (safetensors guarantees no alignment) and big-endian
 * hosts are both fine.
 */
#include <string.h>

#include "frontend.h"

static float f32_from_bits(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint32_t bits_from_f32(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

float lfm_bf16_to_f32(uint16_t b)
{
	return f32_from_bits((uint32_t)b << 16);
}

uint16_t lfm_f32_to_bf16(float f)
{
	uint32_t x = bits_from_f32(f);
	if ((x & 0x7fffffffu) > 0x7f800000u)           /* NaN: keep sign, force quiet */
		return (uint16_t)((x >> 16) | 0x0040u);
	uint32_t lsb = (x >> 16) & 1u;
	return (uint16_t)((x + 0x7fffu + lsb) >> 16);
}

float lfm_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t mant = h & 0x3ffu;
	if (exp == 0x1f)                                /* inf / NaN (payload kept) */
		return f32_from_bits(sign | 0x7f800000u | mant << 13);
	if (exp != 0)                                   /* normal */
		return f32_from_bits(sign | (exp + 112u) << 23 | mant << 13);
	if (mant == 0)                                  /* signed zero */
		return f32_from_bits(sign);
	/* subnormal: mant * 2^-24; shift the leading 1 up to the implicit bit */
	uint32_t shifts = 0;
	while (!(mant & 0x400u)) {
		mant <<= 1;
		shifts++;
	}
	/* the leading bit was at 10 - shifts: value = 1.x * 2^(-14 - shifts) */
	return f32_from_bits(sign | (113u - shifts) << 23 | (mant & 0x3ffu) << 13);
}

/* Round m >> shift to nearest even. */
static uint32_t shift_round_even(uint32_t m, uint32_t shift)
{
	uint32_t q = m >> shift;
	uint32_t rem = m & ((1u << shift) - 1u);
	uint32_t half = 1u << (shift - 1u);
	if (rem > half || (rem == half && (q & 1u)))
		q++;
	return q;
}

uint16_t lfm_f32_to_f16(float f)
{
	uint32_t x = bits_from_f32(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
	uint32_t ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u)                           /* NaN: quiet, top payload bits */
		return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
	if (ax >= 0x477ff000u)                          /* >= 65520 (or inf) -> inf */
		return (uint16_t)(sign | 0x7c00u);
	if (ax >= 0x38800000u) {                        /* normal f16 range, >= 2^-14 */
		uint32_t rebased = ax - (112u << 23);       /* exponent bias 127 -> 15 */
		return (uint16_t)(sign | shift_round_even(rebased, 13));
	}
	if (ax <= 0x33000000u)                          /* <= 2^-25: rounds to zero */
		return sign;
	/* subnormal result: value / 2^-24 = m * 2^(E - 126), E = biased exp */
	uint32_t m = (ax & 0x7fffffu) | 0x800000u;
	uint32_t e = ax >> 23;
	return (uint16_t)(sign | shift_round_even(m, 126u - e));
}

/* ------------------------------------------------------ whole tensors */

static uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float element_f32(const StTensor *t, int64_t i)
{
	switch (t->dtype) {
	case ST_F32: return f32_from_bits(load_le32(t->data + 4 * i));
	case ST_F16: return lfm_f16_to_f32(load_le16(t->data + 2 * i));
	case ST_BF16: return lfm_bf16_to_f32(load_le16(t->data + 2 * i));
	}
	return 0.0f;
}

void lfm_tensor_to_f32(const StTensor *t, float *out)
{
	for (int64_t i = 0; i < t->numel; i++)
		out[i] = element_f32(t, i);
}

void lfm_tensor_to_f64(const StTensor *t, double *out)
{
	for (int64_t i = 0; i < t->numel; i++)
		out[i] = (double)element_f32(t, i);   /* every stored value is exact in f32 */
}
