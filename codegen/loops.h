/*
 * loops.h — the loop-level form: what the model's code is, before it is C
 * or LLVM IR.
 *
 * lower.c turns the graph into one LModule: functions made of loop nests,
 * with every scheduling decision already taken and written down as plain
 * data — which loops exist and in what order, their steps (tiles), the
 * vector width of every load, store and accumulator, how many independent
 * accumulators a dot product keeps, where work is split across threads.
 * The two printers only translate: print_c.c writes it as C (GCC vector
 * extensions), print_llvm.c builds it with the LLVM-C API.  No kernel is
 * written twice, and anything a schedule search wants to change is a
 * number in lower.c, not code in a printer.
 *
 * The form is deliberately small and C-like, as in Halide's Stmt or QBE:
 *   - types: scalars (bool, i8, u8, i32, u32, i64, u64, f32, f64, f16), vectors
 *     of a scalar with `lanes` > 1, typed pointers, structs;
 *   - expressions are pure trees over handles (LE), plus loads; a vector
 *     LOAD reads `lanes` consecutive elements, SPLAT broadcasts a scalar,
 *     REDUCE_ADD sums the lanes of a vector, FMA is a*b+c;
 *   - statements: FOR (counted loop, constant step), IF, ASSIGN to a
 *     variable, STORE through a pointer, EVAL (a call), RETURN, MEMCPY,
 *     MEMMOVE, COMMENT and PREFETCH (a cache hint), in blocks;
 *   - variables are function-local and mutable (a printer may keep them
 *     in registers or in stack slots), arrays are local arrays;
 *   - functions, structs (some mirror lfm2_abi.h and are only declared in
 *     C), module constants with C names, and constant globals.
 * Everything lives in flat arrays indexed by 32-bit handles; 0 is "none"
 * for every kind of handle, so element 0 of each array is a dummy.
 *
 * Target-specific operations (dot-product instructions) are single
 * expressions whose printers choose the instruction by target feature, with
 * a portable expansion otherwise (see LE_DOT4_* below).
 */
#ifndef LFM2C_LOOPS_H
#define LFM2C_LOOPS_H

#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ types */

typedef enum LKind {
	LK_VOID = 0,
	LK_BOOL,
	LK_I8,
	LK_U8,
	LK_I16,
	LK_I32,
	LK_U32,
	LK_I64,
	LK_U64,
	LK_F32,
	LK_F64,
	LK_F16,      /* IEEE binary16 (f16 weights): loaded and CONVERTed to f32, no arithmetic */
	LK_PTR,      /* pointer: elem = pointee kind (LK_VOID untyped), sid = pointee struct */
	LK_STRUCT,   /* sid */
	LK_NAMED,    /* a C type name (sid) that is a pointer at machine level, e.g. lfm2_task_fn */
} LKind;

typedef struct LType {
	uint8_t kind;
	uint8_t elem;       /* LK_PTR: pointee kind */
	uint8_t lanes;      /* vector lanes, 1 = scalar */
	uint8_t is_const;   /* LK_PTR: pointee is const (C only) */
	int16_t sid;        /* struct id (LK_STRUCT, LK_NAMED, pointee of LK_PTR) */
} LType;

typedef int32_t LE;      /* expression */
typedef int32_t LS;      /* statement */
typedef int32_t LV;      /* variable */
typedef int32_t LF;      /* function */
typedef int32_t LG;      /* global */
typedef int32_t LStr;    /* struct */

/* ----------------------------------------------------------- expressions
 * X(name, semantics).  Operands a, b, c are expressions; lists (call
 * arguments, aggregate members) are in LModule.args[args .. args+nargs).
 */
