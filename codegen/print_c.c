/*
 * print_c.c — the C backend: prints the loop-level form as C.
 *
 * The output is C11 with GNU vector extensions (GCC and Clang): a vector
 * type f32x16 is `float __attribute__((vector_size(64)))`, arithmetic on
 * it is lane-wise, and a few static inline helpers per vector type load,
 * store, broadcast and sum them (load_f32x16, splat_f32x16, hsum_f32x16).
 * Loads and stores go through memcpy, which compilers turn into single
 * unaligned vector moves and which keeps the code free of aliasing
 * questions.  Expressions are printed with C's precedence, so only the
 * parentheses C needs appear; FMA prints as a * b + c and is fused by the
 * C compiler where the target has FMA.
 *
 * Everything the code does is in the module; this file only spells it.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

typedef struct CP {
	const LModule *m;
	const Target *t;
	FILE *f;
	int depth;
	unsigned char used[LK_NAMED + 1][65];   /* vector types used: [kind][lanes] */
	unsigned char exp_used[LK_NAMED + 1][65];
	unsigned char minmax_used[LK_NAMED + 1][65];   /* vector MIN/MAX, ROUND helpers */
	unsigned char hmax_used[LK_NAMED + 1][65];     /* REDUCE_MAX helpers, by the vector's type */
	unsigned char round_used[LK_NAMED + 1][65];
	unsigned char f16_used[65];                  /* f16 x n -> f32 x n conversions */
	int *assign_count;                       /* per variable */
} CP;

enum { P_COND = 3, P_OR = 4, P_AND = 5, P_BOR = 6, P_BXOR = 7, P_BAND = 8, P_EQ = 9, P_REL = 10,
       P_SHIFT = 11, P_ADD = 12, P_MUL = 13, P_UNARY = 15, P_POSTFIX = 16, P_PRIMARY = 17 };

