/* mkconfman: copies a manual page template from stdin to stdout, replacing
 * the lines @SYNOPSIS@ and @OPTIONS@ with the synopsis and options of
 * mtagd's command line, and @CONF_OPTIONS@ with the options of mtag.conf,
 * as mdoc written from the option table. */
#include <stdio.h>
#include <string.h>

#include "conf.h"

/* The option's flags on the command line, as .Fl arguments. */
static void
print_flag(const struct mtag_conf_opt *o)
{
	if (o->shortopt != 0)
		printf("Fl %c%s", o->shortopt, o->longopt != NULL ? " , " : "");
	if (o->longopt != NULL)
		printf("Fl -%s", o->longopt);
}

static void
print_arg(const struct mtag_conf_opt *o)
{
	int i;

	if (o->type == MTAG_CONF_ENUM)
		for (i = 0; o->names[i] != NULL; i++)
			printf(i == 0 ? " Cm %s" : " | %s", o->names[i]);
	else if (mtag_conf_has_arg(o))
		printf(" Ar %s", o->arg);
}

static int
on_cmdline(const struct mtag_conf_opt *o)
{
	return o->shortopt != 0 || o->longopt != NULL;
}

static void
synopsis(void)
{
	const struct mtag_conf_opt *o;
	int i, n = 0;

	printf(".Nm\n.Op Fl ");
	for (i = 0; i < mtag_conf_nopts; i++)
		if (mtag_conf_opts[i].type == MTAG_CONF_SET)
			putchar(mtag_conf_opts[i].shortopt);
	putchar('\n');
	for (i = 0; i < mtag_conf_nopts; i++) {
		o = &mtag_conf_opts[i];
		if (!on_cmdline(o) || !mtag_conf_has_arg(o))
			continue;
		printf(o->repeat ? ".Oo " : ".Op ");
		print_flag(o);
		print_arg(o);
		printf(o->repeat ? " Oc Ns No ...\n" : "\n");
	}
	printf(".Nm\n.Fl");
	for (i = 0; i < mtag_conf_nopts; i++) {
		o = &mtag_conf_opts[i];
		if (o->type != MTAG_CONF_HELP && o->type != MTAG_CONF_VERSION)
			continue;
		if (o->shortopt != 0)
			printf("%s %c", n++ ? " |" : "", o->shortopt);
		if (o->longopt != NULL)
			printf("%s -%s", n++ ? " |" : "", o->longopt);
	}
	putchar('\n');
}

static void
options(void)
{
	const struct mtag_conf_opt *o;
	int i;

	printf(".Bl -tag -width Ds\n");
	for (i = 0; i < mtag_conf_nopts; i++) {
		o = &mtag_conf_opts[i];
		if (!on_cmdline(o))
			continue;
		printf(".It ");
		print_flag(o);
		print_arg(o);
		printf("\n%s\n", o->man);
		if (o->key != NULL)
			printf("The same as\n.Ic %s\nin\n.Xr mtag.conf 5 ,\n"
			    "%s\n", o->key, o->repeat ?
			    "whose values it replaces." : "which it overrides.");
	}
	printf(".El\n");
}

static void
conf_options(void)
{
	const struct mtag_conf_opt *o;
	char lo[32], hi[32];
	int i;

	printf(".Bl -tag -width Ds\n");
	for (i = 0; i < mtag_conf_nopts; i++) {
		o = &mtag_conf_opts[i];
		if (o->key == NULL)
			continue;
		printf(".It Ic %s", o->key);
		print_arg(o);
		printf("\n%s\n", o->man);
		if (o->type == MTAG_CONF_INT ||
		    o->type == MTAG_CONF_DURATION) {
			mtag_conf_format(o, o->min, lo, sizeof(lo));
			mtag_conf_format(o, o->max, hi, sizeof(hi));
			printf("The value ranges from\n.Cm %s\nto\n.Cm %s .\n",
			    lo, hi);
		}
		if (o->def != NULL)
			printf("The default is\n.Cm %s .\n", o->def);
	}
	printf(".El\n");
}

int
main(void)
{
	char line[1024];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		if (strcmp(line, "@SYNOPSIS@\n") == 0)
			synopsis();
		else if (strcmp(line, "@OPTIONS@\n") == 0)
			options();
		else if (strcmp(line, "@CONF_OPTIONS@\n") == 0)
			conf_options();
		else
			fputs(line, stdout);
	}
	return ferror(stdin) || fflush(stdout) != 0 ? 1 : 0;
}
