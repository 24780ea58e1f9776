/* The query language of mtagctl: a tokenizer, a recursive-descent parser
 * (OR binds loosest, then AND, written or implied by adjacent terms, then
 * NOT and '-') grouping words greedily into the longest tag names the
 * model knows, and an evaluator combining the track sets of the terms. A
 * set may be held complemented, so that NOT costs nothing and the whole
 * library is read only when the result itself is a complement. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "distance.h"
#include "error.h"
#include "query.h"
#include "vocabulary.h"

#define MAX_SUGGESTIONS	3
#define MAX_TERMS	1000	/* tag and field terms in a query */
#define MAX_DEPTH	100	/* NOT, '-' and parentheses, nested */

enum tok {
	T_END, T_LPAREN, T_RPAREN, T_AND, T_OR, T_NOT, T_MINUS,
	T_WORD,		/* a word of a tag name, or a number */
	T_QUOTED,	/* a tag name in quotes */
	T_CMP,		/* <, <=, > or >= */
	T_FIELD,	/* FIELD:[OP]VALUE */
};

struct token {
	enum tok type;
	int start, end;		/* in the expression */
	char *text;		/* WORD, QUOTED, FIELD's value */
	enum mtag_cmp cmp;	/* CMP, FIELD's comparison */
	int field;		/* FIELD: in mtag_fields */
	int op;			/* FIELD: 0, '=', '~' or '<' for cmp */
	int vstart;		/* FIELD: where the value starts */
};

enum node_type { N_AND, N_OR, N_NOT, N_TAG, N_FIELD };

struct node {
	enum node_type type;
	struct node *a, *b;	/* AND, OR; NOT's child is a */
	int tag, output;	/* TAG: as mtag_library_lookup gives */
	enum mtag_cmp cmp;
	double value;
	float *scores;		/* TAG ranking: scores[id], NaN unknown */
	struct mtag_predicate pred;	/* FIELD, owning its text */
};

struct mtag_query {
	mtag_library *lib;
	struct node *root;
	struct node **ranking;	/* the positive tag terms */
	int nranking;
};

struct parser {
	mtag_library *lib;
	const char *expr;
	struct token *toks;
	int ntoks, captoks, pos;
	int nterms, depth;	/* against MAX_TERMS and MAX_DEPTH */
	struct mtag_query_error *e;
};

/* The result of a subtree: set, or its complement when complement. */
struct value {
	mtag_trackset *set;
	int complement;
};

static int perr(struct parser *p, int start, int end, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fills the error with the span from start to end. Returns -1. */
static int
perr(struct parser *p, int start, int end, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->e->msg, sizeof(p->e->msg), fmt, ap);
	va_end(ap);
	p->e->start = start;
	p->e->end = end;
	return -1;
}

static int
oom(struct parser *p)
{
	return perr(p, 0, 0, "out of memory");
}

static struct token *
tok(struct parser *p)
{
	return &p->toks[p->pos];
}

static int
add_token(struct parser *p, enum tok type, int start, int end,
    struct token **t)
{
	struct token *n;
	int cap;

	if (p->ntoks == p->captoks) {
		cap = p->captoks ? 2 * p->captoks : 16;
		if ((n = realloc(p->toks, cap * sizeof(*n))) == NULL)
			return oom(p);
		p->toks = n;
		p->captoks = cap;
	}
	*t = &p->toks[p->ntoks++];
	memset(*t, 0, sizeof(**t));
	(*t)->type = type;
	(*t)->start = start;
	(*t)->end = end;
	return 0;
}

/* Reads the quoted string at *i (at its quote) into a new string. */
static int
lex_quoted(struct parser *p, int *i, char **text)
{
	const char *s = p->expr;
	char quote = s[*i], *q;
	int start = *i, j;

	if ((*text = q = malloc(strlen(s + start) + 1)) == NULL)
		return oom(p);
	for (j = start + 1; s[j] != quote; j++) {
		if (s[j] == '\0')
			return perr(p, start, j, "missing closing %c", quote);
		if (s[j] == '\\' && (s[j + 1] == quote || s[j + 1] == '\\'))
			j++;
		*q++ = s[j];
	}
	*q = '\0';
	*i = j + 1;
	return 0;
}

