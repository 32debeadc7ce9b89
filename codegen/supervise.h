/*
 * supervise.h — run a piece of work in a child process that a signal to
 * lfm2c can stop cleanly.
 *
 * `lfm2c compile` writes gigabytes, runs LLVM (whose fatal errors end the
 * process) and runs the C compiler.  Rather than making every one of those
 * interruptible, the work runs in a child in its own process group, and
 * the parent only waits: SIGINT, SIGTERM and SIGHUP (unless ignored when
 * lfm2c started, as under nohup) stay blocked in the parent and are taken
 * with sigtimedwait, so the parent is never interrupted itself; on one of
 * them it kills the child's whole group (the child, its C compiler, the
 * assembler) with SIGKILL and reports which signal stopped the work.
 * The child dies with the parent too (PR_SET_PDEATHSIG), so a SIGKILL'd
 * lfm2c leaves no orphan writing on.
 *
 * The signals stay blocked after supervise() returns, so the caller can
 * commit the work's result without being cut off half-way;
 * supervise_release() unblocks them (a signal that came meanwhile then
 * acts as usual).
 */
#ifndef LFM2C_SUPERVISE_H
#define LFM2C_SUPERVISE_H

#include <signal.h>

typedef struct Supervision {
	sigset_t old_mask;
	int blocked;
	int exit_status;   /* the child's exit status, when it exited */
	int interrupted;   /* the signal sent to lfm2c that stopped the work, or 0 */
	int crashed;       /* the signal the child died of by itself, or 0 */
} Supervision;

/* Runs fn(ctx) in a child (whose exit status is fn's return) and waits for
 * it.  0 with *s filled, or -1 (fork failed, errno set; nothing ran). */
int supervise(int (*fn)(void *ctx), void *ctx, Supervision *s);

/* Restores the signal mask that supervise() found. */
void supervise_release(Supervision *s);

#endif
