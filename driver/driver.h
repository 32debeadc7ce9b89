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
int cmd_explain(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_interp(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);

/* $LFM2C_SYSFS_ROOT (where the host's cache sizes are read, machine.h),
 * or NULL for /sys: the one place the variable is read (cmd_explain.c). */
const char *cli_sysfs_root(void);

#endif