/* Reads a value ending at a blank or at a ')' that closes no '(' of its
 * own, so that regexes keep their groups. */
static int
lex_bare(struct parser *p, int *i, char **text)
{
	const char *s = p->expr;
	int start = *i, depth = 0;

	for (; s[*i] != '\0' && !isspace((unsigned char)s[*i]); (*i)++) {
		if (s[*i] == '(')
			depth++;
		else if (s[*i] == ')' && depth-- == 0)
			break;
	}
	if ((*text = strndup(s + start, *i - start)) == NULL)
		return oom(p);
	return 0;
}

/* The field names, for a message. */
static void
field_names(char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < mtag_nfields && n < len; i++)
		if (mtag_fields[i].column != NULL)
			n += snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
			    mtag_fields[i].name);
}

/* Reads FIELD:[OP]VALUE at *i; name is len bytes. */
static int
lex_field(struct parser *p, int *i, int len)
{
	const char *s = p->expr;
	struct token *t;
	char names[256], *name;
	int start = *i, field, tag;

	field = mtag_field_find(s + start, len);
	if (field == -1 || mtag_fields[field].column == NULL) {
		if ((name = strndup(s + start, len)) == NULL)
			return oom(p);
		tag = mtag_library_lookup(p->lib, name, NULL);
		free(name);
		if (tag != -1)
			return perr(p, start, start + len + 1, "'%.*s' is a "
			    "tag: compare its score as in %.*s>0.5", len,
			    s + start, len, s + start);
		field_names(names, sizeof(names));
		return perr(p, start, start + len, "unknown field '%.*s' "
		    "(fields: %s)", len, s + start, names);
	}
	if (add_token(p, T_FIELD, start, start, &t) == -1)
		return -1;
	t->field = field;
	*i = start + len + 1;
	if (s[*i] == '=' || s[*i] == '~')
		t->op = s[(*i)++];
	else if (s[*i] == '<' || s[*i] == '>') {
		t->op = '<';
		t->cmp = s[*i] == '<' ? MTAG_CMP_LT : MTAG_CMP_GT;
		if (s[++*i] == '=') {
			t->cmp++;
			++*i;
		}
	}
	t->vstart = *i;
	if (s[*i] == '"' || s[*i] == '\'') {
		if (lex_quoted(p, i, &t->text) == -1)
			return -1;
	} else if (lex_bare(p, i, &t->text) == -1)
		return -1;
	t->end = *i;
	if (t->text[0] == '\0' && s[t->vstart] != '"' &&
	    s[t->vstart] != '\'')
		return perr(p, start, *i, "missing value after '%.*s'",
		    *i - start, s + start);
	return 0;
}

static int
is_word_char(char c)
{
	return c != '\0' && !isspace((unsigned char)c) && c != '(' &&
	    c != ')' && c != '<' && c != '>' && c != '"' && c != '\'';
}

static int
lex(struct parser *p)
{
	static const char *const keywords[] = { "AND", "OR", "NOT" };
	static const enum tok kwtypes[] = { T_AND, T_OR, T_NOT };
	const char *s = p->expr;
	struct token *t;
	int i = 0, j, k;

	for (;;) {
		while (isspace((unsigned char)s[i]))
			i++;
		if (s[i] == '\0')
			return add_token(p, T_END, i, i, &t);
		if (s[i] == '(' || s[i] == ')') {
			if (add_token(p, s[i] == '(' ? T_LPAREN : T_RPAREN, i,
			    i + 1, &t) == -1)
				return -1;
			i++;
		} else if (s[i] == '<' || s[i] == '>') {
			if (add_token(p, T_CMP, i, i + 1, &t) == -1)
				return -1;
			t->cmp = s[i] == '<' ? MTAG_CMP_LT : MTAG_CMP_GT;
			if (s[++i] == '=') {
				t->cmp++;
				t->end = ++i;
			}
		} else if (s[i] == '"' || s[i] == '\'') {
			if (add_token(p, T_QUOTED, i, i, &t) == -1 ||
			    lex_quoted(p, &i, &t->text) == -1)
				return -1;
			t->end = i;
		} else if (s[i] == '-') {
			if (!is_word_char(s[i + 1]) && s[i + 1] != '(' &&
			    s[i + 1] != '"' && s[i + 1] != '\'')
				return perr(p, i, i + 1, "'-' must be followed "
				    "by a term, as in -rock");
			if (add_token(p, T_MINUS, i, i + 1, &t) == -1)
				return -1;
			i++;
		} else {
			for (j = i; isalpha((unsigned char)s[j]); j++)
				;
			if (s[j] == ':' && j > i) {
				if (lex_field(p, &i, j - i) == -1)
					return -1;
				continue;
			}
			for (j = i; is_word_char(s[j]); j++)
				;
			if (add_token(p, T_WORD, i, j, &t) == -1)
				return -1;
			if ((t->text = strndup(s + i, j - i)) == NULL)
				return oom(p);
			for (k = 0; k < 3; k++)
				if (strcasecmp(t->text, keywords[k]) == 0)
					t->type = kwtypes[k];
			i = j;
		}
	}
}

