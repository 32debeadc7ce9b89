/*
 * outdir.h — the output directory of `lfm2c compile`, replaced as a set.
 *
 * A compile writes a handful of files (model.o or model.c, model.h,
 * weights.bin, tokenizer.bin, runtime/, lfm2-run).  Whatever happens —
 * an error, Ctrl-C, a full disk, a second compile into the same OUT — OUT
 * must afterwards hold either the complete previous build or the complete
 * new one, and never a file lfm2c did not write may be touched.  So:
 *
 *   - every compile into OUT first takes an flock on a lock file beside
 *     OUT ("PARENT/.NAME.lfm2c-lock"); a second compile into the same OUT
 *     waits for the first, so two builds never interleave;
 *   - the files are written into a staging directory beside OUT
 *     ("PARENT/.NAME.lfm2c-stage-XXXXXX", same filesystem, so renames are
 *     atomic), itself flock'd while in use;
 *   - holding the lock, the compile removes every staging directory of OUT
 *     that nobody holds any more (left by a SIGKILL'd compile) — by lock,
 *     never by guessing from process ids;
 *   - OUT/.lfm2c-manifest lists the files of the build in OUT.  Commit
 *     moves the new files in, removes the files of the previous manifest
 *     that the new build does not have (a stale tokenizer.bin, say) and
 *     writes the new manifest.  A file in OUT that no manifest lists and
 *     that the new build would replace is refused, not overwritten: it is
 *     the user's.  While files move, the manifest lists the union of old
 *     and new marked "incomplete", so even a SIGKILL in that instant leaves
 *     a directory the next compile can clean;
 *   - an OUT that did not exist is created by renaming the finished stage
 *     onto it: it appears complete or not at all.
 *
 * When OUT's parent is not writable (OUT=/srv/models/x with /srv/models
 * root's), the lock and the stage live inside OUT instead (".lfm2c-lock",
 * ".lfm2c-stage-XXXXXX"); OUT must then exist.
 *
 * The caller owns an OutDir by value; nothing here is global.
 */
#ifndef LFM2C_OUTDIR_H
#define LFM2C_OUTDIR_H

#include "frontend.h"

#define OUTDIR_MANIFEST ".lfm2c-manifest"
#define OUTDIR_MAX_FILES 64
#define OUTDIR_NAME_MAX 128

typedef struct OutDir {
	char out[1024];       /* OUT as the user gave it (for messages) */
	char base[1024];      /* the directory that holds the lock and the stage */
	char prefix[300];     /* their names' prefix: ".NAME.lfm2c-" or ".lfm2c-" */
	char lock_path[1400];
	char stage[1400];     /* the staging directory, "" before begin / after commit */
	int lock_fd, stage_fd;
	int out_existed;
} OutDir;

/* Takes the lock on OUT (waiting, with one line on stderr, if another
 * compile holds it), removes stale staging directories of OUT and creates
 * a fresh one (d->stage).  0, or -1 with err naming OUT and the reason. */
int outdir_begin(OutDir *d, const char *out, LfmError *err);

/* Makes OUT hold exactly the staged files names[0..n) (paths relative to
 * the stage, "runtime/x.c" allowed; the stage may hold other files, which
 * are dropped), as described above.  0, or -1 with err; on error OUT is
 * as it was unless err says otherwise. */
int outdir_commit(OutDir *d, char names[][OUTDIR_NAME_MAX], int n, LfmError *err);

/* Removes the stage if it is still there and releases the lock. */
void outdir_end(OutDir *d);

#endif
