/* Presenting tracks: sorting and the output formats. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "json.h"
#include "output.h"

static const char *
text(const struct mtag_track *t, int i)
{
	return *(char *const *)((const char *)t + mtag_fields[i].off);
}

static double
num(const struct mtag_track *t, int i)
{
	return *(const double *)((const char *)t + mtag_fields[i].off);
}

int
mtag_sort_parse(const char *spec, struct mtag_sort_key *keys, char *err,
    size_t errlen)
{
	const char *p = spec, *end;
	size_t len;
	int n = 0, f;

	for (;;) {
		end = p + strcspn(p, ",");
		len = end - p;
		if (len > 0 && (p[len - 1] == '+' || p[len - 1] == '-'))
			len--;
		if ((f = mtag_field_find(p, len)) == -1)
			return mtag_seterr(err, errlen, NULL, "--sort: unknown "
			    "field '%.*s'", (int)(end - p), p);
		if (n == MTAG_SORT_MAX)
			return mtag_seterr(err, errlen, NULL, "--sort: more "
			    "than %d fields", MTAG_SORT_MAX);
		keys[n].field = f;
		keys[n++].descending = p + len < end ? p[len] == '-' :
		    mtag_fields[f].kind == MTAG_FIELD_SCORE;
		if (*end == '\0')
			return n;
		p = end + 1;
	}
}

/* Compares field i of a and b, ascending, absent values last; 2 when
 * only b's is absent, -2 when only a's. */
static int
compare_field(const struct mtag_track *a, const struct mtag_track *b, int i)
{
	const char *x, *y;
	double u, v;
	int c;

	if (mtag_fields[i].kind == MTAG_FIELD_TEXT) {
		x = text(a, i);
		y = text(b, i);
		if (x == NULL || y == NULL)
			return x != NULL ? -2 : y != NULL ? 2 : 0;
		return (c = strcasecmp(x, y)) != 0 ? c : strcmp(x, y);
	}
	u = num(a, i);
	v = num(b, i);
	if (isnan(u) || isnan(v))
		return !isnan(u) ? -2 : !isnan(v) ? 2 : 0;
	return (u > v) - (u < v);
}

static const struct mtag_sort_key *sort_keys;
static int sort_nkeys;

static int
by_keys(const void *p, const void *q)
{
	const struct mtag_track *a = p, *b = q;
	int i, c;

	for (i = 0; i < sort_nkeys; i++)
		if ((c = compare_field(a, b, sort_keys[i].field)) != 0)
			return sort_keys[i].descending && c != 2 && c != -2 ?
			    -c : c;
	return compare_field(a, b, mtag_field_find("path", 4));
}

void
mtag_sort(struct mtag_track *t, size_t n, const struct mtag_sort_key *keys,
    int nkeys)
{
	sort_keys = keys;
	sort_nkeys = nkeys;
	qsort(t, n, sizeof(*t), by_keys);
}

/* The field that %NAME or %{NAME} at fmt (after the '%') names; *len gets
 * the length of the reference. */
static int
reference(const char *fmt, size_t *len)
{
	size_t n;
	int f;

	if (*fmt == '{') {
		n = strcspn(fmt + 1, "}");
		*len = n + 2;
		return fmt[n + 1] == '}' ? mtag_field_find(fmt + 1, n) : -1;
	}
	/* The longest field name that the letters start with. */
	for (n = 0; isalpha((unsigned char)fmt[n]); n++)
		;
	for (*len = n; n > 0; n--)
		if ((f = mtag_field_find(fmt, n)) != -1) {
			*len = n;
			return f;
		}
	return -1;
}

int
mtag_format_check(const char *fmt, char *err, size_t errlen)
{
	size_t len;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt == '\\' && (fmt[1] == '\0' ||
		    strchr("nt\\", fmt[1]) == NULL))
			return mtag_seterr(err, errlen, NULL, "--format: "
			    "unknown escape '\\%.1s' (known: \\n, \\t, \\\\)",
			    fmt + 1);
		if (*fmt == '\\') {
			fmt++;
			continue;
		}
		if (*fmt != '%' || fmt[1] == '%') {
			fmt += *fmt == '%';
			continue;
		}
		if (reference(fmt + 1, &len) == -1)
			return mtag_seterr(err, errlen, NULL, "--format: "
			    "unknown field '%%%.*s'", (int)len, fmt + 1);
		fmt += len;
	}
	return 0;
}

