/*
 * ops.h — the one table of IR operations.
 *
 * Every op is listed once here; the table drives the op enum, the printer
 * (operands and attributes), the verifier's operand checks, and the
 * interpreter's and the lowering's dispatch, whose switches name every op
 * with no default, so a new op without its case is a compile error
 * (-Werror=switch).  Append only: the numbering is part of dumps and hashes.
 *
 * OP(name, operands, attributes, semantics)
 *
 *   operands    one letter per value input, in order:
 *                 t  the TOKENS node ([T] i32)
 *                 w  a WEIGHT node (f32 values, stored in any format)
 *                 x  any other f32 value
 *   attributes  which node fields the op uses and the printer shows:
 *                 NONE, WEIGHT (aux: the weight), SLICE (aux, aux2:
 *                 start, length), EPS (f), THETA (f), EPS_THETA (f, f2),
 *                 CONV_SLOT (aux), KV_SLOT (aux)
 *   semantics   one line; the exact formulas are in specs/ir.md
 *
 * Shapes: T = tokens in this call (symbolic), R = logit rows wanted
 * (symbolic: 1, T or 0, chosen per call), P = position of the first token.
 */
OP(TOKENS,     "",    NONE,      "[T] i32 — the token ids given to this call")
OP(WEIGHT,     "",    WEIGHT,    "a tensor of the checkpoint, stored in the weights blob")
OP(EMBED,      "tw",  NONE,      "y[t,:] = E[tok[t],:]                in: tokens [T], E [V,H]")
OP(RMSNORM,    "xw",  EPS,       "y = w * x / sqrt(mean(x*x) + eps)   over the last axis; w [last]")
OP(MATMUL,     "xw",  NONE,      "y[t,n] = sum_k x[t,k] * W[n,k]     in: x [T,K], W [N,K]")
OP(ADD_BIAS,   "xw",  NONE,      "y[t,n] = x[t,n] + b[n]")
OP(SLICE,      "x",   SLICE,     "y = x[:, a:a+n]                     last axis; a = aux, n = aux2")
OP(MUL,        "xx",  NONE,      "y = a * b                           elementwise, same shape")
OP(ADD,        "xx",  NONE,      "y = a + b                           elementwise, same shape")
OP(SHORT_CONV, "xw",  CONV_SLOT, "causal depthwise cross-correlation over z with the conv state; w [H,1,L]")
OP(CONV_BIAS,  "xw",  NONE,      "y[t,c] = x[t,c] + b[c]             (the conv's own bias)")
OP(RESHAPE,    "x",   NONE,      "view [T, n*d] as [T, n, d]          (or back)")
OP(ROPE,       "x",   THETA,     "NeoX rotate-half RoPE, positions P..P+T-1, theta = f")
OP(ATTENTION,  "xxx", KV_SLOT,   "store k,v at P.. in KV slot aux; y = causal GQA softmax(q k^T/sqrt(d)) v")
OP(SILU,       "x",   NONE,      "y = x * sigmoid(x)")
OP(LAST_ROWS,  "x",   NONE,      "y = x[T-R:T, :]                     R = logit rows of this call")
OP(OUTPUT,     "x",   NONE,      "the graph's result: logits [R, V]")
/* fusions (passes/fuse.c) */
OP(RMSNORM_UNIT,  "x",   EPS,       "y = x / sqrt(mean(x*x) + eps)        an RMSNorm whose weight was folded away")
OP(MATMUL_ACC,    "xwx", NONE,      "y = c + x W^T                        in: x [M,K], W [N,K], c [M,N]")
OP(MATMUL_SWIGLU, "xw",  NONE,      "y[t,i] = silu(x.W[2i]) * x.W[2i+1]   W [2F,K] rows in (w1,w3) pairs; y [T,F]")
OP(CONV_CHAIN,    "xw",  CONV_SLOT, "y = C * short_conv(B * x)            in: bcx [T,3H] = [B|C|x], w [H,1,L]; aux = conv slot")
OP(CONV_CHAIN_B,  "xww", CONV_SLOT, "y = C * (short_conv(B * x) + b)      CONV_CHAIN with the conv's bias b [H]")
OP(NORM_ROPE,     "xw",  EPS_THETA, "y = ROPE(RMSNORM(x, w))              x [T,n,d], w [d]; f = eps, f2 = theta")
