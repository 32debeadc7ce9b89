/*
 * loops.c — building, checking and dumping the loop-level form (loops.h).
 *
 * Constructors check operand types as they go: a type mismatch is a bug in
 * the lowering, caught where it is made (lm_verify repeats the checks over
 * the finished module, so a printer never meets a malformed tree).  Memory
 * is grown arrays plus a string arena freed all at once, as in QBE; if an
 * allocation fails the module is marked failed and every constructor
 * returns handle 0 from then on, which the caller reports once.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loops.h"

static const char *const le_names[] = {
#define X(name, sem) #name,
	LE_OPS(X)
#undef X
};
static const char *const ls_names[] = {
#define X(name, sem) #name,
	LS_OPS(X)
#undef X
};

const char *le_op_name(LEOp op) { return op < LE_COUNT ? le_names[op] : "?"; }
const char *ls_op_name(LSOp op) { return op < LS_COUNT ? ls_names[op] : "?"; }

/* ------------------------------------------------------------ memory */

struct LChunk {
	struct LChunk *next;
	size_t used, cap;
	char data[];
};

/* Grows *arr (element size sz) so index n fits; returns 0 or -1. */
static int grow(LModule *m, void **arr, int *cap, int n, size_t sz)
{
	if (n < *cap)
		return 0;
	int nc = *cap ? *cap * 2 : 64;
	while (nc <= n)
		nc *= 2;
	void *p = realloc(*arr, (size_t)nc * sz);
	if (!p) {
		m->failed = 1;
		return -1;
	}
	memset((char *)p + (size_t)*cap * sz, 0, (size_t)(nc - *cap) * sz);
	*arr = p;
	*cap = nc;
	return 0;
}

#define GROW(m, arr, cap, n) grow((m), (void **)&(arr), &(cap), (n), sizeof *(arr))

LModule *lm_new(void)
{
	LModule *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	/* element 0 of every array is the "none" dummy */
	if (GROW(m, m->e, m->cap_e, 0) || GROW(m, m->s, m->cap_s, 0) || GROW(m, m->v, m->cap_v, 0)
	    || GROW(m, m->f, m->cap_f, 0) || GROW(m, m->st, m->cap_st, 0) || GROW(m, m->g, m->cap_g, 0)
	    || GROW(m, m->args, m->cap_args, 0)) {
		lm_free(m);
		return NULL;
	}
	m->ne = m->ns = m->nv = m->nf = m->nst = m->ng = 1;
	m->nargs = 1;
	return m;
}

void lm_free(LModule *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nst; i++)
		free(m->st[i].fields);
	for (struct LChunk *c = m->chunks, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(m->e);
	free(m->s);
	free(m->v);
	free(m->f);
	free(m->st);
	free(m->g);
	free(m->d);
	free(m->args);
	free(m);
}

static char *arena(LModule *m, size_t n)
{
	struct LChunk *c = m->chunks;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		c = malloc(sizeof *c + cap);
		if (!c) {
			m->failed = 1;
			return NULL;
		}
		c->next = m->chunks;
		c->used = 0;
		c->cap = cap;
		m->chunks = c;
	}
	char *p = c->data + c->used;
	c->used += n;
	return p;
}

const char *lm_str(LModule *m, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = arena(m, n);
	if (p)
		memcpy(p, s, n);
	return p ? p : "";
}