static struct node *
new_node(struct parser *p, enum node_type type, struct node *a,
    struct node *b)
{
	struct node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL) {
		oom(p);
		return NULL;
	}
	n->type = type;
	n->a = a;
	n->b = b;
	return n;
}

static void
free_node(struct node *n)
{
	if (n == NULL)
		return;
	free_node(n->a);
	free_node(n->b);
	if (n->type == N_FIELD)
		free((char *)n->pred.text);
	free(n->scores);
	free(n);
}

/* Parses the score, from 0 to 1, that the word at t writes. */
static int
number(struct parser *p, const struct token *t, double *v)
{
	char *end;

	if (t->type != T_WORD)
		return perr(p, t->start, t->end > t->start ? t->end :
		    t->start + 1, "expected a score from 0 to 1");
	errno = 0;
	*v = strtod(t->text, &end);
	if (end == t->text || *end != '\0' || errno != 0 || !(*v >= 0) ||
	    *v > 1)
		return perr(p, t->start, t->end, "'%s' is not a score from 0 "
		    "to 1", t->text);
	return 0;
}

/* Lists in buf the names of the library closest to word. */
static void
suggest(mtag_library *lib, const char *word, char *buf, size_t len)
{
	const char *best[MAX_SUGGESTIONS], *name;
	int bestd[MAX_SUGGESTIONS], n = 0, i, j, d, wl = strlen(word);
	int limit = wl <= 4 ? 1 : 2;
	size_t k = 0;

	for (i = 0; (name = mtag_library_name(lib, i)) != NULL; i++) {
		d = mtag_distance(word, name);
		if (wl >= 3 && strncasecmp(name, word, wl) == 0 && d > 1)
			d = limit;
		if (d > limit || (n == MAX_SUGGESTIONS &&
		    d >= bestd[n - 1]))
			continue;
		for (j = n < MAX_SUGGESTIONS ? n++ : n - 1;
		    j > 0 && bestd[j - 1] > d; j--) {
			best[j] = best[j - 1];
			bestd[j] = bestd[j - 1];
		}
		best[j] = name;
		bestd[j] = d;
	}
	buf[0] = '\0';
	for (i = 0; i < n && k < len; i++)
		k += snprintf(buf + k, len - k, "%s'%s'", i == 0 ?
		    " (did you mean " : i == n - 1 ? " or " : ", ", best[i]);
	if (n > 0 && k < len)
		snprintf(buf + k, len - k, "?)");
}

/* The datasets whose vocabulary has word, into buf ("" when none). */
static void
datasets_with(const char *word, char *buf, size_t len)
{
	struct mtag_vocabulary_entry e;
	const char *last = NULL;
	size_t n = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; mtag_vocabulary_get(i, &e) == 0 && n < len; i++)
		if ((strcasecmp(e.tag, word) == 0 ||
		    strcasecmp(e.canonical, word) == 0) &&
		    (last == NULL || strcmp(last, e.dataset) != 0)) {
			n += snprintf(buf + n, len - n, "%s%s", last ? ", " :
			    "", e.dataset);
			last = e.dataset;
		}
}

static int
unknown_tag(struct parser *p, const struct token *t)
{
	char hint[256], where[64];

	datasets_with(t->text, where, sizeof(where));
	if (where[0] != '\0')
		return perr(p, t->start, t->end, "model %s has no tag '%s' "
		    "(the %s vocabularies have it)", mtag_library_model(p->lib),
		    t->text, where);
	suggest(p->lib, t->text, hint, sizeof(hint));
	if (p->pos > 0 && t[-1].type == T_FIELD && t[-1].end == t->start - 1)
		snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint),
		    "; a value with spaces is quoted, as in artist:\"a b\"");
	return perr(p, t->start, t->end, "unknown tag '%s'%s", t->text, hint);
}

