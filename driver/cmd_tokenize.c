/* cmd_tokenize.c — `lfm2c tokenize` (placeholder until its owner lands it). */
#include "driver.h"

int cmd_tokenize(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return driver_fail("tokenize: not built yet");
}
