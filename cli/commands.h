/* The mtagctl commands. Each takes the arguments after its name (argv[0] is
 * the command name) and returns the exit status: 0 success, 1 failure,
 * 2 usage error. */
#ifndef MTAG_COMMANDS_H
#define MTAG_COMMANDS_H

int cmd_tag(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_control(int argc, char **argv);

#endif