/* The longest run of words from the current token naming a tag. */
static int
tag_words(struct parser *p, struct node *n)
{
	char name[512];
	size_t len;
	int k, i, maxk = 0;

	while (maxk < mtag_library_max_words(p->lib) &&
	    p->toks[p->pos + maxk].type == T_WORD)
		maxk++;
	for (k = maxk; k > 0; k--) {
		for (i = 0, len = 0; i < k && len < sizeof(name); i++)
			len += snprintf(name + len, sizeof(name) - len, "%s%s",
			    i ? " " : "", p->toks[p->pos + i].text);
		if (len < sizeof(name) &&
		    (n->tag = mtag_library_lookup(p->lib, name,
		    &n->output)) != -1) {
			p->pos += k;
			return 0;
		}
	}
	return unknown_tag(p, tok(p));
}

static struct node *
tag_term(struct parser *p)
{
	struct token *t = tok(p);
	struct node *n;

	if ((n = new_node(p, N_TAG, NULL, NULL)) == NULL)
		return NULL;
	if (t->type == T_QUOTED) {
		if ((n->tag = mtag_library_lookup(p->lib, t->text,
		    &n->output)) == -1) {
			unknown_tag(p, t);
			free(n);
			return NULL;
		}
		p->pos++;
	} else if (tag_words(p, n) == -1) {
		free(n);
		return NULL;
	}
	if (tok(p)->type == T_CMP) {
		n->cmp = tok(p)->cmp;
		p->pos++;
		if (number(p, tok(p), &n->value) == -1) {
			free(n);
			return NULL;
		}
		p->pos++;
	} else
		n->output = -1;	/* alone, an output stands for its tag */
	return n;
}

/* Parses a number of field f: a duration may be written M:SS or H:MM:SS. */
static int
field_number(int f, const char *s, double *v)
{
	char *end;
	double part;

	errno = 0;
	*v = strtod(s, &end);
	while (mtag_fields[f].kind == MTAG_FIELD_DURATION && *end == ':' &&
	    isdigit((unsigned char)end[1])) {
		part = strtod(end + 1, &end);
		*v = *v * 60 + part;
	}
	return end == s || *end != '\0' || errno != 0 || !isfinite(*v) ? -1 :
	    0;
}

/* A number field's value: N, A..B, A.., ..B, or after a comparison N. */
static int
field_range(struct parser *p, const struct token *t, struct node *n)
{
	struct mtag_predicate *pr = &n->pred;
	const char *name = mtag_fields[t->field].name;
	char *dots = strstr(t->text, ".."), *lo = t->text, *hi = t->text;
	double v;

	pr->match = MTAG_MATCH_RANGE;
	pr->lo = -INFINITY;
	pr->hi = INFINITY;
	if (t->op == '~')
		return perr(p, t->start, t->end, "%s is a number: compare it "
		    "with %s:N, %s:A..B or %s:>N", name, name, name, name);
	if (t->op == '<') {
		if (field_number(t->field, t->text, &v) == -1)
			return perr(p, t->vstart, t->end, "'%s' is not a "
			    "number", t->text);
		if (t->cmp == MTAG_CMP_LT || t->cmp == MTAG_CMP_LE)
			pr->hi = t->cmp == MTAG_CMP_LE ? v :
			    nextafter(v, -INFINITY);
		else
			pr->lo = t->cmp == MTAG_CMP_GE ? v :
			    nextafter(v, INFINITY);
		return 0;
	}
	if (dots != NULL) {
		*dots = '\0';
		hi = dots + 2;
	}
	if ((*lo != '\0' || dots == NULL) &&
	    field_number(t->field, lo, &pr->lo) == -1)
		return perr(p, t->vstart, t->end, "'%s' is not a number",
		    lo);
	if (dots != NULL && *hi != '\0' &&
	    field_number(t->field, hi, &pr->hi) == -1)
		return perr(p, t->vstart, t->end, "'%s' is not a number", hi);
	if (dots == NULL)
		pr->hi = pr->lo;
	else if (*lo == '\0' && *hi == '\0')
		return perr(p, t->vstart, t->end, "a range needs a bound, as "
		    "in %s:2000..", name);
	if (pr->lo > pr->hi)
		return perr(p, t->vstart, t->end, "empty range: %g is more "
		    "than %g", pr->lo, pr->hi);
	return 0;
}

