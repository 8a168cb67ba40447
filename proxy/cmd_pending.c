/* proxy/cmd_pending.c — subcommands whose modules have not landed yet. They
 * say so plainly instead of pretending. Each moves to its own file when its
 * module lands. */
#include <stdio.h>

#include "proxy/cli.h"

static int
pending(const char *name, const char *what)
{
	fprintf(stderr, "custos %s: not available in this build (%s)\n",
	    name, what);
	return 2;
}

int
cmd_override(int argc, char **argv)
{
	(void)argc, (void)argv;
	return pending("override", "it lands with the override store");
}
