/* cmd_inspect.c — `lfm2c inspect` (placeholder until its owner lands it). */
#include "driver.h"

int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return driver_fail("inspect: not built yet");
}