static struct node *
field_term(struct parser *p)
{
	struct token *t = tok(p);
	const char *name = mtag_fields[t->field].name;
	struct node *n;
	char msg[256];

	if ((n = new_node(p, N_FIELD, NULL, NULL)) == NULL)
		return NULL;
	n->pred.field = t->field;
	if (mtag_fields[t->field].kind != MTAG_FIELD_TEXT) {
		if (field_range(p, t, n) == -1) {
			free(n);
			return NULL;
		}
	} else if (t->op == '<') {
		perr(p, t->start, t->end, "%s is text: match it with %s:TEXT, "
		    "%s:=TEXT or %s:~REGEX", name, name, name, name);
		free(n);
		return NULL;
	} else if (t->op == '~') {
		n->pred.match = MTAG_MATCH_REGEX;
		if (mtag_library_regex_check(t->text, msg, sizeof(msg)) ==
		    -1) {
			perr(p, t->vstart, t->end, "bad regex '%s': %s",
			    t->text, msg);
			free(n);
			return NULL;
		}
	} else if (t->op == '=' || strcmp(name, "ext") == 0)
		n->pred.match = MTAG_MATCH_EXACT;
	else if (strcmp(name, "path") == 0)
		n->pred.match = MTAG_MATCH_GLOB;
	else
		n->pred.match = MTAG_MATCH_SUBSTRING;
	n->pred.text = t->text;
	t->text = NULL;
	p->pos++;
	return n;
}

static struct node *parse_or(struct parser *);

static struct node *
parse_unary(struct parser *p)
{
	struct token *t = tok(p);
	struct node *n, *m;

	switch (t->type) {
	case T_NOT:
	case T_MINUS:
	case T_LPAREN:
		if (p->depth == MAX_DEPTH) {
			perr(p, t->start, t->end, "the query nests NOT, '-' "
			    "and parentheses more than %d deep", MAX_DEPTH);
			return NULL;
		}
		p->pos++;
		p->depth++;
		n = t->type == T_LPAREN ? parse_or(p) : parse_unary(p);
		p->depth--;
		if (n == NULL)
			return NULL;
		if (t->type != T_LPAREN) {
			if ((m = new_node(p, N_NOT, n, NULL)) == NULL)
				free_node(n);
			return m;
		}
		if (tok(p)->type != T_RPAREN) {
			perr(p, t->start, t->end, "this '(' is not closed");
			free_node(n);
			return NULL;
		}
		p->pos++;
		return n;
	case T_FIELD:
	case T_WORD:
	case T_QUOTED:
		if (++p->nterms > MAX_TERMS) {
			perr(p, t->start, t->end, "the query has more than %d "
			    "terms", MAX_TERMS);
			return NULL;
		}
		return t->type == T_FIELD ? field_term(p) : tag_term(p);
	case T_RPAREN:
		perr(p, t->start, t->end, "this ')' closes no '('");
		return NULL;
	case T_AND:
	case T_OR:
		perr(p, t->start, t->end, "expected a term before '%.*s'",
		    t->end - t->start, p->expr + t->start);
		return NULL;
	case T_CMP:
		perr(p, t->start, t->end, "a comparison follows a tag, as in "
		    "rock>0.5");
		return NULL;
	case T_END:
		perr(p, t->start, t->start, p->pos == 0 ? "empty query" :
		    "expected a term at the end");
		return NULL;
	}
	return NULL;
}

/* Whether the current token starts a term: adjacent terms mean AND. */
static int
starts_term(const struct parser *p)
{
	switch (p->toks[p->pos].type) {
	case T_NOT:
	case T_MINUS:
	case T_LPAREN:
	case T_FIELD:
	case T_WORD:
	case T_QUOTED:
		return 1;
	default:
		return 0;
	}
}