const char *lm_fmt(LModule *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *p = n >= 0 ? arena(m, (size_t)n + 1) : NULL;
	if (!p)
		return "";
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* An internal error of the lowering: the module is built by our own code,
 * so a type mismatch is a bug; say where and stop. */
static void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bug(const char *fmt, ...)
{
	va_list ap;
	fputs("lfm2c: internal error in the loop form: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ------------------------------------------------------------ types */

LType lt_scalar(LKind k) { return (LType){.kind = (uint8_t)k, .lanes = 1}; }
LType lt_vec(LKind k, int lanes) { return (LType){.kind = (uint8_t)k, .lanes = (uint8_t)lanes}; }
LType lt_ptr(LKind elem, int is_const)
{
	return (LType){.kind = LK_PTR, .elem = (uint8_t)elem, .lanes = 1, .is_const = (uint8_t)is_const};
}
LType lt_struct_ptr(LStr s, int is_const)
{
	return (LType){.kind = LK_PTR, .elem = LK_STRUCT, .lanes = 1, .is_const = (uint8_t)is_const,
	               .sid = (int16_t)s};
}
LType lt_struct(LStr s) { return (LType){.kind = LK_STRUCT, .lanes = 1, .sid = (int16_t)s}; }
LType lt_named(LStr s) { return (LType){.kind = LK_NAMED, .lanes = 1, .sid = (int16_t)s}; }
LType lt_elem(LType t)
{
	t.lanes = 1;
	return t;
}
LType lt_pointee(LType p, int lanes)
{
	LType t = {.kind = p.elem, .lanes = (uint8_t)lanes, .sid = p.elem == LK_STRUCT ? p.sid : 0};
	return t;
}

int lt_eq(LType a, LType b)
{
	if (a.kind != b.kind || a.lanes != b.lanes)
		return 0;
	if (a.kind == LK_PTR)
		return a.elem == b.elem && (a.elem != LK_STRUCT || a.sid == b.sid);
	if (a.kind == LK_STRUCT || a.kind == LK_NAMED)
		return a.sid == b.sid;
	return 1;
}

int lt_is_int(LType t)
{
	return t.kind == LK_I8 || t.kind == LK_U8 || t.kind == LK_I16 || t.kind == LK_I32
	       || t.kind == LK_U32 || t.kind == LK_I64 || t.kind == LK_U64;
}
int lt_is_float(LType t) { return t.kind == LK_F32 || t.kind == LK_F64 || t.kind == LK_F16; }

int lt_bytes(LKind k)
{
	switch (k) {
	case LK_BOOL: case LK_I8: case LK_U8: return 1;
	case LK_I16: case LK_F16: return 2;
	case LK_I32: case LK_U32: case LK_F32: return 4;
	case LK_I64: case LK_U64: case LK_F64: case LK_PTR: case LK_NAMED: return 8;
	default: return 0;
	}
}

const char *lk_name(LKind k)
{
	static const char *const n[] = {"void", "bool", "i8", "u8", "i16", "i32", "u32", "i64",
	                                "u64", "f32", "f64", "f16", "ptr", "struct", "named"};
	return k <= LK_NAMED ? n[k] : "?";
}

static const char *type_str(LType t, char *buf, size_t n)
{
	if (t.kind == LK_PTR)
		snprintf(buf, n, "%s%s*", t.is_const ? "const " : "", lk_name(t.elem));
	else if (t.lanes > 1)
		snprintf(buf, n, "%sx%d", lk_name(t.kind), t.lanes);
	else
		snprintf(buf, n, "%s", lk_name(t.kind));
	return buf;
}

/* ------------------------------------------------------------ structs */

LStr lm_struct(LModule *m, const char *name, const char *comment, int c_extern)
{
	if (GROW(m, m->st, m->cap_st, m->nst))
		return 0;
	LStruct *s = &m->st[m->nst];
	s->name = lm_str(m, name);
	s->comment = lm_str(m, comment);
	s->c_extern = (uint8_t)c_extern;
	return m->nst++;
}

int lm_field(LModule *m, LStr sid, const char *name, LType type, const char *comment)
{
	LStruct *s = &m->st[sid];
	LField *f = realloc(s->fields, (size_t)(s->nfields + 1) * sizeof *f);
	if (!f) {
		m->failed = 1;
		return -1;
	}
	s->fields = f;
	f[s->nfields] = (LField){lm_str(m, name), type, lm_str(m, comment)};
	return s->nfields++;
}

int lm_field_index(const LModule *m, LStr sid, const char *name)
{
	for (int i = 0; i < m->st[sid].nfields; i++)
		if (!strcmp(m->st[sid].fields[i].name, name))
			return i;
	return -1;
}

/* ---------------------------------------------------------- expressions */

static LE expr(LModule *m, LEOp op, LType t, LE a, LE b, LE c)
{
	if (m->failed || GROW(m, m->e, m->cap_e, m->ne))
		return 0;
	m->e[m->ne] = (LExpr){.op = (uint8_t)op, .type = t, .a = a, .b = b, .c = c};
	return m->ne++;
}

static LType T(const LModule *m, LE e) { return m->e[e].type; }

LE le_int(LModule *m, LKind k, int64_t v)
{
	LE e = expr(m, LE_CONST, lt_scalar(k), 0, 0, 0);
	if (e)
		m->e[e].i = v;
	return e;
}

LE le_i64(LModule *m, int64_t v) { return le_int(m, LK_I64, v); }

LE le_f32(LModule *m, double v)
{
	LE e = expr(m, LE_CONST, lt_scalar(LK_F32), 0, 0, 0);
	if (e)
		m->e[e].f = v;
	return e;
}

LE le_f64(LModule *m, double v)
{
	LE e = expr(m, LE_CONST, lt_scalar(LK_F64), 0, 0, 0);
	if (e)
		m->e[e].f = v;
	return e;
}

LE le_named(LModule *m, const char *define)
{
	const LDefine *d = lm_find_define(m, define);
	if (!d)
		bug("no module constant %s", define);
	LE v = d->value;
	LE e = expr(m, LE_CONST, T(m, v), 0, 0, 0);
	if (e) {
		m->e[e].i = m->e[v].i;
		m->e[e].f = m->e[v].f;
		m->e[e].s = d->name;
	}
	return e;
}

LE le_var(LModule *m, LV v)
{
	if (m->v[v].count)
		bug("array variable %s used as a value", m->v[v].name);
	LE e = expr(m, LE_VAR, m->v[v].type, 0, 0, 0);
	if (e)
		m->e[e].i = v;
	return e;
}

LE le_addr(LModule *m, LV v)
{
	LType t = m->v[v].type;
	LType p = t.kind == LK_STRUCT ? lt_struct_ptr(t.sid, 0) : lt_ptr((LKind)t.kind, 0);
	LE e = expr(m, LE_ADDR, p, 0, 0, 0);
	if (e)
		m->e[e].i = v;
	return e;
}

LE le_bin(LModule *m, LEOp op, LE a, LE b)
{
	LType ta = T(m, a), tb = T(m, b);
	if (!lt_eq(ta, tb))
		bug("%s of mismatched types (%s, %s)", le_op_name(op), lk_name(ta.kind), lk_name(tb.kind));
	if (ta.kind == LK_PTR || ta.kind == LK_STRUCT)
		bug("%s of pointers or structs", le_op_name(op));
	if (op == LE_REM && !lt_is_int(ta))
		bug("REM of non-integers");
	if ((op == LE_BAND || op == LE_BOR || op == LE_BXOR || op == LE_SHL || op == LE_SHR) && !lt_is_int(ta))
		bug("%s of non-integers", le_op_name(op));
	/* fold the trivial cases the lowering produces: x + 0, x * 1, constants */
	const LExpr *xa = &m->e[a], *xb = &m->e[b];
	int ca = xa->op == LE_CONST && !xa->s && lt_is_int(ta), cb = xb->op == LE_CONST && !xb->s && lt_is_int(tb);
	if (cb && xb->i == 0 && (op == LE_ADD || op == LE_SUB))
		return a;
	if (ca && xa->i == 0 && op == LE_ADD)
		return b;
	if (cb && xb->i == 1 && (op == LE_MUL || op == LE_DIV))
		return a;
	if (ca && xa->i == 1 && op == LE_MUL)
		return b;
	if (ca && cb && (op == LE_ADD || op == LE_SUB || op == LE_MUL))
		return le_int(m, (LKind)ta.kind, op == LE_ADD ? xa->i + xb->i : op == LE_SUB ? xa->i - xb->i : xa->i * xb->i);
	LType t = ta;
	if (op == LE_LT || op == LE_LE || op == LE_EQ || op == LE_NE)
		t = lt_vec(LK_BOOL, ta.lanes);
	if ((op == LE_AND || op == LE_OR) && ta.kind != LK_BOOL)
		bug("AND/OR of non-bools");
	return expr(m, op, t, a, b, 0);
}

LE le_add(LModule *m, LE a, LE b) { return le_bin(m, LE_ADD, a, b); }
LE le_sub(LModule *m, LE a, LE b) { return le_bin(m, LE_SUB, a, b); }
LE le_mul(LModule *m, LE a, LE b) { return le_bin(m, LE_MUL, a, b); }
LE le_div(LModule *m, LE a, LE b) { return le_bin(m, LE_DIV, a, b); }
LE le_neg(LModule *m, LE a) { return expr(m, LE_NEG, T(m, a), a, 0, 0); }

LE le_select(LModule *m, LE c, LE a, LE b)
{
	if (T(m, c).kind != LK_BOOL || !lt_eq(T(m, a), T(m, b)))
		bug("SELECT needs a bool condition and equal types");
	return expr(m, LE_SELECT, T(m, a), c, a, b);
}

LE le_fma(LModule *m, LE a, LE b, LE c)
{
	if (!lt_eq(T(m, a), T(m, b)) || !lt_eq(T(m, a), T(m, c)) || !lt_is_float(T(m, a)))
		bug("FMA needs three floats of one type");
	return expr(m, LE_FMA, T(m, a), a, b, c);
}

LE le_convert(LModule *m, LE a, LType to)
{
	if (T(m, a).lanes != to.lanes)
		bug("CONVERT changes the lane count");
	if (lt_eq(T(m, a), to))
		return a;
	return expr(m, LE_CONVERT, to, a, 0, 0);
}

LE le_at(LModule *m, LE ptr, LE index)
{
	if (T(m, ptr).kind != LK_PTR || T(m, index).kind != LK_I64 || T(m, index).lanes != 1)
		bug("PTR_ADD needs a pointer and an i64 index");
	if (m->e[index].op == LE_CONST && !m->e[index].s && m->e[index].i == 0)
		return ptr;
	return expr(m, LE_PTR_ADD, T(m, ptr), ptr, index, 0);
}

LE le_ptr_cast(LModule *m, LE ptr, LType to)
{
	if ((T(m, ptr).kind != LK_PTR && T(m, ptr).kind != LK_NAMED) || to.kind != LK_PTR)
		bug("PTR_CAST of a non-pointer");
	return expr(m, LE_PTR_CAST, to, ptr, 0, 0);
}

LE le_load(LModule *m, LE ptr, int lanes)
{
	LType p = T(m, ptr);
	if (p.kind != LK_PTR || p.elem == LK_VOID || p.elem == LK_STRUCT)
		bug("LOAD through a %s pointer", p.kind == LK_PTR ? lk_name(p.elem) : "non-");
	return expr(m, LE_LOAD, lt_pointee(p, lanes), ptr, 0, 0);
}

LE le_field(LModule *m, LE sptr, const char *field)
{
	LType p = T(m, sptr);
	if (p.kind != LK_PTR || p.elem != LK_STRUCT)
		bug("FIELD %s of a non-struct pointer", field);
	int i = lm_field_index(m, p.sid, field);
	if (i < 0)
		bug("struct %s has no field %s", m->st[p.sid].name, field);
	LE e = expr(m, LE_FIELD, m->st[p.sid].fields[i].type, sptr, 0, 0);
	if (e)
		m->e[e].i = i;
	return e;
}

LE le_splat(LModule *m, LE scalar, int lanes)
{
	if (T(m, scalar).lanes != 1)
		bug("SPLAT of a vector");
	if (lanes == 1)
		return scalar;
	return expr(m, LE_SPLAT, lt_vec((LKind)T(m, scalar).kind, lanes), scalar, 0, 0);
}

LE le_reduce_max(LModule *m, LE vec)
{
	if (!lt_is_float(T(m, vec)))
		bug("REDUCE_MAX of an integer vector");
	if (T(m, vec).lanes == 1)
		return vec;
	return expr(m, LE_REDUCE_MAX, lt_elem(T(m, vec)), vec, 0, 0);
}

LE le_reduce_add(LModule *m, LE vec)
{
	if (T(m, vec).lanes == 1)
		return vec;
	return expr(m, LE_REDUCE_ADD, lt_elem(T(m, vec)), vec, 0, 0);
}

LE le_math(LModule *m, LEOp op, LE a)
{
	if (!lt_is_float(T(m, a)))
		bug("%s of a non-float", le_op_name(op));
	return expr(m, op, T(m, a), a, 0, 0);
}

static int put_args(LModule *m, LE e, const LE *items, int n)
{
	if (!e || GROW(m, m->args, m->cap_args, m->nargs + n))
		return -1;
	m->e[e].args = m->nargs;
	m->e[e].nargs = n;
	for (int i = 0; i < n; i++)
		m->args[m->nargs++] = items[i];
	return 0;
}

LE le_call(LModule *m, LF f, const LE *args, int n)
{
	const LFunc *fn = &m->f[f];
	if (n != fn->nparams)
		bug("call of %s with %d arguments (takes %d)", fn->name, n, fn->nparams);
	for (int i = 0; i < n; i++) {
		LType want = m->v[fn->params[i]].type, got = T(m, args[i]);
		int to_void = want.kind == LK_PTR && got.kind == LK_PTR && want.elem == LK_VOID;
		int to_named = want.kind == LK_NAMED && got.kind == LK_PTR;
		if (!lt_eq(want, got) && !to_void && !to_named)
			bug("argument %d of %s: %s given, %s expected", i, fn->name, lk_name(got.kind),
			    lk_name(want.kind));
	}
	LE e = expr(m, LE_CALL, fn->ret, 0, 0, 0);
	if (e)
		m->e[e].i = f;
	return put_args(m, e, args, n) ? 0 : e;
}

LE le_callp(LModule *m, LE fnptr, const LE *args, int n)
{
	LE e = expr(m, LE_CALLP, lt_scalar(LK_VOID), fnptr, 0, 0);
	return put_args(m, e, args, n) ? 0 : e;
}

LE le_func(LModule *m, LF f)
{
	LE e = expr(m, LE_FUNC, lt_ptr(LK_VOID, 1), 0, 0, 0);
	if (e)
		m->e[e].i = f;
	return e;
}

LE le_global(LModule *m, LG g)
{
	LType t = m->g[g].type;
	LType p = t.kind == LK_STRUCT ? lt_struct_ptr(t.sid, 1) : lt_ptr((LKind)t.kind, 1);
	LE e = expr(m, LE_GLOBAL, p, 0, 0, 0);
	if (e)
		m->e[e].i = g;
	return e;
}

LE le_str(LModule *m, const char *s)
{
	LE e = expr(m, LE_STR, lt_ptr(LK_I8, 1), 0, 0, 0);
	if (e)
		m->e[e].s = lm_str(m, s);
	return e;
}

LE le_agg(LModule *m, LType type, const LE *items, int n, const char *comment)
{
	LE e = expr(m, LE_AGG, type, 0, 0, 0);
	if (e)
		m->e[e].s = lm_str(m, comment);
	return put_args(m, e, items, n) ? 0 : e;
}

LE le_dot4_i8(LModule *m, LE acc, LE u8s, LE i8s, int u8_max)
{
	LType ta = T(m, acc), tb = T(m, u8s), tc = T(m, i8s);
	if (ta.kind != LK_I32 || tb.kind != LK_U8 || tc.kind != LK_I8 || tb.lanes != 4 * ta.lanes
	    || tc.lanes != tb.lanes)
		bug("DOT4_I8 needs i32 x n, u8 x 4n, i8 x 4n");
	if (u8_max < 1 || u8_max > 255)
		bug("DOT4_I8: u8_max must be 1..255");
	LE e = expr(m, LE_DOT4_I8, ta, acc, u8s, i8s);
	if (e)
		m->e[e].i = u8_max;
	return e;
}

LE le_dot4_s8(LModule *m, LE acc, LE a, LE b)
{
	LType ta = T(m, acc), tb = T(m, a), tc = T(m, b);
	if (ta.kind != LK_I32 || tb.kind != LK_I8 || tc.kind != LK_I8 || tb.lanes != 4 * ta.lanes || tc.lanes != tb.lanes)
		bug("DOT4_S8 needs i32 x n, i8 x 4n, i8 x 4n");
	return expr(m, LE_DOT4_S8, ta, acc, a, b);
}

LE le_dot2_i16(LModule *m, LE acc, LE u8s, LE i8s, int u8_max)
{
	LType ta = T(m, acc), tb = T(m, u8s), tc = T(m, i8s);
	if (ta.kind != LK_I16 || tb.kind != LK_U8 || tc.kind != LK_I8 || tb.lanes != 2 * ta.lanes
	    || tc.lanes != tb.lanes)
		bug("DOT2_I16 needs i16 x m, u8 x 2m, i8 x 2m");
	if (u8_max < 1 || u8_max > 127)
		bug("DOT2_I16: u8_max must be 1..127");
	LE e = expr(m, LE_DOT2_I16, ta, acc, u8s, i8s);
	if (e)
		m->e[e].i = u8_max;
	return e;
}

LE le_pairs_i32(LModule *m, LE acc, LE i16s)
{
	LType ta = T(m, acc), tb = T(m, i16s);
	if (ta.kind != LK_I32 || tb.kind != LK_I16 || tb.lanes != 2 * ta.lanes)
		bug("PAIRS_I32 needs i32 x n, i16 x 2n");
	return expr(m, LE_PAIRS_I32, ta, acc, i16s, 0);
}

LE le_dot2_bf16(LModule *m, LE acc, LE a, LE b)
{
	LType ta = T(m, acc), tb = T(m, a), tc = T(m, b);
	if (ta.kind != LK_F32 || tb.kind != LK_I16 || tc.kind != LK_I16 || tb.lanes != 2 * ta.lanes
	    || tc.lanes != tb.lanes)
		bug("DOT2_BF16 needs f32 x n, bf16 x 2n (as i16), bf16 x 2n");
	return expr(m, LE_DOT2_BF16, ta, acc, a, b);
}

LE le_bitcast(LModule *m, LE a, LType to)
{
	LType ta = T(m, a);
	int scalar = ta.kind != LK_PTR && ta.kind != LK_STRUCT && ta.kind != LK_NAMED && ta.kind != LK_BOOL
	             && to.kind != LK_PTR && to.kind != LK_STRUCT && to.kind != LK_NAMED && to.kind != LK_BOOL;
	if (!scalar || lt_bytes((LKind)ta.kind) * ta.lanes != lt_bytes((LKind)to.kind) * to.lanes)
		bug("BITCAST between types of different sizes or non-numbers");
	if (lt_eq(ta, to))
		return a;
	return expr(m, LE_BITCAST, to, a, 0, 0);
}

LE le_round(LModule *m, LE a)
{
	if (!lt_is_float(T(m, a)))
		bug("ROUND of a non-float");
	return expr(m, LE_ROUND, T(m, a), a, 0, 0);
}

/* ------------------------------------------------- functions, variables */

LF lm_func(LModule *m, const char *name, LType ret, LLinkage linkage, const char *comment)
{
	if (GROW(m, m->f, m->cap_f, m->nf))
		return 0;
	LFunc *f = &m->f[m->nf];
	f->name = lm_str(m, name);
	f->comment = lm_str(m, comment);
	f->ret = ret;
	f->linkage = (uint8_t)linkage;
	return m->nf++;
}

LF lm_find_func(const LModule *m, const char *name)
{
	for (LF f = 1; f < m->nf; f++)
		if (!strcmp(m->f[f].name, name))
			return f;
	return 0;
}

static LV var(LModule *m, LF f, const char *name, LType type, int64_t count)
{
	if (GROW(m, m->v, m->cap_v, m->nv))
		return 0;
	m->v[m->nv] = (LVar){.name = lm_str(m, name), .type = type, .count = count, .func = f};
	return m->nv++;
}

LV lm_param(LModule *m, LF f, const char *name, LType type)
{
	if (m->f[f].nparams == LF_MAX_PARAMS)
		bug("too many parameters for %s", m->f[f].name);
	LV v = var(m, f, name, type, 0);
	if (v) {
		m->v[v].is_param = 1;
		m->f[f].params[m->f[f].nparams++] = v;
	}
	return v;
}

LV lm_local(LModule *m, const char *name, LType type) { return var(m, m->cur, name, type, 0); }
LV lm_array(LModule *m, const char *name, LType elem, int64_t count)
{
	return var(m, m->cur, name, elem, count);
}

/* ---------------------------------------------------------- statements */

void lb_begin(LModule *m, LF f)
{
	if (m->cur) {   /* building a helper while another function is open */
		if (m->nsaved == (int)(sizeof m->saved / sizeof m->saved[0]))
			bug("functions nested too deep");
		struct LCursor *c = &m->saved[m->nsaved++];
		c->cur = m->cur;
		c->nopen = m->nopen;
		memcpy(c->open, m->open, sizeof m->open);
	}
	m->cur = f;
	m->nopen = 1;
	m->open[0] = (struct LOpen){0, 0, 0};
}

void lb_finish(LModule *m)
{
	if (m->nopen != 1)
		bug("function %s ends with %d open blocks", m->f[m->cur].name, m->nopen - 1);
	m->nopen = 0;
	m->cur = 0;
	if (m->nsaved) {
		struct LCursor *c = &m->saved[--m->nsaved];
		m->cur = c->cur;
		m->nopen = c->nopen;
		memcpy(m->open, c->open, sizeof m->open);
	}
}

/* Appends statement s to the innermost open block. */
static void append(LModule *m, LS s)
{
	struct LOpen *o = &m->open[m->nopen - 1];
	if (o->last)
		m->s[o->last].next = s;
	else if (!o->owner)
		m->f[m->cur].body = s;
	else if (o->which == 0)
		m->s[o->owner].body = s;
	else
		m->s[o->owner].orelse = s;
	o->last = s;
}

static LS stmt(LModule *m, LSOp op)
{
	if (!m->cur || !m->nopen)
		bug("statement outside a function");
	if (m->failed || GROW(m, m->s, m->cap_s, m->ns))
		return 0;
	m->s[m->ns] = (LStmt){.op = (uint8_t)op};
	LS s = m->ns++;
	append(m, s);
	return s;
}

static void open_block(LModule *m, LS owner, int which)
{
	if (m->nopen == (int)(sizeof m->open / sizeof m->open[0]))
		bug("blocks nested too deep");
	m->open[m->nopen++] = (struct LOpen){owner, which, 0};
}

LS lb_for(LModule *m, LV v, LE lo, LE hi, int64_t step)
{
	if (m->v[v].type.kind != LK_I64 || (lo && T(m, lo).kind != LK_I64) || T(m, hi).kind != LK_I64
	    || step <= 0)
		bug("FOR needs i64 bounds and a positive step");
	LS s = stmt(m, LS_FOR);
	if (!s)
		return 0;
	m->s[s].var = v;
	m->s[s].a = lo;
	m->s[s].b = hi;
	m->s[s].step = step;
	open_block(m, s, 0);
	return s;
}

LS lb_if(LModule *m, LE cond)
{
	if (T(m, cond).kind != LK_BOOL)
		bug("IF of a non-bool");
	LS s = stmt(m, LS_IF);
	if (s) {
		m->s[s].a = cond;
		open_block(m, s, 0);
	}
	return s;
}

void lb_else(LModule *m)
{
	struct LOpen *o = &m->open[m->nopen - 1];
	if (!o->owner || m->s[o->owner].op != LS_IF || o->which)
		bug("else without if");
	o->which = 1;
	o->last = 0;
}

void lb_end(LModule *m)
{
	if (m->nopen < 2)
		bug("end without an open block");
	m->nopen--;
}

void lb_assign(LModule *m, LV v, LE value)
{
	if (!lt_eq(m->v[v].type, T(m, value)))
		bug("assignment to %s of a %s", m->v[v].name, lk_name(T(m, value).kind));
	LS s = stmt(m, LS_ASSIGN);
	if (!s)
		return;
	m->s[s].var = v;
	m->s[s].a = value;
	m->s[s].decl = !m->v[v].is_param && !m->v[v].assigned;
	m->v[v].assigned = 1;
}

LV lb_let(LModule *m, const char *name, LType type, LE value)
{
	LV v = lm_local(m, name, type);
	if (v)
		lb_assign(m, v, value);
	return v;
}

void lb_store(LModule *m, LE ptr, LE value)
{
	LType p = T(m, ptr), t = T(m, value);
	if (p.kind != LK_PTR || p.elem != t.kind)
		bug("STORE of %s through a %s pointer", lk_name(t.kind), lk_name(p.elem));
	LS s = stmt(m, LS_STORE);
	if (s) {
		m->s[s].a = ptr;
		m->s[s].b = value;
	}
}

void lb_eval(LModule *m, LE call)
{
	LS s = stmt(m, LS_EVAL);
	if (s)
		m->s[s].a = call;
}

void lb_return(LModule *m, LE value)
{
	LS s = stmt(m, LS_RETURN);
	if (s)
		m->s[s].a = value;
}

static void mem_stmt(LModule *m, LSOp op, LE dst, LE src, LE bytes)
{
	if (T(m, dst).kind != LK_PTR || T(m, src).kind != LK_PTR || T(m, bytes).kind != LK_I64)
		bug("%s needs two pointers and an i64 size", ls_op_name(op));
	LS s = stmt(m, op);
	if (s) {
		m->s[s].a = dst;
		m->s[s].b = src;
		m->s[s].c = bytes;
	}
}

void lb_memcpy(LModule *m, LE dst, LE src, LE bytes) { mem_stmt(m, LS_MEMCPY, dst, src, bytes); }
void lb_memmove(LModule *m, LE dst, LE src, LE bytes) { mem_stmt(m, LS_MEMMOVE, dst, src, bytes); }

void lb_prefetch(LModule *m, LE addr)
{
	if (T(m, addr).kind != LK_PTR)
		bug("PREFETCH needs a pointer");
	LS s = stmt(m, LS_PREFETCH);
	if (s)
		m->s[s].a = addr;
}

void lb_comment(LModule *m, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	LS s = stmt(m, LS_COMMENT);
	if (s)
		m->s[s].text = lm_str(m, buf);
}

/* ---------------------------------------------------- globals, constants */

LG lm_global(LModule *m, const char *name, LType type, int64_t count, LE init, int exported,
             const char *comment)
{
	if (GROW(m, m->g, m->cap_g, m->ng))
		return 0;
	m->g[m->ng] = (LGlobal){lm_str(m, name), lm_str(m, comment), type, count, init, (uint8_t)exported};
	return m->ng++;
}

void lm_define(LModule *m, const char *name, LE value, const char *comment)
{
	if (GROW(m, m->d, m->cap_d, m->nd))
		return;
	m->d[m->nd++] = (LDefine){lm_str(m, name), value, lm_str(m, comment)};
}

const LDefine *lm_find_define(const LModule *m, const char *name)
{
	for (int i = 0; i < m->nd; i++)
		if (!strcmp(m->d[i].name, name))
			return &m->d[i];
	return NULL;
}

LG lm_find_global(const LModule *m, const char *name)
{
	for (LG g = 1; g < m->ng; g++)
		if (!strcmp(m->g[g].name, name))
			return g;
	return 0;
}

/* ------------------------------------------------------------- verify */

typedef struct Checker {
	const LModule *m;
	LF f;
	char *buf;
	size_t n;
	int bad;
} Checker;

static void complain(Checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void complain(Checker *c, const char *fmt, ...)
{
	if (c->bad++)
		return;
	int k = snprintf(c->buf, c->n, "function %s: ", c->f ? c->m->f[c->f].name : "(globals)");
	va_list ap;
	va_start(ap, fmt);
	if (k >= 0 && (size_t)k < c->n)
		vsnprintf(c->buf + k, c->n - (size_t)k, fmt, ap);
	va_end(ap);
}

static void check_expr(Checker *c, LE e)
{
	const LModule *m = c->m;
	if (e <= 0 || e >= m->ne) {
		complain(c, "bad expression handle %d", e);
		return;
	}
	const LExpr *x = &m->e[e];
	if (x->a)
		check_expr(c, x->a);
	if (x->b)
		check_expr(c, x->b);
	if (x->c)
		check_expr(c, x->c);
	for (int i = 0; i < x->nargs; i++)
		check_expr(c, lm_arg(m, x, i));
	if ((x->op == LE_VAR || x->op == LE_ADDR) && c->f && m->v[x->i].func != c->f)
		complain(c, "variable %s of another function", m->v[x->i].name);
	if ((x->op == LE_VAR || x->op == LE_ADDR) && !c->f)
		complain(c, "variable in a global initializer");
	/* f16 is a storage type: it is loaded and converted, never computed with */
	if (x->type.kind == LK_F16 && x->op != LE_LOAD && x->op != LE_CONVERT && x->op != LE_BITCAST
	    && x->op != LE_VAR)
		complain(c, "%s of f16 values (f16 is only loaded, bitcast and converted)", le_op_name((LEOp)x->op));
	if (x->op == LE_CONVERT && m->e[x->a].type.lanes != x->type.lanes)
		complain(c, "CONVERT changes the lane count");
}

static void check_block(Checker *c, LS s)
{
	const LModule *m = c->m;
	for (; s; s = m->s[s].next) {
		const LStmt *st = &m->s[s];
		if (st->a)
			check_expr(c, st->a);
		if (st->b)
			check_expr(c, st->b);
		if (st->c)
			check_expr(c, st->c);
		if (st->var && m->v[st->var].func != c->f)
			complain(c, "statement %s on variable %s of another function", ls_op_name(st->op),
			         m->v[st->var].name);
		if (st->op == LS_FOR && st->step <= 0)
			complain(c, "loop over %s with step %lld", m->v[st->var].name, (long long)st->step);
		if (st->op == LS_RETURN) {
			LType r = m->f[c->f].ret;
			if ((st->a == 0) != (r.kind == LK_VOID) || (st->a && !lt_eq(m->e[st->a].type, r)))
				complain(c, "return of the wrong type");
		}
		check_block(c, st->body);
		check_block(c, st->orelse);
	}
}

int lm_verify(const LModule *m, char *buf, size_t n)
{
	Checker c = {m, 0, buf, n, 0};
	if (m->failed) {
		snprintf(buf, n, "out of memory while building the loop form");
		return -1;
	}
	for (LG g = 1; g < m->ng; g++)
		if (m->g[g].init)
			check_expr(&c, m->g[g].init);
	for (LF f = 1; f < m->nf; f++) {
		c.f = f;
		if (m->f[f].linkage != LL_EXTERN && !m->f[f].body)
			complain(&c, "no body");
		check_block(&c, m->f[f].body);
	}
	return c.bad ? -1 : 0;
}

/* --------------------------------------------------------------- dump */

static void dump_expr(FILE *f, const LModule *m, LE e)
{
	const LExpr *x = &m->e[e];
	char tb[32];
	switch (x->op) {
	case LE_CONST:
		if (x->s)
			fprintf(f, "%s", x->s);
		else if (lt_is_float(x->type))
			fprintf(f, "%g", x->f);
		else
			fprintf(f, "%lld", (long long)x->i);
		return;
	case LE_VAR:
		fprintf(f, "%s", m->v[x->i].name);
		return;
	case LE_ADDR:
		fprintf(f, "&%s", m->v[x->i].name);
		return;
	case LE_FUNC:
		fprintf(f, "@%s", m->f[x->i].name);
		return;
	case LE_GLOBAL:
		fprintf(f, "@%s", m->g[x->i].name);
		return;
	case LE_STR:
		fprintf(f, "\"%s\"", x->s);
		return;
	case LE_FIELD:
		dump_expr(f, m, x->a);
		fprintf(f, "->%s", m->st[m->e[x->a].type.sid].fields[x->i].name);
		return;
	default:
		break;
	}
	fprintf(f, "%s", le_op_name((LEOp)x->op));
	if (x->op == LE_LOAD || x->op == LE_SPLAT || x->op == LE_CONVERT || x->op == LE_PTR_CAST
	    || x->op == LE_BITCAST)
		fprintf(f, ".%s", type_str(x->type, tb, sizeof tb));
	if (x->op == LE_CALL)
		fprintf(f, " %s", m->f[x->i].name);
	fputc('(', f);
	int first = 1;
	LE ops[3] = {x->a, x->b, x->c};
	for (int i = 0; i < 3; i++)
		if (ops[i]) {
			fprintf(f, first ? "" : ", ");
			dump_expr(f, m, ops[i]);
			first = 0;
		}
	for (int i = 0; i < x->nargs; i++) {
		fprintf(f, first ? "" : ", ");
		dump_expr(f, m, lm_arg(m, x, i));
		first = 0;
	}
	fputc(')', f);
}

static void dump_block(FILE *f, const LModule *m, LS s, int depth)
{
	for (; s; s = m->s[s].next) {
		const LStmt *st = &m->s[s];
		fprintf(f, "%*s", 2 * depth, "");
		switch (st->op) {
		case LS_FOR:
			fprintf(f, "for %s in [", m->v[st->var].name);
			if (st->a)
				dump_expr(f, m, st->a);
			else
				fprintf(f, "%s", m->v[st->var].name);
			fprintf(f, ", ");
			dump_expr(f, m, st->b);
			fprintf(f, ") step %lld:\n", (long long)st->step);
			dump_block(f, m, st->body, depth + 1);
			continue;
		case LS_IF:
			fprintf(f, "if ");
			dump_expr(f, m, st->a);
			fprintf(f, ":\n");
			dump_block(f, m, st->body, depth + 1);
			if (st->orelse) {
				fprintf(f, "%*selse:\n", 2 * depth, "");
				dump_block(f, m, st->orelse, depth + 1);
			}
			continue;
		case LS_ASSIGN:
			fprintf(f, "%s%s = ", st->decl ? "let " : "", m->v[st->var].name);
			dump_expr(f, m, st->a);
			break;
		case LS_STORE:
			fprintf(f, "store ");
			dump_expr(f, m, st->a);
			fprintf(f, " <- ");
			dump_expr(f, m, st->b);
			break;
		case LS_COMMENT:
			fprintf(f, "# %s", st->text);
			break;
		default:
			fprintf(f, "%s", ls_op_name((LSOp)st->op));
			if (st->a) {
				fputc(' ', f);
				dump_expr(f, m, st->a);
			}
			if (st->b) {
				fprintf(f, ", ");
				dump_expr(f, m, st->b);
			}
			if (st->c) {
				fprintf(f, ", ");
				dump_expr(f, m, st->c);
			}
			break;
		}
		fputc('\n', f);
	}
}

void lm_dump(FILE *f, const LModule *m)
{
	char tb[32];
	for (int i = 0; i < m->nd; i++) {
		fprintf(f, "const %s = ", m->d[i].name);
		dump_expr(f, m, m->d[i].value);
		fputc('\n', f);
	}
	for (LF fn = 1; fn < m->nf; fn++) {
		const LFunc *F = &m->f[fn];
		if (F->linkage == LL_EXTERN)
			continue;
		fprintf(f, "\nfunc %s(", F->name);
		for (int i = 0; i < F->nparams; i++)
			fprintf(f, "%s%s %s", i ? ", " : "", type_str(m->v[F->params[i]].type, tb, sizeof tb),
			        m->v[F->params[i]].name);
		fprintf(f, ") -> %s:\n", type_str(F->ret, tb, sizeof tb));
		dump_block(f, m, F->body, 1);
	}
}