static void out(CP *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(CP *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
}

static void indent(CP *p)
{
	for (int i = 0; i < p->depth; i++)
		fputc('\t', p->f);
}

/* ------------------------------------------------------------ types */

static const char *scalar_c(LKind k)
{
	switch (k) {
	case LK_VOID: return "void";
	case LK_BOOL: return "int";
	case LK_I8: return "int8_t";
	case LK_U8: return "uint8_t";
	case LK_I16: return "int16_t";
	case LK_I32: return "int32_t";
	case LK_U32: return "uint32_t";
	case LK_I64: return "int64_t";
	case LK_U64: return "uint64_t";
	case LK_F32: return "float";
	case LK_F64: return "double";
	case LK_F16: return "_Float16";
	default: return "?";
	}
}

static const char *vec_prefix(LKind k)
{
	switch (k) {
	case LK_F32: return "f32";
	case LK_F64: return "f64";
	case LK_I8: return "i8";
	case LK_U8: return "u8";
	case LK_I16: return "i16";
	case LK_I32: return "i32";
	case LK_I64: return "i64";
	case LK_U32: return "u32";
	case LK_U64: return "u64";
	case LK_F16: return "f16";
	case LK_BOOL: return "b";
	default: return "v";
	}
}

static const char *struct_c(const LModule *m, int sid, char *buf, size_t n)
{
	const LStruct *s = &m->st[sid];
	snprintf(buf, n, s->c_extern ? "%s" : "struct %s", s->name);
	return buf;
}

static const char *ctype(CP *p, LType t, char *buf, size_t n)
{
	char sb[96];
	switch (t.kind) {
	case LK_PTR: {
		const char *base;
		if (t.elem == LK_STRUCT)
			base = struct_c(p->m, t.sid, sb, sizeof sb);
		else if (t.elem == LK_I8)
			base = "char";
		else
			base = scalar_c((LKind)t.elem);
		snprintf(buf, n, "%s%s *", t.is_const ? "const " : "", base);
		return buf;
	}
	case LK_STRUCT:
		return struct_c(p->m, t.sid, buf, n);
	case LK_NAMED:
		snprintf(buf, n, "%s", p->m->st[t.sid].name);
		return buf;
	default:
		if (t.lanes > 1)
			snprintf(buf, n, "%sx%d", vec_prefix((LKind)t.kind), t.lanes);
		else
			snprintf(buf, n, "%s", scalar_c((LKind)t.kind));
		return buf;
	}
}

/* "type name" / "type *name" spacing */
static void decl(CP *p, LType t, const char *name)
{
	char tb[128];
	ctype(p, t, tb, sizeof tb);
	size_t n = strlen(tb);
	out(p, "%s%s%s", tb, n && tb[n - 1] == '*' ? "" : " ", name);
}

/* ------------------------------------------------------------ constants */

/* Shortest decimal that reads back as the same value. */
static void print_float(CP *p, double v, int is_f32)
{
	if (isinf(v)) {
		out(p, "%sINFINITY", v < 0 ? "-" : "");
		return;
	}
	char buf[64];
	for (int prec = is_f32 ? 6 : 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (is_f32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
			break;
	}
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	out(p, "%s%s", buf, is_f32 ? "f" : "");
}

static void print_const(CP *p, const LExpr *x)
{
	if (x->s) {
		out(p, "%s", x->s);
		return;
	}
	switch (x->type.kind) {
	case LK_F32: print_float(p, x->f, 1); return;
	case LK_F64: print_float(p, x->f, 0); return;
	case LK_U64:
	case LK_U32:
		if ((uint64_t)x->i >= (1ull << 32))
			out(p, "0x%016" PRIx64 "ull", (uint64_t)x->i);
		else
			out(p, "%" PRIu64 "u", (uint64_t)x->i);
		return;
	default:
		out(p, "%" PRId64, x->i);
		return;
	}
}

static void print_string(CP *p, const char *s)
{
	fputc('"', p->f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out(p, "\\%c", *s);
		else if ((unsigned char)*s < 32)
			out(p, "\\%03o", (unsigned char)*s);
		else
			fputc(*s, p->f);
	}
	fputc('"', p->f);
}

/* ---------------------------------------------------------- expressions */

static int prec_of(const LModule *m, LE e)
{
	const LExpr *x = &m->e[e];
	switch (x->op) {
	case LE_CONST:
		if (x->s)
			return P_PRIMARY;
		if (lt_is_float(x->type))
			return x->f < 0 || (x->f == 0 && signbit(x->f)) ? P_UNARY : P_PRIMARY;
		return x->i < 0 ? P_UNARY : P_PRIMARY;
	case LE_ADD: case LE_SUB: case LE_PTR_ADD: case LE_FMA: return P_ADD;
	case LE_MUL: case LE_DIV: case LE_REM: return P_MUL;
	case LE_MIN: case LE_MAX: return x->type.lanes > 1 ? P_PRIMARY : P_COND;
	case LE_SELECT: return P_COND;
	case LE_BAND: return P_BAND;
	case LE_BOR: return P_BOR;
	case LE_BXOR: return P_BXOR;
	case LE_SHL: case LE_SHR: return P_SHIFT;
	case LE_BITCAST: return x->type.lanes > 1 && m->e[x->a].type.lanes > 1 ? P_UNARY : P_PRIMARY;
	case LE_ADDR: return m->v[x->i].count ? P_PRIMARY : P_UNARY;   /* an array is its address */
	case LE_NEG: case LE_PTR_CAST: return P_UNARY;
	case LE_CONVERT: return x->type.lanes > 1 ? P_PRIMARY : P_UNARY;
	case LE_LT: case LE_LE: return P_REL;
	case LE_EQ: case LE_NE: return P_EQ;
	case LE_AND: return P_AND;
	case LE_OR: return P_OR;
	case LE_LOAD:
		if (x->type.lanes > 1)
			return P_PRIMARY;
		return m->e[x->a].op == LE_PTR_ADD ? P_POSTFIX : P_UNARY;
	case LE_FIELD: return P_POSTFIX;
	default: return P_PRIMARY;
	}
}

static void pe(CP *p, LE e, int min);

static void args_list(CP *p, const LExpr *x)
{
	for (int i = 0; i < x->nargs; i++) {
		if (i)
			out(p, ", ");
		pe(p, lm_arg(p->m, x, i), 0);
	}
}

static void binop(CP *p, const LExpr *x, const char *op, int prec)
{
	pe(p, x->a, prec);
	out(p, " %s ", op);
	pe(p, x->b, prec + 1);
}

static void helper_call(CP *p, const char *what, LType t, LE a)
{
	char tb[128];   /* a vector type name, or a struct pointer (names up to 96) */
	out(p, "%s_%s(", what, ctype(p, t, tb, sizeof tb));
	pe(p, a, 0);
	out(p, ")");
}

static void math_call(CP *p, const LExpr *x, const char *name)
{
	if (x->type.lanes > 1) {
		p->exp_used[x->type.kind][x->type.lanes] = 1;
		helper_call(p, name, x->type, x->a);
		return;
	}
	out(p, "%s%s(", name, x->type.kind == LK_F32 ? "f" : "");
	pe(p, x->a, 0);
	out(p, ")");
}

static void print_agg(CP *p, const LExpr *x);

/* Bitwise operators: operands in parentheses unless primary, so the C
 * reads unambiguously (and -Wparentheses stays quiet). */
static void bitop(CP *p, const LExpr *x, const char *op)
{
	pe(p, x->a, P_UNARY);
	out(p, " %s ", op);
	pe(p, x->b, P_UNARY);
}

static void pe(CP *p, LE e, int min)
{
	const LModule *m = p->m;
	const LExpr *x = &m->e[e];
	int prec = prec_of(m, e);
	int paren = prec < min;
	char tb[128];
	if (paren)
		out(p, "(");
	switch (x->op) {
	case LE_CONST: print_const(p, x); break;
	case LE_VAR: out(p, "%s", m->v[x->i].name); break;
	case LE_ADDR:
		if (m->v[x->i].count)
			out(p, "%s", m->v[x->i].name);   /* an array is its address */
		else
			out(p, "&%s", m->v[x->i].name);
		break;
	case LE_ADD: binop(p, x, "+", P_ADD); break;
	case LE_SUB: binop(p, x, "-", P_ADD); break;
	case LE_MUL: binop(p, x, "*", P_MUL); break;
	case LE_DIV: binop(p, x, "/", P_MUL); break;
	case LE_REM: binop(p, x, "%", P_MUL); break;
	case LE_LT: binop(p, x, "<", P_REL); break;
	case LE_LE: binop(p, x, "<=", P_REL); break;
	case LE_EQ: binop(p, x, "==", P_EQ); break;
	case LE_NE: binop(p, x, "!=", P_EQ); break;
	case LE_AND: binop(p, x, "&&", P_AND); break;
	case LE_OR: binop(p, x, "||", P_OR); break;
	case LE_MIN:
	case LE_MAX:
		if (x->type.lanes > 1) {   /* C has no vector ?: */
			out(p, "%s_%s(", x->op == LE_MIN ? "min" : "max", ctype(p, x->type, tb, sizeof tb));
			pe(p, x->a, 0);
			out(p, ", ");
			pe(p, x->b, 0);
			out(p, ")");
			break;
		}
		pe(p, x->a, P_REL + 1);
		out(p, x->op == LE_MIN ? " < " : " > ");
		pe(p, x->b, P_REL + 1);
		out(p, " ? ");
		pe(p, x->a, P_COND + 1);
		out(p, " : ");
		pe(p, x->b, P_COND);
		break;
	case LE_NEG:
		out(p, "-");
		pe(p, x->a, P_POSTFIX);
		break;
	case LE_SELECT:
		pe(p, x->a, P_COND + 1);
		out(p, " ? ");
		pe(p, x->b, P_COND + 1);
		out(p, " : ");
		pe(p, x->c, P_COND);
		break;
	case LE_FMA:
		pe(p, x->a, P_MUL);
		out(p, " * ");
		pe(p, x->b, P_MUL + 1);
		out(p, " + ");
		pe(p, x->c, P_ADD + 1);
		break;
	case LE_CONVERT:
		if (x->type.lanes > 1 && m->e[x->a].type.kind == LK_F16 && x->type.kind == LK_F32) {
			out(p, "f16_to_f32x%d(", x->type.lanes);   /* the target's instruction (f16_helpers) */
			pe(p, x->a, 0);
			out(p, ")");
		} else if (x->type.lanes > 1) {
			out(p, "__builtin_convertvector(");
			pe(p, x->a, 0);
			out(p, ", %s)", ctype(p, x->type, tb, sizeof tb));
		} else {
			out(p, "(%s)", ctype(p, x->type, tb, sizeof tb));
			pe(p, x->a, P_UNARY);
		}
		break;
	case LE_PTR_ADD: binop(p, x, "+", P_ADD); break;
	case LE_PTR_CAST:
		out(p, "(%s)", ctype(p, x->type, tb, sizeof tb));
		pe(p, x->a, P_UNARY);
		break;
	case LE_LOAD:
		if (x->type.lanes > 1) {
			helper_call(p, "load", x->type, x->a);
		} else if (m->e[x->a].op == LE_PTR_ADD) {
			pe(p, m->e[x->a].a, P_POSTFIX);
			out(p, "[");
			pe(p, m->e[x->a].b, 0);
			out(p, "]");
		} else {
			out(p, "*");
			pe(p, x->a, P_UNARY);
		}
		break;
	case LE_FIELD: {
		const LExpr *s = &m->e[x->a];
		const char *field = m->st[s->type.sid].fields[x->i].name;
		if (s->op == LE_ADDR) {
			out(p, "%s.%s", m->v[s->i].name, field);
		} else {
			pe(p, x->a, P_POSTFIX);
			out(p, "->%s", field);
		}
		break;
	}
	case LE_SPLAT: helper_call(p, "splat", x->type, x->a); break;
	case LE_REDUCE_ADD: helper_call(p, "hsum", m->e[x->a].type, x->a); break;
	case LE_REDUCE_MAX: helper_call(p, "hmax", m->e[x->a].type, x->a); break;
	case LE_EXP: math_call(p, x, "exp"); break;
	case LE_SQRT: math_call(p, x, "sqrt"); break;
	case LE_COS: math_call(p, x, "cos"); break;
	case LE_SIN: math_call(p, x, "sin"); break;
	case LE_CALL:
		out(p, "%s(", m->f[x->i].name);
		args_list(p, x);
		out(p, ")");
		break;
	case LE_CALLP:
		pe(p, x->a, P_POSTFIX);
		out(p, "(");
		args_list(p, x);
		out(p, ")");
		break;
	case LE_FUNC: out(p, "%s", m->f[x->i].name); break;
	case LE_GLOBAL: out(p, "%s%s", m->g[x->i].count ? "" : "&", m->g[x->i].name); break;
	case LE_STR: print_string(p, x->s); break;
	case LE_AGG: print_agg(p, x); break;
	case LE_BAND: bitop(p, x, "&"); break;
	case LE_BOR: bitop(p, x, "|"); break;
	case LE_BXOR: bitop(p, x, "^"); break;
	case LE_SHL: bitop(p, x, "<<"); break;
	case LE_SHR: bitop(p, x, ">>"); break;
	case LE_BITCAST:
		if (x->type.lanes > 1 && m->e[x->a].type.lanes > 1) {   /* GNU C: a vector cast keeps the bits */
			out(p, "(%s)", ctype(p, x->type, tb, sizeof tb));
			pe(p, x->a, P_UNARY);
		} else {
			out(p, "({ %s bc_r; __typeof__(", ctype(p, x->type, tb, sizeof tb));
			pe(p, x->a, 0);
			out(p, ") bc_a = ");
			pe(p, x->a, 0);
			out(p, "; memcpy(&bc_r, &bc_a, sizeof bc_r); bc_r; })");
		}
		break;
	case LE_ROUND:
		if (x->type.lanes > 1) {
			helper_call(p, "roundeven", x->type, x->a);
		} else {
			out(p, "__builtin_roundeven%s(", x->type.kind == LK_F32 ? "f" : "");
			pe(p, x->a, 0);
			out(p, ")");
		}
		break;
	case LE_DOT4_I8:
	case LE_DOT4_S8:
	case LE_DOT2_BF16:
	case LE_DOT2_I16:
	case LE_PAIRS_I32:
		out(p, "%s_%s(", x->op == LE_DOT4_I8 ? (x->i <= 127 ? "dot4_u7i8" : "dot4_i8")
		                 : x->op == LE_DOT4_S8 ? "dot4_s8" : x->op == LE_DOT2_BF16 ? "dot2_bf16"
		                 : x->op == LE_DOT2_I16 ? "dot2_i16" : "pairs_i32",
		    ctype(p, x->type, tb, sizeof tb));
		pe(p, x->a, 0);
		out(p, ", ");
		pe(p, x->b, 0);
		if (x->c) {
			out(p, ", ");
			pe(p, x->c, 0);
		}
		out(p, ")");
		break;
	default:
		out(p, "/* ? */0");
		break;
	}
	if (paren)
		out(p, ")");
}

/* {a, b, c}; struct values of ABI types use designated fields, arrays of
 * structs one row per line with the row's comment. */
static void print_agg(CP *p, const LExpr *x)
{
	const LModule *m = p->m;
	int is_struct = x->type.kind == LK_STRUCT;
	const LStruct *s = is_struct ? &m->st[x->type.sid] : NULL;
	int rows = x->nargs && m->e[lm_arg(m, x, 0)].op == LE_AGG;
	int designated = s && s->c_extern;
	if (rows || designated) {
		out(p, "{\n");
		for (int i = 0; i < x->nargs; i++) {
			LE it = lm_arg(m, x, i);
			out(p, "\t");
			if (designated)
				out(p, ".%s = ", s->fields[i].name);
			pe(p, it, 0);
			out(p, ",");
			if (m->e[it].op == LE_AGG && m->e[it].s)
				out(p, "   /* %s */", m->e[it].s);
			out(p, "\n");
		}
		out(p, "}");
		return;
	}
	int wrap = !is_struct && x->nargs > 8;
	out(p, "{");
	for (int i = 0; i < x->nargs; i++) {
		if (wrap && i % 4 == 0)
			out(p, "%s\n\t", i ? "," : "");
		else if (i)
			out(p, ", ");
		pe(p, lm_arg(m, x, i), 0);
	}
	out(p, wrap ? "\n}" : "}");
}

/* ----------------------------------------------------------- statements */

static void block(CP *p, LS s);

static int single_simple(const LModule *m, LS s)
{
	return s && !m->s[s].next && m->s[s].op != LS_IF && m->s[s].op != LS_COMMENT;
}

/* A nested block: braces unless it is one simple statement. */
static void body(CP *p, LS s)
{
	if (single_simple(p->m, s)) {
		out(p, "\n");
		p->depth++;
		block(p, s);
		p->depth--;
		return;
	}
	out(p, " {\n");
	p->depth++;
	block(p, s);
	p->depth--;
	indent(p);
	out(p, "}\n");
}

static void stmt_for(CP *p, const LStmt *st)
{
	const LModule *m = p->m;
	const char *v = m->v[st->var].name;
	out(p, "for (");
	if (st->a) {
		if (!m->v[st->var].assigned)
			out(p, "int64_t ");
		out(p, "%s = ", v);
		pe(p, st->a, 0);
	}
	out(p, "; %s < ", v);
	pe(p, st->b, P_REL + 1);
	if (st->step == 1)
		out(p, "; %s++)", v);
	else
		out(p, "; %s += %" PRId64 ")", v, st->step);
	body(p, st->body);
}

static void stmt(CP *p, LS s)
{
	const LModule *m = p->m;
	const LStmt *st = &m->s[s];
	char tb[128];
	indent(p);
	switch (st->op) {
	case LS_FOR:
		stmt_for(p, st);
		return;
	case LS_IF:
		out(p, "if (");
		pe(p, st->a, 0);
		out(p, ")");
		if (!st->orelse) {
			body(p, st->body);
			return;
		}
		out(p, " {\n");
		p->depth++;
		block(p, st->body);
		p->depth--;
		indent(p);
		out(p, "} else");
		body(p, st->orelse);
		return;
	case LS_ASSIGN: {
		const LVar *v = &m->v[st->var];
		int agg = m->e[st->a].op == LE_AGG;
		if (st->decl) {
			decl(p, v->type, v->name);
			out(p, " = ");
		} else {
			out(p, "%s = ", v->name);
			if (agg)
				out(p, "(%s)", ctype(p, v->type, tb, sizeof tb));
		}
		pe(p, st->a, 0);
		out(p, ";\n");
		return;
	}
	case LS_STORE: {
		LType t = m->e[st->b].type;
		if (t.lanes > 1) {
			out(p, "store_%s(", ctype(p, t, tb, sizeof tb));
			pe(p, st->a, 0);
			out(p, ", ");
			pe(p, st->b, 0);
			out(p, ");\n");
			return;
		}
		if (m->e[st->a].op == LE_PTR_ADD) {
			pe(p, m->e[st->a].a, P_POSTFIX);
			out(p, "[");
			pe(p, m->e[st->a].b, 0);
			out(p, "]");
		} else {
			out(p, "*");
			pe(p, st->a, P_UNARY);
		}
		out(p, " = ");
		pe(p, st->b, 0);
		out(p, ";\n");
		return;
	}
	case LS_EVAL:
		pe(p, st->a, 0);
		out(p, ";\n");
		return;
	case LS_RETURN:
		out(p, "return");
		if (st->a) {
			out(p, " ");
			pe(p, st->a, 0);
		}
		out(p, ";\n");
		return;
	case LS_MEMCPY:
	case LS_MEMMOVE:
		out(p, "%s(", st->op == LS_MEMCPY ? "memcpy" : "memmove");
		pe(p, st->a, 0);
		out(p, ", ");
		pe(p, st->b, 0);
		out(p, ", (size_t)(");
		pe(p, st->c, 0);
		out(p, "));\n");
		return;
	case LS_COMMENT:
		out(p, "/* %s */\n", st->text);
		return;
	case LS_PREFETCH:
		out(p, "__builtin_prefetch(");
		pe(p, st->a, 0);
		out(p, ");\n");
		return;
	default:
		out(p, "/* ? */\n");
	}
}

static void block(CP *p, LS s)
{
	for (; s; s = p->m->s[s].next)
		stmt(p, s);
}

/* ------------------------------------------------------------ functions */

static void comment_block(CP *p, const char *text, const char *lead)
{
	if (!text || !*text)
		return;
	if (!strchr(text, '\n')) {
		out(p, "%s/* %s */\n", lead, text);
		return;
	}
	out(p, "%s/*", lead);
	const char *s = text;
	int first = 1;
	while (*s) {
		size_t n = strcspn(s, "\n");
		out(p, "%s%.*s\n", first ? " " : " * ", (int)n, s);
		first = 0;
		s += n;
		if (*s == '\n') {
			s++;
			out(p, "%s", lead);
		}
	}
	out(p, "%s */\n", lead);
}

static void signature(CP *p, const LFunc *f)
{
	out(p, "%s", f->linkage == LL_EXPORT ? "" : f->is_inline ? "static inline " : "static ");
	decl(p, f->ret, f->name);
	out(p, "(");
	for (int i = 0; i < f->nparams; i++) {
		if (i)
			out(p, ", ");
		decl(p, p->m->v[f->params[i]].type, p->m->v[f->params[i]].name);
	}
	out(p, f->nparams ? ")" : "void)");
}

static void function(CP *p, LF fi)
{
	const LModule *m = p->m;
	const LFunc *f = &m->f[fi];
	comment_block(p, f->comment, "");
	signature(p, f);
	out(p, "\n{\n");
	p->depth = 1;
	for (LV v = 1; v < m->nv; v++)
		if (m->v[v].func == fi && m->v[v].count) {
			indent(p);
			decl(p, m->v[v].type, m->v[v].name);
			out(p, "[%" PRId64 "];\n", m->v[v].count);
		}
	/* unused parameters (scratch_bytes' ctx, n_threads) */
	for (int i = 0; i < f->nparams; i++) {
		LV pv = f->params[i];
		int used = 0;
		for (LE e = 1; e < m->ne && !used; e++)
			used = m->e[e].op == LE_VAR && m->e[e].i == pv;
		if (!used) {
			indent(p);
			out(p, "(void)%s;\n", m->v[pv].name);
		}
	}
	block(p, f->body);
	p->depth = 0;
	out(p, "}\n\n");
}

/* ---------------------------------------------------------- preamble */

static void collect_vectors(CP *p)
{
	const LModule *m = p->m;
	for (LE e = 1; e < m->ne; e++) {
		LType t = m->e[e].type;
		if (t.lanes > 1 && t.kind <= LK_F16)
			p->used[t.kind][t.lanes] = 1;
		/* hsum halves down to 2 lanes; convert needs its source type too */
		if (m->e[e].op == LE_REDUCE_ADD)
			for (LType s = m->e[m->e[e].a].type; s.lanes >= 2; s.lanes /= 2)
				p->used[s.kind][s.lanes] = 1;
	}
	for (LV v = 1; v < m->nv; v++)
		if (m->v[v].type.lanes > 1)
			p->used[m->v[v].type.kind][m->v[v].type.lanes] = 1;
}

static void vector_helpers(CP *p)
{
	int any = 0;
	for (int k = 0; k <= LK_F16; k++)
		for (int l = 2; l <= 64; l++)
			any |= p->used[k][l];
	if (!any)
		return;
	out(p, "/* ------------------------------------------------------ vector types\n"
	       " * GNU C vectors; loads and stores through memcpy (unaligned, alias-safe). */\n\n"
	       "#pragma GCC diagnostic ignored \"-Wpsabi\"\n\n");
	for (int k = 0; k <= LK_F16; k++)
		for (int l = 2; l <= 64; l++)
			if (p->used[k][l])
				out(p, "typedef %s %sx%d __attribute__((vector_size(%d)));\n", scalar_c((LKind)k),
				    vec_prefix((LKind)k), l, l * lt_bytes((LKind)k));
	out(p, "\n");
	for (int k = 0; k <= LK_F16; k++)
		for (int l = 2; l <= 64; l++) {
			if (!p->used[k][l])
				continue;
			const char *s = scalar_c((LKind)k);
			const char *pre = vec_prefix((LKind)k);
			const char *ps = k == LK_I8 ? "char" : s;   /* i8 pointers print as char */
			out(p, "static inline %sx%d load_%sx%d(const %s *p) { %sx%d v; memcpy(&v, p, sizeof v); return v; }\n",
			    pre, l, pre, l, ps, pre, l);
			out(p, "static inline void store_%sx%d(%s *p, %sx%d v) { memcpy(p, &v, sizeof v); }\n", pre, l,
			    ps, pre, l);
			if (k != LK_F16)   /* f16 is only loaded and converted (lm_verify) */
				/* s - 0, not 0 + s: x - 0.0 == x for every float (so GCC folds it
				 * to one broadcast), 0.0 + -0.0 is +0.0 (so it cannot) */
				out(p, "static inline %sx%d splat_%sx%d(%s s) { return s - (%sx%d){0}; }\n", pre, l, pre, l, s,
				    pre, l);
			if (k == LK_F32 || k == LK_F64 || k == LK_I32) {
				if (l == 2)
					out(p, "static inline %s hsum_%sx2(%sx2 v) { return v[0] + v[1]; }\n", s, pre, pre);
				else if (p->used[k][l / 2])
					out(p, "static inline %s hsum_%sx%d(%sx%d v)\n{\n\t%sx%d lo, hi;\n"
					       "\tmemcpy(&lo, &v, sizeof lo);\n\tmemcpy(&hi, (char *)&v + sizeof lo, sizeof hi);\n"
					       "\treturn hsum_%sx%d(lo + hi);\n}\n",
					    s, pre, l, pre, l, pre, l / 2, pre, l / 2);
			}
			if (p->hmax_used[k][l])
				out(p, "static inline %s hmax_%sx%d(%sx%d v)\n{\n\t%s r = v[0];\n\tfor (int i = 1; i < %d; i++)\n"
				       "\t\tr = r > v[i] ? r : v[i];\n\treturn r;\n}\n", s, pre, l, pre, l, s, l);
			if (p->minmax_used[k][l])
				for (int i = 0; i < 2; i++)
					out(p, "static inline %sx%d %s_%sx%d(%sx%d a, %sx%d b)\n{\n\tfor (int i = 0; i < %d; i++)\n"
					       "\t\ta[i] = a[i] %s b[i] ? a[i] : b[i];\n\treturn a;\n}\n",
					    pre, l, i ? "max" : "min", pre, l, pre, l, pre, l, l, i ? ">" : "<");
			if (p->round_used[k][l])
				out(p, "static inline %sx%d roundeven_%sx%d(%sx%d v)\n{\n\tfor (int i = 0; i < %d; i++)\n"
				       "\t\tv[i] = __builtin_roundeven%s(v[i]);\n\treturn v;\n}\n",
				    pre, l, pre, l, pre, l, l, k == LK_F32 ? "f" : "");
			if (p->exp_used[k][l]) {
				static const char *const fns[] = {"exp", "sqrt", "cos", "sin"};
				for (int i = 0; i < 4; i++)
					out(p, "static inline %sx%d %s_%sx%d(%sx%d v)\n{\n\tfor (int i = 0; i < %d; i++)\n"
					       "\t\tv[i] = %s%s(v[i]);\n\treturn v;\n}\n",
					    pre, l, fns[i], pre, l, pre, l, l, fns[i], k == LK_F32 ? "f" : "");
			}
		}
	out(p, "\n");
}

/* CONVERT f16 x n -> f32 x n.  GCC scalarizes __builtin_convertvector from
 * _Float16 vectors (one vcvtph2ps / fcvt per lane), so where the C
 * compiler is told the target has the instruction, the intrinsic converts
 * the whole vector: vcvtph2ps (AVX-512F: 16 lanes; F16C: 8 and 4),
 * fcvtl (aarch64: 4).  Other widths and targets: the portable conversion. */
static void f16_helpers(CP *p)
{
	int any = 0;
	for (int l = 2; l <= 64; l++)
		any |= p->f16_used[l];
	if (!any)
		return;
	out(p, "/* ------------------------------------------------- f16 -> f32 conversion */\n\n"
	       "#if defined(__x86_64__)\n#include <immintrin.h>\n#elif defined(__aarch64__)\n#include <arm_neon.h>\n#endif\n\n");
	for (int l = 2; l <= 64; l++) {
		if (!p->f16_used[l])
			continue;
		out(p, "static inline f32x%d f16_to_f32x%d(f16x%d v)\n{\n", l, l, l);
		if (l == 16)
			out(p, "#if defined(__AVX512F__)\n\treturn (f32x16)_mm512_cvtph_ps((__m256i)v);\n#else\n");
		else if (l == 8)
			out(p, "#if defined(__F16C__)\n\treturn (f32x8)_mm256_cvtph_ps((__m128i)v);\n#else\n");
		else if (l == 4)
			out(p, "#if defined(__F16C__)\n\t__m128i h = _mm_setzero_si128();\n\tmemcpy(&h, &v, sizeof v);\n"
			       "\treturn (f32x4)_mm_cvtph_ps(h);\n"
			       "#elif defined(__aarch64__)\n\treturn (f32x4)vcvt_f32_f16((float16x4_t)v);\n#else\n");
		out(p, "\treturn __builtin_convertvector(v, f32x%d);\n", l);
		if (l == 16 || l == 8 || l == 4)
			out(p, "#endif\n");
		out(p, "}\n\n");
	}
}

/* The x86 dot helpers without VNNI (vpmaddubsw): u8 x i8 pairs into i16,
 * pairs of those into i32 — exact while no pair leaves i16, which the
 * callers guarantee (print_llvm.c says how). */
static const char *const x86_maddubs_c[17] = {
	[4] = "\treturn acc + (i32x4)_mm_madd_epi16(_mm_maddubs_epi16(ua, sb), _mm_set1_epi16(1));\n",
	[8] = "\treturn acc + (i32x8)_mm256_madd_epi16(_mm256_maddubs_epi16(ua, sb), _mm256_set1_epi16(1));\n",
	[16] = "\treturn acc + (i32x16)_mm512_madd_epi16(_mm512_maddubs_epi16(ua, sb), _mm512_set1_epi16(1));\n",
};
static const char *const x86_vec_c[17] = {[4] = "__m128i", [8] = "__m256i", [16] = "__m512i"};

/* aarch64 without sdot: i8 x i8 -> i16 (smull, smull2), pairs of those
 * (addp: |p + p'| <= 2 x 128 x 127), pairs again into acc (sadalp). */
static const char neon_smull_c[] =
	"\t/* i8 x i8 -> i16, pairs (|p + p'| <= 2 x 128 x 127), pairs again into acc */\n"
	"\tint16x8_t lo = vmull_s8(vget_low_s8((int8x16_t)a), vget_low_s8((int8x16_t)b));\n"
	"\tint16x8_t hi = vmull_high_s8((int8x16_t)a, (int8x16_t)b);\n"
	"\treturn (i32x4)vpadalq_s16((int32x4_t)acc, vpaddq_s16(lo, hi));\n";
static const char *const x86_maddubs_isa[17] = {[4] = "__SSSE3__", [8] = "__AVX2__", [16] = "__AVX512BW__"};

/* The VNNI lines of dot4_i8 / dot4_u7i8 for n lanes (vpdpbusd is exact for
 * any bytes); "" when there is no such width. */
static void vnni_branch(CP *p, int n)
{
	if (n == 16)
		out(p, "#if defined(__AVX512VNNI__)\n"
		       "\treturn (i32x16)_mm512_dpbusd_epi32((__m512i)acc, (__m512i)a, (__m512i)b);\n");
	else
		out(p, "#if defined(__AVX512VNNI__) && defined(__AVX512VL__)\n"
		       "\treturn (i32x%d)_mm%s_dpbusd_epi32((__m%di)acc, (__m%di)a, (__m%di)b);\n"
		       "#elif defined(__AVXVNNI__)\n"
		       "\treturn (i32x%d)_mm%s_dpbusd_avx_epi32((__m%di)acc, (__m%di)a, (__m%di)b);\n",
		    n, n == 8 ? "256" : "", 32 * n, 32 * n, 32 * n, n, n == 8 ? "256" : "", 32 * n, 32 * n, 32 * n);
}

static void lane_loop(CP *p, int n)
{
	out(p, "\tfor (int j = 0; j < %d; j++)\n"
	       "\t\tfor (int q = 0; q < 4; q++)\n"
	       "\t\t\tacc[j] += (int32_t)a[4 * j + q] * (int32_t)b[4 * j + q];\n"
	       "\treturn acc;\n", n);
}

/* DOT4_I8 / DOT4_S8 / DOT2_BF16: the target's instruction when the C
 * compiler is told it may use it (its feature macro), the lane loop
 * otherwise — the same choices as print_llvm.c's dot_product. */
static void dot_helpers(CP *p)
{
	const LModule *m = p->m;
	int dot4[65] = {0}, dot4u7[65] = {0}, dot4s[65] = {0}, dot2[65] = {0}, d16[65] = {0}, pairs[65] = {0}, any = 0;
	for (LE e = 1; e < m->ne; e++) {
		if (m->e[e].op == LE_DOT2_I16)
			any = d16[m->e[e].type.lanes] = 1;
		if (m->e[e].op == LE_PAIRS_I32)
			any = pairs[m->e[e].type.lanes] = 1;
		if (m->e[e].op == LE_DOT4_I8 && m->e[e].i <= 127)
			any = dot4u7[m->e[e].type.lanes] = 1;
		else if (m->e[e].op == LE_DOT4_I8)
			any = dot4[m->e[e].type.lanes] = 1;
		if (m->e[e].op == LE_DOT4_S8)
			any = dot4s[m->e[e].type.lanes] = 1;
		if (m->e[e].op == LE_DOT2_BF16)
			any = dot2[m->e[e].type.lanes] = 1;
	}
	if (!any)
		return;
	out(p, "/* ------------------------------------------------------ dot products */\n\n"
	       "#if defined(__x86_64__)\n#include <immintrin.h>\n#elif defined(__aarch64__)\n#include <arm_neon.h>\n#endif\n\n");
	for (int n = 4; n <= 16; n *= 2) {
		if (!dot4[n])
			continue;
		out(p, "/* acc[j] += sum_q a[4j+q] * b[4j+q]: a unsigned, b signed bytes */\n"
		       "static inline i32x%d dot4_i8_i32x%d(i32x%d acc, u8x%d a, i8x%d b)\n{\n", n, n, n, 4 * n, 4 * n);
		vnni_branch(p, n);
		if (n == 4)
			out(p, "#elif defined(__ARM_FEATURE_DOTPROD)\n"
			       "\t/* sdot is signed x signed: a = (a ^ 0x80) + 128 */\n"
			       "\tint8x16_t flip = veorq_s8((int8x16_t)a, vdupq_n_s8(-128));\n"
			       "\tint32x4_t s = vdotq_s32((int32x4_t)acc, flip, (int8x16_t)b);\n"
			       "\tint32x4_t c = vdotq_s32(vdupq_n_s32(0), vdupq_n_s8(1), (int8x16_t)b);\n"
			       "\treturn (i32x4)vaddq_s32(s, vshlq_n_s32(c, 7));\n");
		out(p, "#else\n");
		lane_loop(p, n);
		out(p, "#endif\n}\n\n");
	}
	for (int n = 4; n <= 16; n *= 2) {
		if (!dot4u7[n])
			continue;
		out(p, "/* acc[j] += sum_q a[4j+q] * b[4j+q]: a unsigned bytes below 128, b signed */\n"
		       "static inline i32x%d dot4_u7i8_i32x%d(i32x%d acc, u8x%d a, i8x%d b)\n{\n", n, n, n, 4 * n, 4 * n);
		vnni_branch(p, n);
		out(p, "#elif defined(%s)\n\t%s ua = (%s)a, sb = (%s)b;\n%s", x86_maddubs_isa[n], x86_vec_c[n],
		    x86_vec_c[n], x86_vec_c[n], x86_maddubs_c[n]);
		if (n == 4)
			out(p, "#elif defined(__ARM_FEATURE_DOTPROD)\n"
			       "\treturn (i32x4)vdotq_s32((int32x4_t)acc, (int8x16_t)a, (int8x16_t)b);\n"
			       "#elif defined(__aarch64__)\n%s", neon_smull_c);
		out(p, "#else\n");
		lane_loop(p, n);
		out(p, "#endif\n}\n\n");
	}
	for (int n = 4; n <= 16; n *= 2) {
		if (!dot4s[n])
			continue;
		out(p, "/* acc[j] += sum_q a[4j+q] * b[4j+q]: signed bytes, b never -128 */\n"
		       "static inline i32x%d dot4_s8_i32x%d(i32x%d acc, i8x%d a, i8x%d b)\n{\n", n, n, n, 4 * n, 4 * n);
		if (n == 4)
			out(p, "#if defined(__ARM_FEATURE_DOTPROD)\n"
			       "\treturn (i32x4)vdotq_s32((int32x4_t)acc, (int8x16_t)a, (int8x16_t)b);\n"
			       "#elif defined(__aarch64__)\n%s"
			       "#elif defined(__SSSE3__)\n"
			       "\t/* |a| (<= 128, unsigned) times b with a's sign (|.| <= 127) */\n"
			       "\t__m128i ua = _mm_sign_epi8((__m128i)a, (__m128i)a), sb = _mm_sign_epi8((__m128i)b, (__m128i)a);\n%s",
			    neon_smull_c, x86_maddubs_c[4]);
		else if (n == 8)
			out(p, "#if defined(__AVX2__)\n"
			       "\t/* |a| (<= 128, unsigned) times b with a's sign (|.| <= 127) */\n"
			       "\t__m256i ua = _mm256_sign_epi8((__m256i)a, (__m256i)a), sb = _mm256_sign_epi8((__m256i)b, (__m256i)a);\n%s",
			    x86_maddubs_c[8]);
		else
			out(p, "#if defined(__AVX512BW__)\n"
			       "\t/* |a| (<= 128, unsigned) times b with a's sign (|.| <= 127) */\n"
			       "\t__mmask64 neg = _mm512_movepi8_mask((__m512i)a);\n"
			       "\t__m512i ua = _mm512_abs_epi8((__m512i)a);\n"
			       "\t__m512i sb = _mm512_mask_sub_epi8((__m512i)b, neg, _mm512_setzero_si512(), (__m512i)b);\n%s",
			    x86_maddubs_c[16]);
		out(p, "#else\n");
		lane_loop(p, n);
		out(p, "#endif\n}\n\n");
	}
	for (int n = 8; n <= 32; n *= 2) {
		if (!d16[n])
			continue;
		/* the same vectors as an i32 helper of n / 2 lanes */
		out(p, "/* acc[j] += a[2j] b[2j] + a[2j+1] b[2j+1] in i16: a unsigned bytes below 128, b\n"
		       " * signed; the caller keeps every lane inside i16 */\n"
		       "static inline i16x%d dot2_i16_i16x%d(i16x%d acc, u8x%d a, i8x%d b)\n{\n"
		       "#if defined(%s)\n"
		       "\treturn acc + (i16x%d)_mm%s_maddubs_epi16((%s)a, (%s)b);\n#else\n"
		       "\tfor (int j = 0; j < %d; j++)\n"
		       "\t\tacc[j] += (int16_t)(a[2 * j] * b[2 * j] + a[2 * j + 1] * b[2 * j + 1]);\n"
		       "\treturn acc;\n#endif\n}\n\n",
		    n, n, n, 2 * n, 2 * n, x86_maddubs_isa[n / 2], n, n == 8 ? "" : n == 16 ? "256" : "512",
		    x86_vec_c[n / 2], x86_vec_c[n / 2], n);
	}
	for (int n = 4; n <= 16; n *= 2) {
		if (!pairs[n])
			continue;
		static const char *const isa[17] = {[4] = "__SSE2__", [8] = "__AVX2__", [16] = "__AVX512BW__"};
		static const char *const fn[17] = {[4] = "_mm_madd_epi16((__m128i)b, _mm_set1_epi16(1))",
		                                   [8] = "_mm256_madd_epi16((__m256i)b, _mm256_set1_epi16(1))",
		                                   [16] = "_mm512_madd_epi16((__m512i)b, _mm512_set1_epi16(1))"};
		out(p, "/* acc[j] += b[2j] + b[2j+1]: pairs of i16 lanes into i32 */\n"
		       "static inline i32x%d pairs_i32_i32x%d(i32x%d acc, i16x%d b)\n{\n"
		       "#if defined(%s)\n"
		       "\treturn acc + (i32x%d)%s;\n",
		    n, n, n, 2 * n, isa[n], n, fn[n]);
		if (n == 4)
			out(p, "#elif defined(__aarch64__)\n"
			       "\treturn (i32x4)vpadalq_s16((int32x4_t)acc, (int16x8_t)b);\n");
		out(p, "#else\n"
		       "\tfor (int j = 0; j < %d; j++)\n"
		       "\t\tacc[j] += (int32_t)b[2 * j] + (int32_t)b[2 * j + 1];\n"
		       "\treturn acc;\n#endif\n}\n\n", n);
	}
	if (dot2[4] || dot2[8] || dot2[16])
		out(p, "static inline float bf16_f32(int16_t h)\n{\n\tuint32_t u = (uint32_t)(uint16_t)h << 16;\n"
		       "\tfloat f;\n\tmemcpy(&f, &u, sizeof f);\n\treturn f;\n}\n\n");
	for (int n = 4; n <= 16; n *= 2) {
		if (!dot2[n])
			continue;
		out(p, "/* acc[j] += a[2j] b[2j] + a[2j+1] b[2j+1]: bf16 values held as int16 */\n"
		       "static inline f32x%d dot2_bf16_f32x%d(f32x%d acc, i16x%d a, i16x%d b)\n{\n", n, n, n, 2 * n, 2 * n);
		if (n == 16)
			out(p, "#if defined(__AVX512BF16__)\n"
			       "\treturn (f32x16)_mm512_dpbf16_ps((__m512)acc, (__m512bh)a, (__m512bh)b);\n#else\n");
		else if (n == 8)
			out(p, "#if defined(__AVX512BF16__) && defined(__AVX512VL__)\n"
			       "\treturn (f32x8)_mm256_dpbf16_ps((__m256)acc, (__m256bh)a, (__m256bh)b);\n#else\n");
		else
			out(p, "#if defined(__ARM_FEATURE_BF16_VECTOR_ARITHMETIC)\n"
			       "\treturn (f32x4)vbfdotq_f32((float32x4_t)acc, (bfloat16x8_t)a, (bfloat16x8_t)b);\n#else\n");
		out(p, "\tfor (int j = 0; j < %d; j++)\n"
		       "\t\tacc[j] += bf16_f32(a[2 * j]) * bf16_f32(b[2 * j]) + bf16_f32(a[2 * j + 1]) * bf16_f32(b[2 * j + 1]);\n"
		       "\treturn acc;\n#endif\n}\n\n", n);
	}
}

static void defines(CP *p)
{
	const LModule *m = p->m;
	out(p, "/* ---------------------------------------------------------------- sizes */\n\n");
	for (int i = 0; i < m->nd; i++) {
		const LDefine *d = &m->d[i];
		out(p, "#define %-24s ", d->name);
		print_const(p, &m->e[d->value]);
		if (d->comment && *d->comment)
			out(p, "   /* %s */", d->comment);
		out(p, "\n");
	}
	out(p, "\n");
}

static void structs(CP *p)
{
	const LModule *m = p->m;
	for (LStr s = 1; s < m->nst; s++) {
		const LStruct *st = &m->st[s];
		if (st->c_extern)
			continue;
		comment_block(p, st->comment, "");
		out(p, "struct %s {\n", st->name);
		for (int i = 0; i < st->nfields; i++) {
			out(p, "\t");
			decl(p, st->fields[i].type, st->fields[i].name);
			out(p, ";");
			if (st->fields[i].comment && *st->fields[i].comment)
				out(p, "   /* %s */", st->fields[i].comment);
			out(p, "\n");
		}
		out(p, "};\n\n");
	}
}

static int refers_to_functions(const LModule *m, LE e)
{
	const LExpr *x = &m->e[e];
	if (x->op == LE_FUNC)
		return 1;
	for (int i = 0; i < x->nargs; i++)
		if (refers_to_functions(m, lm_arg(m, x, i)))
			return 1;
	return 0;
}

static void global(CP *p, LG gi)
{
	const LModule *m = p->m;
	const LGlobal *g = &m->g[gi];
	comment_block(p, g->comment, "");
	out(p, "%sconst ", g->exported ? "" : "static ");
	decl(p, g->type, g->name);
	if (g->count)
		out(p, "[%" PRId64 "]", g->count);
	out(p, " = ");
	pe(p, g->init, 0);
	out(p, ";\n\n");
}

int print_c(const LModule *m, const Target *t, FILE *f, LfmError *err)
{
	CP p = {0};
	p.m = m;
	p.t = t;
	p.f = f;
	collect_vectors(&p);
	for (LE e = 1; e < m->ne; e++)
		if (m->e[e].type.lanes > 1 && (m->e[e].op == LE_EXP || m->e[e].op == LE_SQRT || m->e[e].op == LE_COS
		                               || m->e[e].op == LE_SIN))
			p.exp_used[m->e[e].type.kind][m->e[e].type.lanes] = 1;
	for (LE e = 1; e < m->ne; e++) {
		LType t = m->e[e].type;
		if (t.lanes > 1 && t.kind <= LK_F16 && (m->e[e].op == LE_MIN || m->e[e].op == LE_MAX))
			p.minmax_used[t.kind][t.lanes] = 1;
		if (m->e[e].op == LE_REDUCE_MAX) {
			LType v = m->e[m->e[e].a].type;
			p.hmax_used[v.kind][v.lanes] = 1;
		}
		if (t.lanes > 1 && t.kind <= LK_F16 && m->e[e].op == LE_ROUND)
			p.round_used[t.kind][t.lanes] = 1;
		if (t.lanes > 1 && t.kind == LK_F32 && m->e[e].op == LE_CONVERT && m->e[m->e[e].a].type.kind == LK_F16)
			p.f16_used[t.lanes] = 1;
	}

	comment_block(&p, m->comment, "");
	out(&p, "#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n");
	for (const char *const *inc = m->includes; inc && *inc; inc++)
		out(&p, "#include \"%s\"\n", *inc);
	if (m->includes)
		out(&p, "\n");
	defines(&p);
	vector_helpers(&p);
	f16_helpers(&p);
	dot_helpers(&p);
	out(&p, "/* ---------------------------------------------------------------- types */\n\n");
	structs(&p);
	out(&p, "/* --------------------------------------------------------------- tables */\n\n");
	for (LG g = 1; g < m->ng; g++)
		if (!m->g[g].exported && !refers_to_functions(m, m->g[g].init))
			global(&p, g);
	out(&p, "/* ------------------------------------------------------------ functions */\n\n");
	for (LF fi = 1; fi < m->nf; fi++)
		if (m->f[fi].linkage == LL_STATIC) {
			signature(&p, &m->f[fi]);
			out(&p, ";\n");
		}
	out(&p, "\n");
	for (LF fi = 1; fi < m->nf; fi++)
		if (m->f[fi].linkage != LL_EXTERN)
			function(&p, fi);
	out(&p, "/* ----------------------------------------------------------- the model */\n\n");
	for (LG g = 1; g < m->ng; g++)
		if (m->g[g].exported || refers_to_functions(m, m->g[g].init))
			global(&p, g);
	if (ferror(f))
		return lfm_error(err, NULL, "C backend: write failed");
	return 0;
}

int codegen_c(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
              const CodegenOptions *o, int embedded, FILE *c_out, FILE *h_out, LfmError *err)
{
	LModule *m = lower_model(g, ck, t, blob_hash, o, err);
	if (!m)
		return -1;
	int rc = print_c(m, t, c_out, err);
	if (!rc)
		rc = write_header(m, g, ck, blob_hash, o, embedded, h_out, err);
	lm_free(m);
	return rc;
}

int codegen_loops(const Graph *g, const Checkpoint *ck, const Target *t, uint64_t blob_hash,
                  const CodegenOptions *o, FILE *out, LfmError *err)
{
	LModule *m = lower_model(g, ck, t, blob_hash, o, err);
	if (!m)
		return -1;
	lm_dump(out, m);
	lm_free(m);
	return ferror(out) ? lfm_error(err, NULL, "write failed") : 0;
}