static struct node *
parse_and(struct parser *p)
{
	struct node *n, *m, *both;

	if ((n = parse_unary(p)) == NULL)
		return NULL;
	while (tok(p)->type == T_AND || starts_term(p)) {
		if (tok(p)->type == T_AND)
			p->pos++;
		if ((m = parse_unary(p)) == NULL ||
		    (both = new_node(p, N_AND, n, m)) == NULL) {
			free_node(n);
			free_node(m);
			return NULL;
		}
		n = both;
	}
	return n;
}

static struct node *
parse_or(struct parser *p)
{
	struct node *n, *m, *either;

	if ((n = parse_and(p)) == NULL)
		return NULL;
	while (tok(p)->type == T_OR) {
		p->pos++;
		if ((m = parse_and(p)) == NULL ||
		    (either = new_node(p, N_OR, n, m)) == NULL) {
			free_node(n);
			free_node(m);
			return NULL;
		}
		n = either;
	}
	return n;
}

/* Lists the positive tag terms of n, which is positive when not negated
 * an odd number of times. */
static int
find_ranking(mtag_query *q, struct node *n, int positive)
{
	struct node **r;

	if (n == NULL)
		return 0;
	if (n->type == N_TAG && positive && (n->cmp == MTAG_CMP_HOLDS ||
	    n->cmp == MTAG_CMP_GT || n->cmp == MTAG_CMP_GE)) {
		if ((r = realloc(q->ranking, (q->nranking + 1) *
		    sizeof(*r))) == NULL)
			return -1;
		q->ranking = r;
		r[q->nranking++] = n;
	}
	if (n->type == N_NOT)
		positive = !positive;
	return find_ranking(q, n->a, positive) == 0 &&
	    find_ranking(q, n->b, positive) == 0 ? 0 : -1;
}

mtag_query *
mtag_query_parse(mtag_library *lib, const char *expr,
    struct mtag_query_error *e)
{
	struct parser p = { .lib = lib, .expr = expr, .e = e };
	struct node *root = NULL;
	struct token *t;
	mtag_query *q = NULL;
	int i;

	memset(e, 0, sizeof(*e));
	if (lex(&p) == 0 && (root = parse_or(&p)) != NULL &&
	    (t = tok(&p))->type != T_END) {
		if (t->type == T_RPAREN)
			perr(&p, t->start, t->end, "this ')' closes no '('");
		else
			perr(&p, t->start, t->end, "unexpected '%.*s'",
			    t->end - t->start, expr + t->start);
		free_node(root);
		root = NULL;
	}
	if (root != NULL && (q = calloc(1, sizeof(*q))) == NULL)
		oom(&p);
	if (q != NULL) {
		q->lib = lib;
		q->root = root;
		if (find_ranking(q, root, 1) == -1) {
			oom(&p);
			mtag_query_free(q);
			q = NULL;
		}
	} else
		free_node(root);
	for (i = 0; i < p.ntoks; i++)
		free(p.toks[i].text);
	free(p.toks);
	return q;
}

void
mtag_query_free(mtag_query *q)
{
	if (q == NULL)
		return;
	free_node(q->root);
	free(q->ranking);
	free(q);
}

void
mtag_query_error_print(FILE *f, const char *expr,
    const struct mtag_query_error *e)
{
	int i;

	fprintf(f, "%s\n  %s\n  ", e->msg, expr);
	for (i = 0; i < e->start; i++)
		if ((expr[i] & 0xc0) != 0x80)
			fputc(expr[i] == '\t' ? '\t' : ' ', f);
	for (i = e->start; i < e->end || i == e->start; i++)
		if (expr[i] == '\0' || (expr[i] & 0xc0) != 0x80)
			fputc('^', f);
	fputc('\n', f);
}

int
mtag_query_ranked(const mtag_query *q)
{
	return q->nranking > 0;
}

/* Combines a and b into a, freeing b's set: a & b, or a | b when or. */
static void
combine(struct value *a, struct value *b, int or)
{
	struct value r;

	/* De Morgan: a | b is ~(~a & ~b). */
	if (or) {
		a->complement = !a->complement;
		b->complement = !b->complement;
	}
	if (!a->complement && !b->complement) {
		mtag_trackset_and(a->set, b->set);
		r = *a;
	} else if (!a->complement) {
		mtag_trackset_andnot(a->set, b->set);
		r = *a;
	} else if (!b->complement) {
		mtag_trackset_andnot(b->set, a->set);
		r = *b;
	} else {
		mtag_trackset_or(a->set, b->set);
		r = *a;
	}
	mtag_trackset_free(r.set == a->set ? b->set : a->set);
	if (or)
		r.complement = !r.complement;
	*a = r;
}