#define LE_OPS(X) \
	X(CONST,      "constant: integer i or float f; named (s) constants print by name in C") \
	X(VAR,        "value of variable i") \
	X(ADDR,       "address of local array/struct variable i") \
	X(ADD,        "a + b  (pointers: use PTR_ADD)") \
	X(SUB,        "a - b") \
	X(MUL,        "a * b") \
	X(DIV,        "a / b  (integers: truncating, signed)") \
	X(REM,        "a % b  (signed integers)") \
	X(MIN,        "a < b ? a : b") \
	X(MAX,        "a > b ? a : b") \
	X(NEG,        "-a") \
	X(LT,         "a < b  -> bool") \
	X(LE,         "a <= b -> bool") \
	X(EQ,         "a == b -> bool") \
	X(NE,         "a != b -> bool") \
	X(AND,        "a && b (bools, both evaluated)") \
	X(OR,         "a || b (bools, both evaluated)") \
	X(SELECT,     "a ? b : c") \
	X(FMA,        "a * b + c (fused where the target has FMA)") \
	X(CONVERT,    "a converted to type (int<->float, widths; lane-wise)") \
	X(PTR_ADD,    "a + b elements of a's pointee") \
	X(PTR_CAST,   "a as another pointer type") \
	X(LOAD,       "*a; a vector type loads `lanes` consecutive elements") \
	X(FIELD,      "a->field i (a points to a struct)") \
	X(SPLAT,      "vector of `lanes` copies of scalar a") \
	X(REDUCE_ADD, "sum of the lanes of vector a (any association order)") \
	X(REDUCE_MAX, "largest lane of float vector a (never NaN)") \
	X(EXP,        "e^a (lane-wise)") \
	X(SQRT,       "sqrt(a)") \
	X(COS,        "cos(a)") \
	X(SIN,        "sin(a)") \
	X(CALL,       "call function i with args") \
	X(CALLP,      "call function pointer a (type lfm2_task_fn) with args") \
	X(FUNC,       "address of function i") \
	X(GLOBAL,     "address of global i (arrays: of element 0)") \
	X(STR,        "string literal s") \
	X(AGG,        "aggregate constant (struct fields or array elements) from args; s: comment") \
	X(DOT4_I8,    "a (i32 x n) + per lane j: sum_{q<4} b[4j+q] * c[4j+q]; b u8 x 4n, c i8 x 4n; i: no byte of b exceeds i (0: 255)") \
	X(DOT4_S8,    "DOT4_I8 with b signed too: i8 x 4n times i8 x 4n (int8 weights x int8 activations); no byte of c is -128") \
	X(DOT2_BF16,  "a (f32 x n) + per lane j: sum_{q<2} b[2j+q] * c[2j+q]; b, c bf16 (as i16) x 2n") \
	X(DOT2_I16,   "a (i16 x m) + per lane j: b[2j] * c[2j] + b[2j+1] * c[2j+1]; b u8 x 2m (bytes <= i), c i8 x 2m; no lane leaves i16 (the caller's bound)") \
	X(PAIRS_I32,  "a (i32 x n) + per lane j: b[2j] + b[2j+1]; b i16 x 2n") \
	X(BAND,       "a & b  (integers, lane-wise)") \
	X(BOR,        "a | b  (integers)") \
	X(BXOR,       "a ^ b  (integers)") \
	X(SHL,        "a << b (integers of one type; each lane of b in [0, bits))") \
	X(SHR,        "a >> b: logical for unsigned kinds, arithmetic for signed ones") \
	X(BITCAST,    "a's bits read as `type`, of the same total size (f32 x 8 <-> i32 x 8, u8 x 32 <-> i32 x 8)") \
	X(ROUND,      "a rounded to the nearest integer, ties to even (float lanes; cvtps2dq / fcvtns rounding)")

typedef enum LEOp {
#define X(name, sem) LE_##name,
	LE_OPS(X)
#undef X
	LE_COUNT
} LEOp;

typedef struct LExpr {
	uint8_t op;
	LType type;
	LE a, b, c;
	int32_t args, nargs;
	int64_t i;
	double f;
	const char *s;
} LExpr;

