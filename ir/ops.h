/*
 * ops.h — the one table of IR operations.
 *
 * Every op is listed once here; the table drives the op enum, the printer,
 * the verifier's arity check, the interpreter's dispatch and the C
 * backend's lowering (grep "ORDER OP" if you add one: append only, the
 * numbering is part of dumps and hashes).
 *
 * OP(name, arity, semantics)   — arity = number of value inputs
 *
 * Shapes: T = tokens in this call (symbolic), R = logit rows wanted
 * (symbolic: 1, T or 0, chosen per call), P = position of the first token.
 * Exact semantics, with every formula, are in specs/ir.md.
 */
OP(TOKENS,     0, "[T] i32 — the token ids given to this call")
OP(WEIGHT,     0, "a tensor of the checkpoint, stored in the weights blob")
OP(EMBED,      2, "y[t,:] = E[tok[t],:]                in: tokens [T], E [V,H]")
OP(RMSNORM,    2, "y = w * x / sqrt(mean(x*x) + eps)   over the last axis; w [last]")
OP(MATMUL,     2, "y[t,n] = sum_k x[t,k] * W[n,k]     in: x [T,K], W [N,K]")
OP(ADD_BIAS,   2, "y[t,n] = x[t,n] + b[n]")
OP(SLICE,      1, "y = x[:, a:a+n]                     last axis; a = aux, n = aux2")
OP(MUL,        2, "y = a * b                           elementwise, same shape")
OP(ADD,        2, "y = a + b                           elementwise, same shape")
OP(SHORT_CONV, 2, "causal depthwise cross-correlation over z with the conv state; w [H,1,L]")
OP(CONV_BIAS,  2, "y[t,c] = x[t,c] + b[c]             (the conv's own bias)")
OP(RESHAPE,    1, "view [T, n*d] as [T, n, d]          (or back)")
OP(ROPE,       1, "NeoX rotate-half RoPE, positions P..P+T-1, theta = f")
OP(ATTENTION,  3, "store k,v at P.. in KV slot aux; y = causal GQA softmax(q k^T/sqrt(d)) v")
OP(SILU,       1, "y = x * sigmoid(x)")
OP(LAST_ROWS,  1, "y = x[T-R:T, :]                     R = logit rows of this call")
OP(OUTPUT,     1, "the graph's result: logits [R, V]")
/* fusions (passes/fuse.c) */
OP(RMSNORM_UNIT,  1, "y = x / sqrt(mean(x*x) + eps)        an RMSNorm whose weight was folded away")
OP(MATMUL_ACC,    3, "y = c + x W^T                        in: x [M,K], W [N,K], c [M,N]")
OP(MATMUL_SWIGLU, 2, "y[t,i] = silu(x.W[2i]) * x.W[2i+1]   W [2F,K] rows in (w1,w3) pairs; y [T,F]")
OP(CONV_CHAIN,    2, "y = C * short_conv(B * x)            in: bcx [T,3H] = [B|C|x], w [H,1,L]; aux = conv slot")
OP(CONV_CHAIN_B,  3, "y = C * (short_conv(B * x) + b)      CONV_CHAIN with the conv's bias b [H]")
OP(NORM_ROPE,     2, "y = ROPE(RMSNORM(x, w))              x [T,n,d], w [d]; f = eps, f2 = theta")