void
mtag_output_field(FILE *f, const struct mtag_track *t, int i)
{
	double v;

	if (mtag_fields[i].kind == MTAG_FIELD_TEXT) {
		if (text(t, i) != NULL)
			fputs(text(t, i), f);
		return;
	}
	if (isnan(v = num(t, i)))
		return;
	if (mtag_fields[i].kind == MTAG_FIELD_SCORE)
		fprintf(f, "%.3f", v);
	else if (mtag_fields[i].kind == MTAG_FIELD_DURATION && v >= 3600)
		fprintf(f, "%d:%02d:%02d", (int)lround(v) / 3600,
		    (int)lround(v) / 60 % 60, (int)lround(v) % 60);
	else if (mtag_fields[i].kind == MTAG_FIELD_DURATION)
		fprintf(f, "%d:%02d", (int)lround(v) / 60, (int)lround(v) % 60);
	else
		fprintf(f, "%.15g", v);
}

static void
format_line(FILE *f, const char *fmt, const struct mtag_track *t)
{
	size_t len;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt == '\\') {
			fmt++;
			fputc(*fmt == 'n' ? '\n' : *fmt == 't' ? '\t' : *fmt,
			    f);
		} else if (*fmt == '%' && fmt[1] == '%') {
			fputc(*fmt++, f);
		} else if (*fmt == '%') {
			mtag_output_field(f, t, reference(fmt + 1, &len));
			fmt += len;
		} else
			fputc(*fmt, f);
	}
	fputc('\n', f);
}

void
mtag_output_json_fields(FILE *f, const struct mtag_track *t)
{
	int i;

	for (i = 0; i < mtag_nfields; i++) {
		fprintf(f, "%s\"%s\": ", i ? ", " : "", mtag_fields[i].name);
		if (mtag_fields[i].kind == MTAG_FIELD_SCORE)
			mtag_json_number(f, round(num(t, i) * 1e4) / 1e4, 15);
		else if (mtag_fields[i].kind == MTAG_FIELD_DURATION)
			mtag_json_number(f, round(num(t, i) * 1e3) / 1e3, 15);
		else if (mtag_fields[i].kind == MTAG_FIELD_NUMBER)
			mtag_json_number(f, num(t, i), 15);
		else if (text(t, i) != NULL)
			mtag_json_string(f, text(t, i));
		else
			fputs("null", f);
	}
}

/* Writes s on one line. */
static void
one_line(FILE *f, const char *s, size_t n)
{
	for (; n > 0 && *s != '\0'; s++, n--)
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* The #EXTINF line: the duration in whole seconds (-1 when unknown) and
 * "ARTIST - TITLE", or the file name without its extension. */
static void
extinf(FILE *f, const struct mtag_track *t)
{
	const char *base, *dot;

	fprintf(f, "#EXTINF:%ld,", isnan(t->duration) ? -1L :
	    lround(t->duration));
	if (t->title != NULL) {
		if (t->artist != NULL) {
			one_line(f, t->artist, strlen(t->artist));
			fputs(" - ", f);
		}
		one_line(f, t->title, strlen(t->title));
	} else {
		base = (base = strrchr(t->path, '/')) ? base + 1 : t->path;
		dot = strrchr(base, '.');
		one_line(f, base, dot && dot > base ? (size_t)(dot - base) :
		    strlen(base));
	}
	fputc('\n', f);
}

void
mtag_output(FILE *f, enum mtag_style style, const char *fmt,
    const struct mtag_track *t, size_t n)
{
	size_t i;

	if (style == MTAG_STYLE_JSON)
		fputc('[', f);
	else if (style == MTAG_STYLE_M3U)
		fputs("#EXTM3U\n", f);
	for (i = 0; i < n; i++) {
		switch (style) {
		case MTAG_STYLE_PATHS:
			fprintf(f, "%s\n", t[i].path);
			break;
		case MTAG_STYLE_FORMAT:
			format_line(f, fmt, &t[i]);
			break;
		case MTAG_STYLE_JSON:
			fputs(i ? ",\n {" : "\n {", f);
			mtag_output_json_fields(f, &t[i]);
			fputc('}', f);
			break;
		case MTAG_STYLE_M3U:
			extinf(f, &t[i]);
			fprintf(f, "%s\n", t[i].path);
			break;
		}
	}
	if (style == MTAG_STYLE_JSON)
		fputs(n ? "\n]\n" : "]\n", f);
}

void
mtag_output_csv(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	if (s[strcspn(s, ",\"\r\n")] == '\0' && !isspace((unsigned char)*s) &&
	    (*s == '\0' || !isspace((unsigned char)s[strlen(s) - 1]))) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}