/* ------------------------------------------------------------ statements */
#define LS_OPS(X) \
	X(FOR,     "for (var = a; var < b; var += step) body   (a == 0: keep var's value)") \
	X(IF,      "if (a) body else orelse") \
	X(ASSIGN,  "var = a   (decl: first assignment, where C declares it)") \
	X(STORE,   "*a = b   (vectors: lanes consecutive elements)") \
	X(EVAL,    "a, a call evaluated for its effect") \
	X(RETURN,  "return a (0: void)") \
	X(MEMCPY,  "memcpy(a, b, c bytes)") \
	X(MEMMOVE, "memmove(a, b, c bytes)") \
	X(COMMENT, "text") \
	X(PREFETCH, "hint: the cache line at address a is read soon (no effect on any value)")

typedef enum LSOp {
#define X(name, sem) LS_##name,
	LS_OPS(X)
#undef X
	LS_COUNT
} LSOp;

typedef struct LStmt {
	uint8_t op;
	uint8_t decl;
	LS next;
	LV var;
	LE a, b, c;
	int64_t step;
	LS body, orelse;
	const char *text;
} LStmt;

/* ------------------------------------------------------------ variables */

typedef struct LVar {
	const char *name;
	LType type;
	int64_t count;     /* > 0: a local array of `count` elements of type */
	LF func;
	uint8_t is_param;
	uint8_t is_restrict;   /* pointer parameter that aliases no other */
	uint8_t assigned;      /* some ASSIGN declares it (else a FOR over it does, in C) */
} LVar;

/* ------------------------------------------------------------ functions */

typedef enum LLinkage {
	LL_STATIC = 0,   /* internal to the module */
	LL_EXPORT,       /* external symbol defined here */
	LL_EXTERN,       /* defined elsewhere; C gets its prototype from a header */
} LLinkage;

#define LF_MAX_PARAMS 12

typedef struct LFunc {
	const char *name;
	const char *comment;   /* printed above the definition */
	LType ret;
	LV params[LF_MAX_PARAMS];
	int nparams;
	LS body;
	uint8_t linkage;
	uint8_t is_inline;     /* small helper: always inline */
} LFunc;

/* -------------------------------------------------------------- structs */

typedef struct LField {
	const char *name;
	LType type;
	const char *comment;
} LField;

typedef struct LStruct {
	const char *name;      /* C: struct tag, or the typedef name if c_extern */
	const char *comment;
	LField *fields;
	int nfields;
	uint8_t c_extern;      /* declared by lfm2_abi.h: C does not print it */
	uint8_t opaque;        /* no fields known (lfm2_pool) */
} LStruct;

/* -------------------------------------------------------------- globals */

typedef struct LGlobal {
	const char *name;
	const char *comment;
	LType type;            /* element type for arrays */
	int64_t count;         /* > 0: array; 0: a single value */
	LE init;               /* constant expression (AGG for arrays/structs) */
	uint8_t exported;
} LGlobal;

/* Module constants: C prints "#define NAME value  /- comment -/". */
typedef struct LDefine {
	const char *name;
	LE value;
	const char *comment;
} LDefine;

/* -------------------------------------------------------------- module */

typedef struct LModule {
	LExpr *e;      int ne, cap_e;
	LStmt *s;      int ns, cap_s;
	LVar *v;       int nv, cap_v;
	LFunc *f;      int nf, cap_f;
	LStruct *st;   int nst, cap_st;
	LGlobal *g;    int ng, cap_g;
	LDefine *d;    int nd, cap_d;
	int32_t *args; int nargs, cap_args;
	const char *comment;       /* file header comment */
	const char *const *includes;   /* C headers the C printer includes, NULL-terminated */

	/* builder cursor: the function being built and its open blocks; a
	 * kernel built while another function is open saves the cursor */
	LF cur;
	struct LOpen { LS owner; int which; LS last; } open[32];
	int nopen;
	struct LCursor { LF cur; struct LOpen open[32]; int nopen; } saved[8];
	int nsaved;

	/* string arena */
	struct LChunk *chunks;
	int failed;                /* out of memory somewhere: the module is unusable */
} LModule;

