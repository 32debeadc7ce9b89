/*
 * driver.h — the `lfm2c` command line.
 *
 * Each sub-command lives in its own cmd_*.c file and has the signature of
 * main() minus the program name: argv[0] is the sub-command's name.  They
 * print one-line errors "lfm2c: ..." on stderr and return the exit status.
 */
#ifndef LFM2C_DRIVER_H
#define LFM2C_DRIVER_H

#include "passes.h"

int cmd_compile(int argc, char **argv);
int cmd_dequant(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_interp(int argc, char **argv);
int cmd_quant_report(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_variants(int argc, char **argv);

/* load.c: the graph of a model, through the pass list.
 * driver_build_graph builds the graph of an open checkpoint and runs the
 * passes with po; driver_load_graph opens the checkpoint in dir first.
 * 0, or -1 with err set and nothing left open (the caller reports err);
 * driver_unload_graph frees what driver_load_graph made. */
int driver_build_graph(const Checkpoint *ck, const PassOptions *po, Graph *g, LfmError *err);
int driver_load_graph(const char *dir, const PassOptions *po, Checkpoint *ck, Graph *g, LfmError *err);
void driver_unload_graph(Checkpoint *ck, Graph *g);

/* "lfm2c: " + message + newline on stderr; returns 1 (the exit status). */
int driver_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
