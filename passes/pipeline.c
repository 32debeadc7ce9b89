/*
 * pipeline.c — checkpoint -> graph -> passes, the start of every command
 * that works on a model (ir, interp, dequant, quant-report, compile).
 *
 * Each of them used to spell out lfm_checkpoint_open, ir_build and
 * passes_run with its own ladder of cleanups; here it is once, and a
 * failure leaves nothing open: the caller reports err and returns.
 */
#include "passes.h"

int passes_build_graph(const Checkpoint *ck, const PassOptions *po, Graph *g, LfmError *err)
{
	if (ir_build(g, ck, err))
		return -1;
	if (passes_run(g, po, err)) {
		ir_free(g);
		return -1;
	}
	return 0;
}

int passes_load_graph(const char *dir, const PassOptions *po, Checkpoint *ck, Graph *g, LfmError *err)
{
	if (lfm_checkpoint_open(dir, ck, stderr, err))
		return -1;
	if (passes_build_graph(ck, po, g, err)) {
		lfm_checkpoint_close(ck);
		return -1;
	}
	return 0;
}

void passes_unload_graph(Checkpoint *ck, Graph *g)
{
	ir_free(g);
	lfm_checkpoint_close(ck);
}