static int
eval(mtag_query *q, struct node *n, struct value *v, char *err,
    size_t errlen)
{
	struct value w;
	int64_t end = mtag_library_end(q->lib), i;

	v->complement = 0;
	if (n->type == N_NOT) {
		if (eval(q, n->a, v, err, errlen) == -1)
			return -1;
		v->complement = !v->complement;
		return 0;
	}
	if (n->type == N_AND || n->type == N_OR) {
		if (eval(q, n->a, v, err, errlen) == -1)
			return -1;
		if (eval(q, n->b, &w, err, errlen) == -1) {
			mtag_trackset_free(v->set);
			return -1;
		}
		combine(v, &w, n->type == N_OR);
		return 0;
	}
	if ((v->set = mtag_trackset_new(end)) == NULL)
		return mtag_seterr(err, errlen, NULL, "out of memory");
	if (n->type == N_FIELD) {
		if (mtag_library_field_tracks(q->lib, &n->pred, v->set, err,
		    errlen) == 0)
			return 0;
	} else {
		if (n->scores == NULL) {
			for (i = 0; i < q->nranking && q->ranking[i] != n; i++)
				;
			if (i < q->nranking && (n->scores = malloc(end *
			    sizeof(*n->scores))) == NULL) {
				mtag_trackset_free(v->set);
				return mtag_seterr(err, errlen, NULL,
				    "out of memory");
			}
		}
		for (i = 0; n->scores != NULL && i < end; i++)
			n->scores[i] = NAN;
		if (mtag_library_tag_tracks(q->lib, n->tag, n->output, n->cmp,
		    n->value, v->set, n->scores, err, errlen) == 0)
			return 0;
	}
	mtag_trackset_free(v->set);
	return -1;
}

/* The mean score of the ranking terms for track id. */
static int
rank(mtag_query *q, int64_t id, double *mean, char *err, size_t errlen)
{
	struct node *n;
	double sum = 0, s;
	int i;

	*mean = NAN;
	for (i = 0; i < q->nranking; i++) {
		n = q->ranking[i];
		s = n->scores[id];
		if (isnan(s) && mtag_library_score(q->lib, id, n->tag,
		    n->cmp == MTAG_CMP_HOLDS ? -1 : n->output, &s, err,
		    errlen) == -1)
			return -1;
		if (isnan(s))
			return 0;
		sum += s;
	}
	if (q->nranking > 0)
		*mean = sum / q->nranking;
	return 0;
}

int64_t
mtag_query_run(mtag_query *q, struct mtag_hit **hits, char *err,
    size_t errlen)
{
	struct mtag_hit *h = NULL;
	mtag_trackset *all;
	struct value v;
	int64_t n = 0, id;

	*hits = NULL;
	if (eval(q, q->root, &v, err, errlen) == -1)
		return -1;
	if (v.complement) {
		if ((all = mtag_trackset_new(mtag_library_end(q->lib))) ==
		    NULL || mtag_library_all(q->lib, all, err, errlen) == -1) {
			if (all == NULL)
				mtag_seterr(err, errlen, NULL, "out of memory");
			mtag_trackset_free(all);
			mtag_trackset_free(v.set);
			return -1;
		}
		mtag_trackset_andnot(all, v.set);
		mtag_trackset_free(v.set);
		v.set = all;
	}
	if ((h = malloc((mtag_trackset_count(v.set) + 1) * sizeof(*h))) ==
	    NULL) {
		mtag_trackset_free(v.set);
		return mtag_seterr(err, errlen, NULL, "out of memory");
	}
	for (id = mtag_trackset_next(v.set, 0); id != -1;
	    id = mtag_trackset_next(v.set, id + 1)) {
		h[n].id = id;
		if (rank(q, id, &h[n++].score, err, errlen) == -1) {
			free(h);
			mtag_trackset_free(v.set);
			return -1;
		}
	}
	mtag_trackset_free(v.set);
	*hits = h;
	return n;
}
