/*
 * tools.h — the commands around the pipeline: they make checkpoints,
 * compare and search builds, and report on formats, using the pipeline's
 * libraries (frontend, ir, passes, codegen's build_model) and never the
 * other way round.  driver/lfm2c.c dispatches to them like to its own
 * commands: each has the signature of main() minus the program name.
 *
 *   synth.c, st_write.c    random-weight checkpoints, the safetensors writer
 *   cmd_variants.c         compile, validate and time schedules; one table
 *   cmd_tune.c             beam search over the schedule space
 *   measure.c, report.c    what variants and tune share: build, validate,
 *                          time; the table, JSON, CSV and SVG writers
 *   plot.c                 the SVG scatter's geometry (a library of its own)
 *   cmd_quant_report.c     accuracy of weight formats against f32
 *   eval_text.c            --eval-text FILE: a real text's chunks (as lfm2-run
 *                          --perplexity cuts them) for those tools to judge on
 */
#ifndef LFM2C_TOOLS_H
#define LFM2C_TOOLS_H

int cmd_quant_report(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_variants(int argc, char **argv);

#endif
