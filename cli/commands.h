/* The mtagctl commands. Each takes the arguments after its name (argv[0] is
 * the command name) and returns the exit status: 0 success, 1 failure,
 * 2 usage error. */
#ifndef MTAG_COMMANDS_H
#define MTAG_COMMANDS_H

/* The configuration that mtagctl --db FILE and -c FILE designate: the
 * database path, the model and the tag rule, as mtagd sees them. It runs
 * getopt_long: a command reads its arguments before. Returns 0, or 1
 * after printing why not. */
struct mtag_conf;
int mtagctl_conf(struct mtag_conf *c);

/* The options -c FILE and --db FILE, which the commands reading the
 * database take after their name too: such a command adds
 * MTAGCTL_SHORTOPTS to its short options and MTAGCTL_LONGOPTS to its long
 * ones, and hands what getopt_long returns to mtagctl_option, which
 * returns 1 when it was one of those, now in effect, else 0. */
#define MTAGCTL_SHORTOPTS	"c:"
#define MTAGCTL_OPT_DB		0x100
#define MTAGCTL_LONGOPTS	{ "db", required_argument, NULL, MTAGCTL_OPT_DB }
int mtagctl_option(int ch, const char *arg);

int cmd_tag(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_control(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_similar(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_writeback(int argc, char **argv);

#endif
