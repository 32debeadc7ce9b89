/*
 * supervise.c — the child that does the work, the parent that waits
 * (supervise.h).
 *
 * The parent polls: waitpid(WNOHANG), then sigtimedwait for up to 100 ms.
 * Polling the child instead of relying on SIGCHLD alone keeps the loop
 * right whatever SIGCHLD's disposition was when lfm2c started.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* The stop signals lfm2c was not told to ignore. */
static void watched_set(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++) {
		struct sigaction sa;
		if (!sigaction(stop_signals[i], NULL, &sa) && sa.sa_handler == SIG_IGN)
			continue;
		sigaddset(set, stop_signals[i]);
	}
}

static void child_start(pid_t parent, const sigset_t *old_mask)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);   /* the parent died before the line above */
	signal(SIGTTOU, SIG_IGN);   /* a background group may still write to the terminal */
	sigprocmask(SIG_SETMASK, old_mask, NULL);
}

int supervise(int (*fn)(void *ctx), void *ctx, Supervision *s)
{
	memset(s, 0, sizeof *s);
	sigset_t set;
	watched_set(&set);
	fflush(stdout);
	fflush(stderr);
	if (sigprocmask(SIG_BLOCK, &set, &s->old_mask))
		return -1;
	s->blocked = 1;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		supervise_release(s);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		child_start(parent, &s->old_mask);
		int rc = fn(ctx);
		fflush(stdout);
		fflush(stderr);
		exit(rc);
	}
	setpgid(pid, pid);   /* also here: no window in which a kill(-pid) misses */
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 0;
			break;
		}
		struct timespec tick = {0, 100 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig > 0 && !s->interrupted) {
			s->interrupted = sig;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
	if (WIFEXITED(status))
		s->exit_status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status) && !s->interrupted)
		s->crashed = WTERMSIG(status);
	if (s->interrupted)
		kill(-pid, SIGKILL);   /* whatever of its group is still around */
	return 0;
}

void supervise_release(Supervision *s)
{
	if (s->blocked)
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	s->blocked = 0;
}
