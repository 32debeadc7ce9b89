/* cmd_synth.c — `lfm2c synth` (placeholder until its owner lands it). */
#include "driver.h"

int cmd_synth(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return driver_fail("synth: not built yet");
}
