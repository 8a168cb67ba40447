/* proxy/cli.h — the subcommands of the custos binary, dispatched by main.c.
 * Each takes the arguments after its name (argv[0] is the subcommand name),
 * prints its own --help, and returns the process exit status. */
#ifndef CUSTOS_PROXY_CLI_H
#define CUSTOS_PROXY_CLI_H

int	cmd_serve(int argc, char **argv);
int	cmd_check(int argc, char **argv);
int	cmd_explain(int argc, char **argv);
int	cmd_classify(int argc, char **argv);
int	cmd_keys(int argc, char **argv);
int	cmd_audit(int argc, char **argv);
int	cmd_override(int argc, char **argv);

#endif
