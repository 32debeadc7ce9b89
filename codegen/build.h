/*
 * build.h — one compile of a checkpoint into an output directory: the
 * pipeline `lfm2c compile` runs, callable in-process (tune and variants
 * build their candidates through it, not by running lfm2c again).
 *
 * build_model runs the work in a supervised child process (supervise.h)
 * and replaces OUT as one set (outdir.h): an error, a full disk or a
 * signal leaves OUT as it was.  The request's Schedule (passes/schedule.h)
 * is the compile's one options object; it is read, never changed.
 */
#ifndef LFM2C_BUILD_H
#define LFM2C_BUILD_H

#include "codegen.h"
#include "schedule.h"

typedef enum BuildEmit { EMIT_EXE, EMIT_OBJ, EMIT_ASM, EMIT_LLVM, EMIT_C, EMIT_LOOPS, EMIT_LIB, BUILD_N_EMITS } BuildEmit;
/* "exe", "obj", "asm", "llvm", "c", "loops", "lib" */
extern const char *const build_emit_names[BUILD_N_EMITS];

typedef struct BuildRequest {
	const char *model_dir, *out_dir;
	int backend_c;            /* 1: C backend, 0: LLVM */
	const char *triple, *cpu, *features;   /* NULL: this machine */
	BuildEmit emit;
	int embed;                /* link the weights into lfm2-run */
	int no_cache;             /* neither read nor write the build cache */
	const char *cc;           /* the C compiler, or NULL: $CC / cc / <arch>-linux-gnu-gcc */
	const char *symbol;       /* the model symbol, a C identifier ("lfm2_model") */
	const char *lib_prefix;   /* EMIT_LIB: the API's prefix (lib.h), NULL: LIB_DEFAULT_PREFIX */
	int verbose;              /* print the commands and the cache key */
	int quiet;                /* no progress line */
	const Schedule *schedule; /* formats, fusions, tiles; never NULL */
	const char *schedule_path;   /* the file it came from, for messages, or NULL */
	const char *sysfs_root;   /* where the host's cache sizes are read (machine.h); NULL: /sys */
} BuildRequest;

typedef struct BuildResult {
	char summary[1200];       /* "lfm2c: compiled ... in 1.2 s" or the cache-hit line */
	int cached;               /* served by the build cache */
} BuildResult;

/* 0 (OUT holds the new build; res filled), 1 (err says why, one line),
 * or 130 (a signal stopped it; err says which). */
int build_model(const BuildRequest *r, BuildResult *res, LfmError *err);

/* What a build of r would be tiled for, without building: the target,
 * the machine model and the tiles (codegen_explain), to out.  Uses r's
 * triple, cpu, features, schedule, schedule_path and sysfs_root only.
 * 0, or -1 with one line in err. */
int build_explain(const BuildRequest *r, FILE *out, LfmError *err);

#endif
