/* The mtagctl commands. Each takes the arguments after its name (argv[0] is
 * the command name) and returns the exit status: 0 success, 1 failure,
 * 2 usage error. */
#ifndef MTAG_COMMANDS_H
#define MTAG_COMMANDS_H

/* The configuration that mtagctl --db FILE and -c FILE designate: the
 * database path and the model, as mtagd sees them. Returns 0, or 1 after
 * printing why not. */
struct mtag_conf;
int mtagctl_conf(struct mtag_conf *c);

int cmd_tag(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_control(int argc, char **argv);

#endif