/* Creates an empty module (NULL when out of memory). */
LModule *lm_new(void);
void lm_free(LModule *m);

/* A copy of s (or printf-formatted) in the module's arena. */
const char *lm_str(LModule *m, const char *s);
const char *lm_fmt(LModule *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --------------------------------------------------------- type helpers */

LType lt_scalar(LKind k);
LType lt_vec(LKind k, int lanes);
LType lt_ptr(LKind elem, int is_const);
LType lt_struct_ptr(LStr s, int is_const);
LType lt_struct(LStr s);
LType lt_named(LStr s);
LType lt_elem(LType t);           /* scalar element of a vector */
LType lt_pointee(LType p, int lanes);   /* what LOAD of pointer p reads */
int lt_eq(LType a, LType b);
int lt_is_int(LType t);
int lt_is_float(LType t);
int lt_bytes(LKind k);            /* of one scalar element */
const char *lk_name(LKind k);

/* ------------------------------------------------------------ structs */

LStr lm_struct(LModule *m, const char *name, const char *comment, int c_extern);
int lm_field(LModule *m, LStr s, const char *name, LType type, const char *comment);
int lm_field_index(const LModule *m, LStr s, const char *name);   /* -1 if none */

/* ---------------------------------------------------------- expressions */

LE le_int(LModule *m, LKind k, int64_t v);      /* integer constant of kind k */
LE le_i64(LModule *m, int64_t v);
LE le_f32(LModule *m, double v);
LE le_f64(LModule *m, double v);
LE le_named(LModule *m, const char *define);    /* reference to a module constant */
LE le_var(LModule *m, LV v);
LE le_addr(LModule *m, LV v);
LE le_bin(LModule *m, LEOp op, LE a, LE b);     /* arithmetic and comparisons */
LE le_add(LModule *m, LE a, LE b);
LE le_sub(LModule *m, LE a, LE b);
LE le_mul(LModule *m, LE a, LE b);
LE le_div(LModule *m, LE a, LE b);
LE le_neg(LModule *m, LE a);
LE le_select(LModule *m, LE c, LE a, LE b);
LE le_fma(LModule *m, LE a, LE b, LE c);
LE le_convert(LModule *m, LE a, LType to);
LE le_at(LModule *m, LE ptr, LE index);         /* PTR_ADD */
LE le_ptr_cast(LModule *m, LE ptr, LType to);
LE le_load(LModule *m, LE ptr, int lanes);      /* lanes 1: scalar */
LE le_field(LModule *m, LE sptr, const char *field);
LE le_splat(LModule *m, LE scalar, int lanes);
LE le_reduce_add(LModule *m, LE vec);
LE le_reduce_max(LModule *m, LE vec);   /* float vectors */
LE le_math(LModule *m, LEOp op, LE a);          /* EXP, SQRT, COS, SIN */
LE le_call(LModule *m, LF f, const LE *args, int n);
LE le_callp(LModule *m, LE fnptr, const LE *args, int n);
LE le_func(LModule *m, LF f);
LE le_global(LModule *m, LG g);
LE le_str(LModule *m, const char *s);
LE le_agg(LModule *m, LType type, const LE *items, int n, const char *comment);
/* The dot products promise a printer facts about their operands that let
 * it pick an instruction which is exact only for them: DOT4_I8's u8_max
 * bounds b's bytes (15 for 4-bit codes, 255 for any byte), DOT4_S8's
 * second operand never holds -128 (activation codes are in -127..127).
 * x86 without VNNI multiplies with vpmaddubsw, whose 16-bit pair sums
 * saturate beyond 32767: exact when u8_max <= 127 (DOT4_I8), or with the
 * sign moved from the first operand onto the second (DOT4_S8: |a| <= 128,
 * |b| <= 127). */
LE le_dot4_i8(LModule *m, LE acc, LE u8s, LE i8s, int u8_max);
LE le_dot4_s8(LModule *m, LE acc, LE a, LE b);
LE le_dot2_bf16(LModule *m, LE acc, LE a, LE b);
/* 16-bit accumulation of u8 x i8 products (vpmaddubsw + vpaddw on x86):
 * DOT2_I16 adds pairs of products into i16 lanes — the caller guarantees
 * no lane ever leaves i16, counting every step it accumulates (u8_max
 * bounds the unsigned bytes, and must be <= 127 for vpmaddubsw's own
 * pair sums) — and PAIRS_I32 widens: each i32 lane gets two i16 lanes. */
LE le_dot2_i16(LModule *m, LE acc, LE u8s, LE i8s, int u8_max);
LE le_pairs_i32(LModule *m, LE acc, LE i16s);
/* BAND, BOR, BXOR, SHL, SHR go through le_bin (integer operands). */
LE le_bitcast(LModule *m, LE a, LType to);
LE le_round(LModule *m, LE a);

/* ------------------------------------------------- functions, variables */

LF lm_func(LModule *m, const char *name, LType ret, LLinkage linkage, const char *comment);
LV lm_param(LModule *m, LF f, const char *name, LType type);
LV lm_local(LModule *m, const char *name, LType type);          /* in the current function */
LV lm_array(LModule *m, const char *name, LType elem, int64_t count);
LF lm_find_func(const LModule *m, const char *name);            /* 0 if none */

/* ---------------------------------------------------- statements (builder)
 * lb_begin(m, f) starts appending to f's body; lb_for / lb_if open a
 * nested block that lb_end closes; lb_else switches an open IF to its
 * else block. */
void lb_begin(LModule *m, LF f);
void lb_finish(LModule *m);
LS lb_for(LModule *m, LV var, LE lo, LE hi, int64_t step);
LS lb_if(LModule *m, LE cond);
void lb_else(LModule *m);
void lb_end(LModule *m);
void lb_assign(LModule *m, LV var, LE value);     /* declares var on first use */
void lb_store(LModule *m, LE ptr, LE value);
void lb_eval(LModule *m, LE call);
void lb_return(LModule *m, LE value);
void lb_memcpy(LModule *m, LE dst, LE src, LE bytes);
void lb_memmove(LModule *m, LE dst, LE src, LE bytes);
void lb_comment(LModule *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A prefetch hint for the line holding addr (a pointer): streaming kernels
 * (decode GEMVs) ask for bytes a few KB ahead of what they read now. */
void lb_prefetch(LModule *m, LE addr);

/* A local of `type` named `name`, assigned `value` right here. */
LV lb_let(LModule *m, const char *name, LType type, LE value);

/* ---------------------------------------------------- globals, constants */

LG lm_global(LModule *m, const char *name, LType type, int64_t count, LE init, int exported,
             const char *comment);
void lm_define(LModule *m, const char *name, LE value, const char *comment);
const LDefine *lm_find_define(const LModule *m, const char *name);
LG lm_find_global(const LModule *m, const char *name);           /* 0 if none */

/* Expressions of a list in args. */
static inline LE lm_arg(const LModule *m, const LExpr *e, int i) { return m->args[e->args + i]; }

const char *le_op_name(LEOp op);
const char *ls_op_name(LSOp op);

/* Checks every function: operand types agree, variables belong to their
 * function, loops have a positive step.  Returns 0, or -1 with a message
 * in buf. */
int lm_verify(const LModule *m, char *buf, size_t n);

/* A short text dump, for debugging (`lfm2c compile --emit loops`). */
void lm_dump(FILE *f, const LModule *m);

#endif
