/* Reading PyTorch checkpoints without Python: the legacy torch.save stream and
 * the zip archive, through a restricted unpickler that builds nothing but
 * plain data, storages and tensors, and never calls anything. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"

#define MAX_MARKS	64		/* MARK nesting */
#define MAX_STACK	(1 << 20)
#define MAX_MEMO	(1 << 22)
#define MAX_MEM		(64 << 20)	/* bytes the unpickler may hold */
#define MAX_FILE	(4ULL << 30)	/* bytes: no model comes near */
#define MAX_GLOBAL	256		/* module or name length */
#define MAX_KEY		256		/* storage key length */
#define CHUNK_OBJS	1024

enum conv { C_F32, C_F16, C_BF16, C_F64, C_INT };

struct stype {
	const char *name;
	int size;
	enum conv conv;
};

static const struct stype stypes[] = {
	{ "FloatStorage", 4, C_F32 },
	{ "HalfStorage", 2, C_F16 },
	{ "BFloat16Storage", 2, C_BF16 },
	{ "DoubleStorage", 8, C_F64 },
	{ "LongStorage", 8, C_INT },
	{ "IntStorage", 4, C_INT },
	{ "ShortStorage", 2, C_INT },
	{ "CharStorage", 1, C_INT },
	{ "ByteStorage", 1, C_INT },
	{ "BoolStorage", 1, C_INT },
	{ "UntypedStorage", 1, C_INT },
};

enum callable { G_ODICT, G_REBUILD_V2, G_REBUILD, G_REBUILD_PARAM, G_STORAGE };

static const struct {
	const char *mod, *name;
	enum callable fn;
} allowed[] = {
	{ "collections", "OrderedDict", G_ODICT },
	{ "torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2 },
	{ "torch._utils", "_rebuild_tensor", G_REBUILD },
	{ "torch._utils", "_rebuild_parameter", G_REBUILD_PARAM },
};

enum kind {
	K_NONE, K_BOOL, K_INT, K_BIGINT, K_FLOAT, K_STR, K_TUPLE, K_LIST,
	K_DICT, K_SET, K_GLOBAL, K_STORAGE, K_TENSOR
};

static const char *const kindname[] = {
	"None", "bool", "int", "long int", "float", "string", "tuple", "list",
	"dict", "set", "global", "storage", "tensor"
};

struct tview {
	struct obj *storage;
	uint64_t offset;
	int ndim;
	int64_t size[MTAG_TENSOR_MAXDIM];
	int64_t stride[MTAG_TENSOR_MAXDIM];
};

struct obj {
	enum kind kind;
	union {
		int64_t i;				/* K_BOOL, K_INT */
		double f;
		struct {
			const char *p;
			size_t len;
		} s;				/* K_STR, K_BIGINT */
		struct {
			struct obj **v;
			size_t n, cap;
		} c;				/* dict: k, v, k, v... */
		struct {
			enum callable fn;
			const struct stype *st;
		} g;
		struct {
			const struct stype *st;
			const struct obj *key;
			const unsigned char *data;	/* NULL: not found */
			uint64_t numel;
		} st;
		struct tview *t;
	} u;
};

struct chunk {
	struct chunk *next;
	size_t used;
	struct obj o[CHUNK_OBJS];
};

struct zentry {
	const char *name;
	size_t nlen;
	uint64_t lho, size;
	uint32_t crc;
	int method;
	bool checked;		/* CRC-32 verified */
};

struct entry {
	const char *name;
	size_t len;
	const struct tview *t;
	size_t numel;
};

struct rd {
	const char *path;
	char *err;
	size_t errlen;
	const unsigned char *file;
	size_t fsize;

	struct chunk *chunks;
	size_t mem;
	struct obj **stors;
	size_t nstor, capstor;

	struct obj **stack;
	size_t sp, stackcap;
	size_t marks[MAX_MARKS];
	int nmark;
	struct obj **memo;
	size_t nmemo, memoset;

	struct zentry *zent;
	size_t nzent;
	uint32_t crctab[256];
};

struct mtag_ckpt {
	char *path;
	mtag_tensor *t;
	const mtag_tensor **byname;
	int n;
	void *arena;
};

static struct obj none_obj = { .kind = K_NONE };
static struct obj true_obj = { .kind = K_BOOL, .u.i = 1 };
static struct obj false_obj = { .kind = K_BOOL, .u.i = 0 };
static struct obj empty_tuple = { .kind = K_TUPLE };

static int fail(struct rd *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct rd *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->err == NULL || r->errlen == 0)
		return -1;
	n = snprintf(r->err, r->errlen, "%s: ", r->path);
	if (n >= 0 && (size_t)n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Copies at most dstlen-1 bytes of s, printable ASCII only, for messages. */
static const char *
show(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < dstlen; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	dst[i] = '\0';
	return dst;
}

static uint16_t
rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Moves the exponent of h to float's bias (inf and NaN to 255); zero and
 * subnormals come exactly from 2^-14 * (1 + m/1024) - 2^-14. Branch-free, as
 * zeros and normals mix unpredictably in weights. */
static float
half_to_float(uint16_t h)
{
	uint32_t em = (uint32_t)(h & 0x7fff) << 13, e = h & 0x7c00, bits;
	float f, sub;

	bits = em + (113u << 23);
	memcpy(&sub, &bits, sizeof(sub));
	sub -= 0x1p-14f;
	bits = em + (e == 0x7c00 ? 224u << 23 : 112u << 23);
	memcpy(&f, &bits, sizeof(f));
	f = e == 0 ? sub : f;
	memcpy(&bits, &f, sizeof(bits));
	bits |= (uint32_t)(h & 0x8000) << 16;
	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Converts n consecutive little-endian elements of type st to float. */
static void
convert(float *dst, const unsigned char *src, const struct stype *st,
    size_t n)
{
	uint32_t bits;
	uint64_t b;
	double d;
	size_t i;

	switch (st->conv) {
	case C_F32:
		for (i = 0; i < n; i++) {
			bits = rd32(src + 4 * i);
			memcpy(&dst[i], &bits, sizeof(bits));
		}
		break;
	case C_F16:
		for (i = 0; i < n; i++)
			dst[i] = half_to_float(rd16(src + 2 * i));
		break;
	case C_BF16:
		for (i = 0; i < n; i++) {
			bits = (uint32_t)rd16(src + 2 * i) << 16;
			memcpy(&dst[i], &bits, sizeof(bits));
		}
		break;
	case C_F64:
		for (i = 0; i < n; i++) {
			b = rd64(src + 8 * i);
			memcpy(&d, &b, sizeof(d));
			dst[i] = (float)d;
		}
		break;
	case C_INT:
		break;
	}
}

/* Counts n more bytes against MAX_MEM: real checkpoints need well under a
 * megabyte, while a small hostile pickle could otherwise make the reader
 * hold tens of bytes per byte it reads. */
static int
charge(struct rd *r, size_t n)
{
	if (n > MAX_MEM - r->mem)
		return fail(r, "pickle needs more than %d MB of memory",
		    MAX_MEM >> 20);
	r->mem += n;
	return 0;
}

static struct obj *
newobj(struct rd *r, enum kind k)
{
	struct chunk *c = r->chunks;
	struct obj *o;

	if (c == NULL || c->used == CHUNK_OBJS) {
		if (charge(r, sizeof(*c)) < 0)
			return NULL;
		if ((c = malloc(sizeof(*c))) == NULL) {
			fail(r, "out of memory");
			return NULL;
		}
		c->next = r->chunks;
		c->used = 0;
		r->chunks = c;
	}
	o = &c->o[c->used++];
	memset(o, 0, sizeof(*o));
	o->kind = k;
	return o;
}

static void
free_objects(struct rd *r)
{
	struct chunk *c, *next;
	size_t i;

	for (c = r->chunks; c != NULL; c = next) {
		next = c->next;
		for (i = 0; i < c->used; i++) {
			switch (c->o[i].kind) {
			case K_TUPLE:
			case K_LIST:
			case K_DICT:
			case K_SET:
				free(c->o[i].u.c.v);
				break;
			case K_TENSOR:
				free(c->o[i].u.t);
				break;
			default:
				break;
			}
		}
		free(c);
	}
	r->chunks = NULL;
}

static int
cadd(struct rd *r, struct obj *c, struct obj *v)
{
	struct obj **nv;
	size_t ncap;

	if (c->u.c.n == c->u.c.cap) {
		ncap = c->u.c.cap ? 2 * c->u.c.cap : 8;
		if (charge(r, (ncap - c->u.c.cap) * sizeof(*nv)) < 0)
			return -1;
		if ((nv = realloc(c->u.c.v, ncap * sizeof(*nv))) == NULL)
			return fail(r, "out of memory");
		c->u.c.v = nv;
		c->u.c.cap = ncap;
	}
	c->u.c.v[c->u.c.n++] = v;
	return 0;
}

static bool
str_is(const struct obj *o, const char *s)
{
	size_t n = strlen(s);

	return o->kind == K_STR && o->u.s.len == n &&
	    memcmp(o->u.s.p, s, n) == 0;
}

static const struct obj *
dict_get(const struct obj *d, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < d->u.c.n; i += 2)
		if (str_is(d->u.c.v[i], key))
			return d->u.c.v[i + 1];
	return NULL;
}

static size_t
floor_sp(const struct rd *r)
{
	return r->nmark ? r->marks[r->nmark - 1] : 0;
}

static int
push(struct rd *r, struct obj *o)
{
	struct obj **ns;
	size_t ncap;

	if (o == NULL)
		return -1;
	if (r->sp == r->stackcap) {
		if (r->stackcap >= MAX_STACK)
			return fail(r, "pickle stack deeper than %d",
			    MAX_STACK);
		ncap = r->stackcap ? 2 * r->stackcap : 64;
		if (charge(r, (ncap - r->stackcap) * sizeof(*ns)) < 0)
			return -1;
		if ((ns = realloc(r->stack, ncap * sizeof(*ns))) == NULL)
			return fail(r, "out of memory");
		r->stack = ns;
		r->stackcap = ncap;
	}
	r->stack[r->sp++] = o;
	return 0;
}

static int
underflow(struct rd *r, size_t at)
{
	return fail(r, "malformed pickle: stack underflow at offset %zu", at);
}

static struct obj *
pop(struct rd *r, size_t at)
{
	if (r->sp <= floor_sp(r)) {
		underflow(r, at);
		return NULL;
	}
	return r->stack[--r->sp];
}

/* Pops the items above the topmost mark into a new container of kind k. */
static struct obj *
pop_mark(struct rd *r, enum kind k, size_t at)
{
	struct obj *c;
	size_t base, i;

	if (r->nmark == 0) {
		fail(r, "malformed pickle: no MARK at offset %zu", at);
		return NULL;
	}
	base = r->marks[--r->nmark];
	if (k == K_TUPLE && base == r->sp)
		return &empty_tuple;
	if ((c = newobj(r, k)) == NULL)
		return NULL;
	for (i = base; i < r->sp; i++)
		if (cadd(r, c, r->stack[i]) < 0)
			return NULL;
	r->sp = base;
	return c;
}

static int
memo_put(struct rd *r, uint64_t idx, size_t len, size_t at)
{
	struct obj **nm;
	size_t n;

	if (r->sp <= floor_sp(r))
		return fail(r, "malformed pickle: memo of an empty stack at "
		    "offset %zu", at);
	if (idx >= MAX_MEMO || idx >= len)
		return fail(r, "pickle memo index %" PRIu64 " out of range at "
		    "offset %zu", idx, at);
	if (idx >= r->nmemo) {
		n = r->nmemo ? r->nmemo : 64;
		while (n <= idx)
			n *= 2;
		if (charge(r, (n - r->nmemo) * sizeof(*nm)) < 0)
			return -1;
		if ((nm = realloc(r->memo, n * sizeof(*nm))) == NULL)
			return fail(r, "out of memory");
		memset(nm + r->nmemo, 0, (n - r->nmemo) * sizeof(*nm));
		r->memo = nm;
		r->nmemo = n;
	}
	if (r->memo[idx] == NULL)
		r->memoset++;
	r->memo[idx] = r->stack[r->sp - 1];
	return 0;
}

static int
memo_get(struct rd *r, uint64_t idx, size_t at)
{
	if (idx >= r->nmemo || r->memo[idx] == NULL)
		return fail(r, "malformed pickle: memo %" PRIu64 " unset at "
		    "offset %zu", idx, at);
	return push(r, r->memo[idx]);
}

static struct obj *
mkint(struct rd *r, int64_t v)
{
	struct obj *o = newobj(r, K_INT);

	if (o != NULL)
		o->u.i = v;
	return o;
}

/* LONG1/LONG4: little-endian two's complement of n bytes. */
static struct obj *
mklong(struct rd *r, const unsigned char *q, size_t n)
{
	struct obj *o;
	uint64_t v = 0;
	size_t i;

	if (n > 8) {
		if ((o = newobj(r, K_BIGINT)) != NULL) {
			o->u.s.p = (const char *)q;
			o->u.s.len = n;
		}
		return o;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)q[i] << (8 * i);
	if (n > 0 && n < 8 && (q[n - 1] & 0x80))
		v |= ~(uint64_t)0 << (8 * n);
	return mkint(r, (int64_t)v);
}

static struct obj *
mkstr(struct rd *r, const unsigned char *q, size_t n)
{
	struct obj *o = newobj(r, K_STR);

	if (o != NULL) {
		o->u.s.p = (const char *)q;
		o->u.s.len = n;
	}
	return o;
}

static struct obj *
mkglobal(struct rd *r, const char *mod, size_t ml, const char *name,
    size_t nl, size_t at)
{
	char m[MAX_GLOBAL], n[MAX_GLOBAL];
	struct obj *o;
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strlen(allowed[i].mod) == ml &&
		    memcmp(allowed[i].mod, mod, ml) == 0 &&
		    strlen(allowed[i].name) == nl &&
		    memcmp(allowed[i].name, name, nl) == 0) {
			if ((o = newobj(r, K_GLOBAL)) != NULL)
				o->u.g.fn = allowed[i].fn;
			return o;
		}
	}
	if ((ml == 5 && memcmp(mod, "torch", 5) == 0) ||
	    (ml == 13 && memcmp(mod, "torch.storage", 13) == 0)) {
		for (i = 0; i < sizeof(stypes) / sizeof(stypes[0]); i++) {
			if (strlen(stypes[i].name) != nl ||
			    memcmp(stypes[i].name, name, nl) != 0)
				continue;
			if ((o = newobj(r, K_GLOBAL)) != NULL) {
				o->u.g.fn = G_STORAGE;
				o->u.g.st = &stypes[i];
			}
			return o;
		}
	}
	fail(r, "refusing global %s.%s at offset %zu (not a tensor or "
	    "state-dict type)", show(m, sizeof(m), mod, ml),
	    show(n, sizeof(n), name, nl), at);
	return NULL;
}

static int
get_int(const struct obj *o, int64_t *v)
{
	if (o->kind != K_INT && o->kind != K_BOOL)
		return -1;
	*v = o->u.i;
	return 0;
}

static int
int_tuple(const struct obj *o, int64_t *v, int *n)
{
	size_t i;

	if (o->kind != K_TUPLE || o->u.c.n > MTAG_TENSOR_MAXDIM)
		return -1;
	for (i = 0; i < o->u.c.n; i++)
		if (get_int(o->u.c.v[i], &v[i]) < 0 || v[i] < 0)
			return -1;
	*n = (int)o->u.c.n;
	return 0;
}

static struct obj *
rebuild_tensor(struct rd *r, const struct obj *args, size_t at)
{
	struct obj **a = args->u.c.v, *o;
	struct tview *t;
	int64_t off;
	int ns;

	if (charge(r, sizeof(*t)) < 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		fail(r, "out of memory");
		return NULL;
	}
	if (a[0]->kind != K_STORAGE || get_int(a[1], &off) < 0 || off < 0 ||
	    int_tuple(a[2], t->size, &t->ndim) < 0 ||
	    int_tuple(a[3], t->stride, &ns) < 0 || ns != t->ndim) {
		free(t);
		fail(r, "malformed tensor at offset %zu (want storage, offset, "
		    "and up to %d non-negative sizes and strides)", at,
		    MTAG_TENSOR_MAXDIM);
		return NULL;
	}
	if ((o = newobj(r, K_TENSOR)) == NULL) {
		free(t);
		return NULL;
	}
	t->storage = a[0];
	t->offset = (uint64_t)off;
	o->u.t = t;
	return o;
}

static int
op_reduce(struct rd *r, size_t at)
{
	struct obj *args, *fn;
	size_t n;

	if ((args = pop(r, at)) == NULL || (fn = pop(r, at)) == NULL)
		return -1;
	if (fn->kind != K_GLOBAL)
		return fail(r, "REDUCE at offset %zu calls a %s, not an "
		    "allowed global", at, kindname[fn->kind]);
	if (args->kind != K_TUPLE)
		return fail(r, "REDUCE at offset %zu with %s arguments", at,
		    kindname[args->kind]);
	n = args->u.c.n;
	switch (fn->u.g.fn) {
	case G_ODICT:
		if (n != 0)
			return fail(r, "OrderedDict built from arguments at "
			    "offset %zu", at);
		return push(r, newobj(r, K_DICT));
	case G_REBUILD_V2:
		if (n != 6 && n != 7)
			return fail(r, "_rebuild_tensor_v2 with %zu arguments "
			    "at offset %zu", n, at);
		return push(r, rebuild_tensor(r, args, at));
	case G_REBUILD:
		if (n != 4)
			return fail(r, "_rebuild_tensor with %zu arguments at "
			    "offset %zu", n, at);
		return push(r, rebuild_tensor(r, args, at));
	case G_REBUILD_PARAM:
		if (n != 3 || args->u.c.v[0]->kind != K_TENSOR)
			return fail(r, "malformed _rebuild_parameter at offset "
			    "%zu", at);
		return push(r, args->u.c.v[0]);
	case G_STORAGE:
		break;
	}
	return fail(r, "REDUCE at offset %zu calls storage class %s (only "
	    "allowed in a persistent id)", at, fn->u.g.st->name);
}

static int
op_persid(struct rd *r, size_t at)
{
	struct obj *pid, **v, *o;
	char k[MAX_KEY];
	int64_t numel;

	if ((pid = pop(r, at)) == NULL)
		return -1;
	if (pid->kind != K_TUPLE || (pid->u.c.n != 5 && pid->u.c.n != 6))
		return fail(r, "malformed persistent id at offset %zu (want "
		    "('storage', class, key, location, numel))", at);
	v = pid->u.c.v;
	if (!str_is(v[0], "storage") || v[1]->kind != K_GLOBAL ||
	    v[1]->u.g.fn != G_STORAGE || v[2]->kind != K_STR ||
	    get_int(v[4], &numel) < 0 || numel < 0)
		return fail(r, "malformed persistent id at offset %zu (want "
		    "('storage', class, key, location, numel))", at);
	if (v[2]->u.s.len >= MAX_KEY)
		return fail(r, "storage key longer than %d bytes at offset %zu",
		    MAX_KEY, at);
	if (pid->u.c.n == 6 && v[5]->kind != K_NONE)
		return fail(r, "storage '%s' is a storage view (pre-0.4 "
		    "checkpoint), not supported",
		    show(k, sizeof(k), v[2]->u.s.p, v[2]->u.s.len));
	if ((o = newobj(r, K_STORAGE)) == NULL)
		return -1;
	o->u.st.st = v[1]->u.g.st;
	o->u.st.key = v[2];
	o->u.st.numel = (uint64_t)numel;
	if (r->nstor == r->capstor) {
		size_t ncap = r->capstor ? 2 * r->capstor : 64;
		struct obj **ns;

		if (charge(r, (ncap - r->capstor) * sizeof(*ns)) < 0)
			return -1;
		if ((ns = realloc(r->stors, ncap * sizeof(*ns))) == NULL)
			return fail(r, "out of memory");
		r->stors = ns;
		r->capstor = ncap;
	}
	r->stors[r->nstor++] = o;
	return push(r, o);
}

/* Reads a GLOBAL argument: bytes up to a newline. */
static int
text_line(struct rd *r, size_t *pos, size_t end, const char **s, size_t *len,
    size_t at)
{
	const unsigned char *p = r->file + *pos, *nl;
	size_t avail = end - *pos;

	nl = memchr(p, '\n', avail < MAX_GLOBAL ? avail : MAX_GLOBAL);
	if (nl == NULL)
		return fail(r, avail < MAX_GLOBAL ? "truncated: GLOBAL at "
		    "offset %zu runs past the end" : "malformed GLOBAL at "
		    "offset %zu", at);
	*s = (const char *)p;
	*len = (size_t)(nl - p);
	*pos += *len + 1;
	return 0;
}

/* The name of a pickle opcode this reader refuses, for messages. */
static const char *
refused_name(int op)
{
	switch (op) {
	case 'i':
		return " (INST)";
	case 'o':
		return " (OBJ)";
	case 0x92:
		return " (NEWOBJ_EX)";
	case 0x82:
	case 0x83:
	case 0x84:
		return " (EXT)";
	case 'P':
		return " (PERSID)";
	case 'g':
	case 'p':
		return " (text GET/PUT)";
	case 'I':
	case 'L':
	case 'F':
	case 'S':
	case 'V':
		return " (text literal)";
	case 0x96:
	case 0x97:
	case 0x98:
		return " (buffer)";
	default:
		return "";
	}
}

/* Runs the pickle starting at file offset start (bounded by end); the
 * object it builds in *out, the offset after its STOP in *next. */
static int
unpickle(struct rd *r, size_t start, size_t end, size_t *next,
    struct obj **out)
{
	const unsigned char *p = r->file, *q;
	struct obj *o, *v, *k, *c;
	const char *mod = NULL, *name = NULL;
	size_t pos = start, at, n, ml = 0, nl = 0, i;
	uint64_t len, bits;
	int op;

	r->sp = 0;
	r->nmark = 0;
	r->memoset = 0;
	if (r->nmemo)
		memset(r->memo, 0, r->nmemo * sizeof(*r->memo));

#define NEED(cnt) do {							\
	if ((uint64_t)(cnt) > end - pos)				\
		return fail(r, "truncated: pickle opcode at offset %zu "\
		    "runs past the end", at);				\
	q = p + pos;							\
	pos += (size_t)(cnt);						\
} while (0)

	for (;;) {
		if (pos >= end)
			return fail(r, "truncated: pickle starting at offset "
			    "%zu has no STOP", start);
		at = pos;
		op = p[pos++];
		switch (op) {
		case 0x80:	/* PROTO */
			NEED(1);
			if (q[0] > 5)
				return fail(r, "unsupported pickle protocol %d",
				    q[0]);
			break;
		case 0x95:	/* FRAME */
			NEED(8);
			break;
		case '(':	/* MARK */
			if (r->nmark == MAX_MARKS)
				return fail(r, "pickle nested deeper than %d "
				    "at offset %zu", MAX_MARKS, at);
			r->marks[r->nmark++] = r->sp;
			break;
		case '.':	/* STOP */
			if (r->sp != 1 || r->nmark != 0)
				return fail(r, "malformed pickle: STOP at "
				    "offset %zu with %zu objects left", at,
				    r->sp);
			*out = r->stack[0];
			*next = pos;
			return 0;
		case '}':	/* EMPTY_DICT */
			if (push(r, newobj(r, K_DICT)) < 0)
				return -1;
			break;
		case ']':	/* EMPTY_LIST */
			if (push(r, newobj(r, K_LIST)) < 0)
				return -1;
			break;
		case 0x8f:	/* EMPTY_SET */
			if (push(r, newobj(r, K_SET)) < 0)
				return -1;
			break;
		case ')':	/* EMPTY_TUPLE */
			if (push(r, &empty_tuple) < 0)
				return -1;
			break;
		case 0x85:	/* TUPLE1 */
		case 0x86:	/* TUPLE2 */
		case 0x87:	/* TUPLE3 */
			n = (size_t)(op - 0x84);
			if (r->sp - floor_sp(r) < n)
				return underflow(r, at);
			if ((c = newobj(r, K_TUPLE)) == NULL)
				return -1;
			for (i = r->sp - n; i < r->sp; i++)
				if (cadd(r, c, r->stack[i]) < 0)
					return -1;
			r->sp -= n;
			if (push(r, c) < 0)
				return -1;
			break;
		case 't':	/* TUPLE */
		case 'l':	/* LIST */
		case 0x91:	/* FROZENSET */
			if (push(r, pop_mark(r, op == 't' ? K_TUPLE :
			    op == 'l' ? K_LIST : K_SET, at)) < 0)
				return -1;
			break;
		case 'd':	/* DICT */
			if ((c = pop_mark(r, K_DICT, at)) == NULL)
				return -1;
			if (c->u.c.n % 2)
				return fail(r, "malformed pickle: odd DICT at "
				    "offset %zu", at);
			if (push(r, c) < 0)
				return -1;
			break;
		case 'a':	/* APPEND */
		case 's':	/* SETITEM */
			n = op == 'a' ? 1 : 2;
			if (r->sp - floor_sp(r) < n + 1)
				return underflow(r, at);
			c = r->stack[r->sp - n - 1];
			if (c->kind != (op == 'a' ? K_LIST : K_DICT))
				return fail(r, "%s to a %s at offset %zu",
				    op == 'a' ? "APPEND" : "SETITEM",
				    kindname[c->kind], at);
			for (i = r->sp - n; i < r->sp; i++)
				if (cadd(r, c, r->stack[i]) < 0)
					return -1;
			r->sp -= n;
			break;
		case 'e':	/* APPENDS */
		case 'u':	/* SETITEMS */
		case 0x90:	/* ADDITEMS */
			if (r->nmark == 0)
				return fail(r, "malformed pickle: no MARK at "
				    "offset %zu", at);
			n = r->marks[--r->nmark];
			if (n <= floor_sp(r))
				return underflow(r, at);
			c = r->stack[n - 1];
			if (c->kind != (op == 'e' ? K_LIST : op == 'u' ?
			    K_DICT : K_SET))
				return fail(r, "%s to a %s at offset %zu",
				    op == 'e' ? "APPENDS" : op == 'u' ?
				    "SETITEMS" : "ADDITEMS", kindname[c->kind],
				    at);
			if (op == 'u' && (r->sp - n) % 2)
				return fail(r, "malformed pickle: odd SETITEMS "
				    "at offset %zu", at);
			for (i = n; i < r->sp; i++)
				if (cadd(r, c, r->stack[i]) < 0)
					return -1;
			r->sp = n;
			break;
		case 'J':	/* BININT */
			NEED(4);
			if (push(r, mkint(r, (int32_t)rd32(q))) < 0)
				return -1;
			break;
		case 'K':	/* BININT1 */
			NEED(1);
			if (push(r, mkint(r, q[0])) < 0)
				return -1;
			break;
		case 'M':	/* BININT2 */
			NEED(2);
			if (push(r, mkint(r, rd16(q))) < 0)
				return -1;
			break;
		case 0x8a:	/* LONG1 */
		case 0x8b:	/* LONG4 */
			if (op == 0x8a) {
				NEED(1);
				len = q[0];
			} else {
				NEED(4);
				if ((int32_t)rd32(q) < 0)
					return fail(r, "malformed pickle: "
					    "negative LONG4 at offset %zu", at);
				len = rd32(q);
			}
			NEED(len);
			if (push(r, mklong(r, q, (size_t)len)) < 0)
				return -1;
			break;
		case 'G':	/* BINFLOAT */
			NEED(8);
			if ((o = newobj(r, K_FLOAT)) == NULL)
				return -1;
			for (i = 0, bits = 0; i < 8; i++)
				bits = bits << 8 | q[i];
			memcpy(&o->u.f, &bits, sizeof(o->u.f));
			if (push(r, o) < 0)
				return -1;
			break;
		case 'N':	/* NONE */
			if (push(r, &none_obj) < 0)
				return -1;
			break;
		case 0x88:	/* NEWTRUE */
		case 0x89:	/* NEWFALSE */
			if (push(r, op == 0x88 ? &true_obj : &false_obj) < 0)
				return -1;
			break;
		case 'X':	/* BINUNICODE */
		case 'B':	/* BINBYTES */
		case 'T':	/* BINSTRING */
		case 0x8c:	/* SHORT_BINUNICODE */
		case 'C':	/* SHORT_BINBYTES */
		case 'U':	/* SHORT_BINSTRING */
		case 0x8d:	/* BINUNICODE8 */
		case 0x8e:	/* BINBYTES8 */
			if (op == 'X' || op == 'B' || op == 'T') {
				NEED(4);
				if (op == 'T' && (int32_t)rd32(q) < 0)
					return fail(r, "malformed pickle: "
					    "negative BINSTRING at offset %zu",
					    at);
				len = rd32(q);
			} else if (op == 0x8d || op == 0x8e) {
				NEED(8);
				len = rd64(q);
			} else {
				NEED(1);
				len = q[0];
			}
			NEED(len);
			if (push(r, mkstr(r, q, (size_t)len)) < 0)
				return -1;
			break;
		case 'q':	/* BINPUT */
			NEED(1);
			if (memo_put(r, q[0], end - start, at) < 0)
				return -1;
			break;
		case 'r':	/* LONG_BINPUT */
			NEED(4);
			if (memo_put(r, rd32(q), end - start, at) < 0)
				return -1;
			break;
		case 0x94:	/* MEMOIZE */
			if (memo_put(r, r->memoset, end - start, at) < 0)
				return -1;
			break;
		case 'h':	/* BINGET */
			NEED(1);
			if (memo_get(r, q[0], at) < 0)
				return -1;
			break;
		case 'j':	/* LONG_BINGET */
			NEED(4);
			if (memo_get(r, rd32(q), at) < 0)
				return -1;
			break;
		case 'c':	/* GLOBAL */
			if (text_line(r, &pos, end, &mod, &ml, at) < 0 ||
			    text_line(r, &pos, end, &name, &nl, at) < 0 ||
			    push(r, mkglobal(r, mod, ml, name, nl, at)) < 0)
				return -1;
			break;
		case 0x93:	/* STACK_GLOBAL */
			if ((v = pop(r, at)) == NULL ||
			    (k = pop(r, at)) == NULL)
				return -1;
			if (k->kind != K_STR || v->kind != K_STR)
				return fail(r, "malformed STACK_GLOBAL at "
				    "offset %zu", at);
			if (push(r, mkglobal(r, k->u.s.p, k->u.s.len, v->u.s.p,
			    v->u.s.len, at)) < 0)
				return -1;
			break;
		case 'R':	/* REDUCE */
			if (op_reduce(r, at) < 0)
				return -1;
			break;
		case 0x81:	/* NEWOBJ */
			if ((v = pop(r, at)) == NULL ||
			    (k = pop(r, at)) == NULL)
				return -1;
			if (k->kind != K_GLOBAL || k->u.g.fn != G_ODICT ||
			    v->kind != K_TUPLE || v->u.c.n != 0)
				return fail(r, "NEWOBJ at offset %zu builds "
				    "something other than an empty OrderedDict",
				    at);
			if (push(r, newobj(r, K_DICT)) < 0)
				return -1;
			break;
		case 'b':	/* BUILD */
			if ((v = pop(r, at)) == NULL)
				return -1;
			if (r->sp <= floor_sp(r))
				return underflow(r, at);
			c = r->stack[r->sp - 1];
			if (c->kind != K_DICT || (v->kind != K_DICT &&
			    v->kind != K_NONE && v->kind != K_TUPLE))
				return fail(r, "BUILD of a %s with a %s at "
				    "offset %zu", kindname[c->kind],
				    kindname[v->kind], at);
			break;
		case 'Q':	/* BINPERSID */
			if (op_persid(r, at) < 0)
				return -1;
			break;
		case '0':	/* POP */
			if (r->sp > floor_sp(r))
				r->sp--;
			else if (r->nmark > 0)
				r->nmark--;
			else
				return fail(r, "malformed pickle: POP of an "
				    "empty stack at offset %zu", at);
			break;
		case '1':	/* POP_MARK */
			if (r->nmark == 0)
				return fail(r, "malformed pickle: no MARK at "
				    "offset %zu", at);
			r->sp = r->marks[--r->nmark];
			break;
		case '2':	/* DUP */
			if (r->sp <= floor_sp(r))
				return underflow(r, at);
			if (push(r, r->stack[r->sp - 1]) < 0)
				return -1;
			break;
		default:
			return fail(r, "unsupported pickle opcode 0x%02x%s at "
			    "offset %zu", op, refused_name(op), at);
		}
	}
#undef NEED
}

static int
cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c ? c : (al > bl) - (al < bl);
}

/* Orders storage s against the key string key. */
static int
cmp_key(const struct obj *s, const struct obj *key)
{
	const struct obj *x = s->u.st.key;

	return cmp_bytes(x->u.s.p, x->u.s.len, key->u.s.p, key->u.s.len);
}

static int
cmp_stor(const void *a, const void *b)
{
	const struct obj *y = *(struct obj *const *)b;

	return cmp_key(*(struct obj *const *)a, y->u.st.key);
}

static const unsigned char magic[] = {
	0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19
};

static bool
is_magic(const struct obj *o)
{
	size_t n;

	if (o->kind != K_BIGINT)
		return false;
	for (n = o->u.s.len; n > sizeof(magic) && o->u.s.p[n - 1] == 0; n--)
		continue;
	return n == sizeof(magic) && memcmp(o->u.s.p, magic, n) == 0;
}

/* Gives the storages of the legacy stream their data, which follows the
 * pickles at pos in the order of the key list. */
static int
legacy_storages(struct rd *r, const struct obj *keys, size_t pos)
{
	struct obj **sorted, *key, *s;
	const struct stype *st;
	size_t i, j, lo, hi, mid;
	uint64_t count;
	char k[MAX_KEY];
	int rc = -1;

	if (keys->kind != K_LIST)
		return fail(r, "malformed checkpoint: the storage key list "
		    "is a %s", kindname[keys->kind]);
	if ((sorted = malloc((r->nstor ? r->nstor : 1) * sizeof(*sorted))) ==
	    NULL)
		return fail(r, "out of memory");
	if (r->nstor)
		memcpy(sorted, r->stors, r->nstor * sizeof(*sorted));
	qsort(sorted, r->nstor, sizeof(*sorted), cmp_stor);
	for (i = 0; i < keys->u.c.n; i++) {
		key = keys->u.c.v[i];
		if (key->kind != K_STR) {
			fail(r, "malformed checkpoint: storage key %zu is a %s",
			    i, kindname[key->kind]);
			goto out;
		}
		show(k, sizeof(k), key->u.s.p, key->u.s.len);
		for (lo = 0, hi = r->nstor; lo < hi;) {
			mid = lo + (hi - lo) / 2;
			if (cmp_key(sorted[mid], key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == r->nstor || cmp_key(sorted[lo], key) != 0) {
			fail(r, "storage '%s' is listed but no tensor uses it",
			    k);
			goto out;
		}
		if (r->fsize - pos < 8) {
			fail(r, "truncated: the data of storage '%s' is "
			    "missing", k);
			goto out;
		}
		count = rd64(r->file + pos);
		pos += 8;
		st = sorted[lo]->u.st.st;
		if (count > (r->fsize - pos) / (size_t)st->size) {
			if (count <= r->fsize / (size_t)st->size)
				fail(r, "truncated: storage '%s' needs %" PRIu64
				    " bytes but only %zu are left", k,
				    count * (uint64_t)st->size, r->fsize - pos);
			else
				fail(r, "storage '%s' claims %" PRIu64
				    " elements but the file has only %zu bytes "
				    "left", k, count, r->fsize - pos);
			goto out;
		}
		for (j = lo; j < r->nstor && cmp_key(sorted[j], key) == 0;
		    j++) {
			s = sorted[j];
			if (s->u.st.data != NULL) {
				fail(r, "storage '%s' is listed twice", k);
				goto out;
			}
			if (s->u.st.st != st) {
				fail(r, "storage '%s' is used as both %s and "
				    "%s", k, st->name, s->u.st.st->name);
				goto out;
			}
			if (s->u.st.numel > count) {
				fail(r, "storage '%s' claims %" PRIu64
				    " elements but holds only %" PRIu64, k,
				    s->u.st.numel, count);
				goto out;
			}
			s->u.st.data = r->file + pos;
		}
		pos += (size_t)count * (size_t)st->size;
	}
	rc = 0;
out:
	free(sorted);
	return rc;
}

static int
load_legacy(struct rd *r, struct obj **root)
{
	const struct obj *le;
	struct obj *o;
	size_t pos = 0;

	if (unpickle(r, pos, r->fsize, &pos, &o) < 0)
		return -1;
	if (!is_magic(o))
		return fail(r, "not a PyTorch checkpoint (bad magic number)");
	if (unpickle(r, pos, r->fsize, &pos, &o) < 0)
		return -1;
	if (o->kind != K_INT)
		return fail(r, "malformed checkpoint: the protocol version is "
		    "a %s", kindname[o->kind]);
	if (o->u.i != 1001)
		return fail(r, "unsupported legacy checkpoint protocol version "
		    "%" PRId64 " (not 1001)", o->u.i);
	if (unpickle(r, pos, r->fsize, &pos, &o) < 0)
		return -1;
	if (o->kind != K_DICT)
		return fail(r, "malformed checkpoint: system info is a %s",
		    kindname[o->kind]);
	le = dict_get(o, "little_endian");
	if (le != NULL && le->kind == K_BOOL && le->u.i == 0)
		return fail(r, "big-endian checkpoint, not supported");
	if (unpickle(r, pos, r->fsize, &pos, root) < 0 ||
	    unpickle(r, pos, r->fsize, &pos, &o) < 0)
		return -1;
	return legacy_storages(r, o, pos);
}

static int
cmp_zent(const void *a, const void *b)
{
	const struct zentry *x = a, *y = b;

	return cmp_bytes(x->name, x->nlen, y->name, y->nlen);
}

static struct zentry *
zfind(const struct rd *r, const char *name, size_t len)
{
	struct zentry key = { .name = name, .nlen = len };

	return bsearch(&key, r->zent, r->nzent, sizeof(key), cmp_zent);
}

/* Replaces the 0xffffffff fields among usize, csize, lho (in that order)
 * with their values from the ZIP64 extra field. */
static int
zip64_extra(struct rd *r, const unsigned char *x, size_t xl, uint64_t *f[3])
{
	size_t i, j, end;
	int k;

	for (i = 0; xl - i >= 4; i = end) {
		end = i + 4 + rd16(x + i + 2);
		if (end > xl)
			break;
		if (rd16(x + i) != 0x0001)
			continue;
		for (j = i + 4, k = 0; k < 3; k++) {
			if (*f[k] != 0xffffffff)
				continue;
			if (end - j < 8)
				break;
			*f[k] = rd64(x + j);
			j += 8;
		}
		if (k == 3)
			return 0;
		break;
	}
	return fail(r, "corrupt zip archive: ZIP64 sizes without a ZIP64 "
	    "extra field");
}

/* Whether a member name is relative, free of '..' components, backslashes
 * and control characters. */
static bool
safe_name(const char *s, size_t len)
{
	size_t i, start = 0;

	if (len == 0 || s[0] == '/')
		return false;
	for (i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			if (i - start == 2 && s[start] == '.' &&
			    s[start + 1] == '.')
				return false;
			start = i + 1;
		} else if ((unsigned char)s[i] < 0x20 || s[i] == '\\' ||
		    s[i] == 0x7f)
			return false;
	}
	return true;
}

static int
zip_dir(struct rd *r)
{
	const unsigned char *f = r->file, *e = NULL, *c, *z64;
	uint64_t n, cdsize, cdoff, pos, end, usize, csize, lho, zo;
	uint64_t *fields[3] = { &usize, &csize, &lho };
	size_t i, nl, xl, cl;
	struct zentry *z;
	char nm[MAX_KEY];

	if (r->fsize < 22)
		return fail(r, "truncated: no zip end of central directory");
	for (i = r->fsize - 22 + 1; i-- > 0 && r->fsize - 22 - i <= 0xffff;) {
		if (rd32(f + i) == 0x06054b50) {
			e = f + i;
			break;
		}
	}
	if (e == NULL)
		return fail(r, "truncated: no zip end of central directory");
	n = rd16(e + 10);
	cdsize = rd32(e + 12);
	cdoff = rd32(e + 16);
	if (n == 0xffff || cdsize == 0xffffffff || cdoff == 0xffffffff) {
		if (e - f < 20 || rd32(e - 20) != 0x07064b50)
			return fail(r, "corrupt zip archive: no ZIP64 end of "
			    "central directory locator");
		zo = rd64(e - 20 + 8);
		if (r->fsize < 56 || zo > r->fsize - 56 ||
		    rd32(f + zo) != 0x06064b50)
			return fail(r, "corrupt zip archive: bad ZIP64 end of "
			    "central directory");
		z64 = f + zo;
		n = rd64(z64 + 32);
		cdsize = rd64(z64 + 40);
		cdoff = rd64(z64 + 48);
	} else if (rd16(e + 4) != 0 || rd16(e + 6) != 0)
		return fail(r, "multi-disk zip archives are not supported");
	if (cdoff > r->fsize || cdsize > r->fsize - cdoff)
		return fail(r, "truncated: the zip central directory runs past "
		    "the end of the file");
	if (n > cdsize / 46)
		return fail(r, "corrupt zip archive: %" PRIu64 " entries in a "
		    "%" PRIu64 "-byte central directory", n, cdsize);
	if ((r->zent = calloc(n ? n : 1, sizeof(*r->zent))) == NULL)
		return fail(r, "out of memory");
	end = cdoff + cdsize;
	for (pos = cdoff; r->nzent < n; pos += 46 + nl + xl + cl) {
		c = f + pos;
		if (end - pos < 46 || rd32(c) != 0x02014b50)
			return fail(r, "corrupt zip central directory entry "
			    "%zu", r->nzent);
		nl = rd16(c + 28);
		xl = rd16(c + 30);
		cl = rd16(c + 32);
		if (46 + nl + xl + cl > end - pos)
			return fail(r, "corrupt zip central directory entry "
			    "%zu", r->nzent);
		csize = rd32(c + 20);
		usize = rd32(c + 24);
		lho = rd32(c + 42);
		if ((usize == 0xffffffff || csize == 0xffffffff ||
		    lho == 0xffffffff) &&
		    zip64_extra(r, c + 46 + nl, xl, fields) < 0)
			return -1;
		z = &r->zent[r->nzent++];
		z->name = (const char *)c + 46;
		z->nlen = nl;
		z->method = (rd16(c + 8) & 1) ? -1 : rd16(c + 10);
		z->size = usize;
		z->crc = rd32(c + 16);
		z->lho = lho;
		if (z->method == 0 && csize != usize)
			return fail(r, "corrupt zip entry %zu: stored with two "
			    "sizes", r->nzent - 1);
		if (!safe_name(z->name, z->nlen))
			return fail(r, "zip entry '%s' has an unsafe name "
			    "(absolute, '..', backslash or control character)",
			    show(nm, sizeof(nm), z->name, z->nlen));
	}
	qsort(r->zent, r->nzent, sizeof(*r->zent), cmp_zent);
	for (i = 1; i < r->nzent; i++)
		if (cmp_zent(&r->zent[i - 1], &r->zent[i]) == 0)
			return fail(r, "zip archive holds '%s' twice",
			    show(nm, sizeof(nm), r->zent[i].name,
			    r->zent[i].nlen));
	return 0;
}

static void
zip_crc_init(uint32_t tab[256])
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		for (c = (uint32_t)i, k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		tab[i] = c;
	}
}

/* The CRC-32 (ISO-HDLC, as in zip) of n bytes. */
static uint32_t
zip_crc32(const uint32_t tab[256], const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--)
		c = tab[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* The file offset of the bytes of a stored entry, whose local header and
 * CRC-32 (once per entry) it checks. */
static int
zip_data(struct rd *r, struct zentry *z, size_t *off)
{
	const unsigned char *l;
	char nm[MAX_KEY];
	uint64_t o;

	show(nm, sizeof(nm), z->name, z->nlen);
	if (z->method == -1)
		return fail(r, "zip entry '%s' is encrypted", nm);
	if (z->method != 0)
		return fail(r, "zip entry '%s' is compressed (method %d); only "
		    "stored entries are supported", nm, z->method);
	if (r->fsize < 30 || z->lho > r->fsize - 30 ||
	    rd32(r->file + z->lho) != 0x04034b50)
		return fail(r, "corrupt zip archive: bad local header of '%s'",
		    nm);
	l = r->file + z->lho;
	o = z->lho + 30 + rd16(l + 26) + rd16(l + 28);
	if (o > r->fsize || z->size > r->fsize - o)
		return fail(r, "truncated: zip entry '%s' (%" PRIu64 " bytes) "
		    "runs past the end of the file", nm, z->size);
	if (cmp_bytes((const char *)l + 30, rd16(l + 26), z->name, z->nlen))
		return fail(r, "corrupt zip archive: the local header of '%s' "
		    "names another file", nm);
	*off = (size_t)o;
	if (!z->checked) {
		if (zip_crc32(r->crctab, r->file + o, (size_t)z->size) !=
		    z->crc)
			return fail(r, "zip entry '%s' is corrupt (CRC-32 "
			    "mismatch)", nm);
		z->checked = true;
	}
	return 0;
}

static int
load_zip(struct rd *r, struct obj **root)
{
	struct zentry *z = NULL, *bo;
	struct obj *s;
	const char *slash;
	size_t i, plen, off, next;
	char *name, k[MAX_KEY];
	int rc = -1;

	zip_crc_init(r->crctab);
	if (zip_dir(r) < 0)
		return -1;
	for (i = 0; i < r->nzent && z == NULL; i++) {
		slash = memchr(r->zent[i].name, '/', r->zent[i].nlen);
		if (slash != NULL && slash > r->zent[i].name &&
		    cmp_bytes(slash, r->zent[i].nlen - (size_t)(slash -
		    r->zent[i].name), "/data.pkl", 9) == 0)
			z = &r->zent[i];
	}
	if (z == NULL)
		return fail(r, "not a PyTorch checkpoint (a zip archive "
		    "without ARCHIVE/data.pkl)");
	plen = z->nlen - 8;
	if ((name = malloc(plen + 9 + MAX_KEY)) == NULL)
		return fail(r, "out of memory");
	memcpy(name, z->name, plen);
	memcpy(name + plen, "byteorder", 9);
	if ((bo = zfind(r, name, plen + 9)) != NULL) {
		if (zip_data(r, bo, &off) < 0)
			goto out;
		if (cmp_bytes((const char *)r->file + off, bo->size,
		    "little", 6) != 0) {
			fail(r, "checkpoint not in little-endian byte order");
			goto out;
		}
	}
	if (zip_data(r, z, &off) < 0 ||
	    unpickle(r, off, off + z->size, &next, root) < 0)
		goto out;
	memcpy(name + plen, "data/", 5);
	for (i = 0; i < r->nstor; i++) {
		s = r->stors[i];
		show(k, sizeof(k), s->u.st.key->u.s.p, s->u.st.key->u.s.len);
		memcpy(name + plen + 5, s->u.st.key->u.s.p,
		    s->u.st.key->u.s.len);
		if ((bo = zfind(r, name, plen + 5 + s->u.st.key->u.s.len)) ==
		    NULL) {
			fail(r, "storage '%s' has no data in the archive", k);
			goto out;
		}
		if (zip_data(r, bo, &off) < 0)
			goto out;
		if (s->u.st.numel > bo->size / (uint64_t)s->u.st.st->size) {
			fail(r, "storage '%s' claims %" PRIu64 " elements but "
			    "its data holds only %" PRIu64 " bytes", k,
			    s->u.st.numel, bo->size);
			goto out;
		}
		s->u.st.data = r->file + off;
	}
	rc = 0;
out:
	free(name);
	return rc;
}

static bool
has_tensors(const struct obj *d, bool only)
{
	bool any = false;
	size_t i;

	for (i = 1; i < d->u.c.n; i += 2) {
		if (d->u.c.v[i]->kind == K_TENSOR)
			any = true;
		else if (only)
			return false;
	}
	return any;
}

static int
find_state_dict(struct rd *r, const struct obj *root, const struct obj **sd,
    bool *lightning)
{
	static const char *const keys[] = {
		"state_dict", "model_state_dict", "model"
	};
	const struct obj *v;
	size_t i;

	*lightning = false;
	if (root->kind != K_DICT)
		return fail(r, "the checkpoint holds a %s, not a state dict",
		    kindname[root->kind]);
	*sd = root;
	if (has_tensors(root, true))
		return 0;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = dict_get(root, keys[i]);
		if (v != NULL && v->kind == K_DICT && has_tensors(v, false)) {
			*sd = v;
			*lightning = i == 0;
			return 0;
		}
	}
	if (has_tensors(root, false))
		return 0;
	return fail(r, "no state dict found (no tensors at the top level nor "
	    "under state_dict, model_state_dict or model)");
}

static bool
has_prefix(const struct entry *e, const char *pre)
{
	size_t n = strlen(pre);

	return e->len >= n && memcmp(e->name, pre, n) == 0;
}

static void
strip(struct entry *e, size_t n, const char *pre)
{
	size_t i, len = strlen(pre);

	for (i = 0; i < n; i++) {
		if (has_prefix(&e[i], pre)) {
			e[i].name += len;
			e[i].len -= len;
		}
	}
}

/* The tensors of the state dict with their layout prefixes removed. */
static int
collect(struct rd *r, const struct obj *sd, bool lightning, struct entry **out,
    size_t *nout)
{
	struct entry *e;
	const struct obj *k;
	size_t i, n = 0, m;
	bool student = false;

	if ((e = calloc(sd->u.c.n / 2 + 1, sizeof(*e))) == NULL)
		return fail(r, "out of memory");
	for (i = 0; i + 1 < sd->u.c.n; i += 2) {
		k = sd->u.c.v[i];
		if (sd->u.c.v[i + 1]->kind != K_TENSOR)
			continue;
		if (k->kind != K_STR) {
			free(e);
			return fail(r, "a tensor of the state dict is keyed by "
			    "a %s, not a name", kindname[k->kind]);
		}
		if (memchr(k->u.s.p, '\0', k->u.s.len) != NULL) {
			free(e);
			return fail(r, "a tensor name holds a NUL byte");
		}
		e[n].name = k->u.s.p;
		e[n].len = k->u.s.len;
		e[n].t = sd->u.c.v[i + 1]->u.t;
		n++;
	}
	if (lightning)
		strip(e, n, "model.");
	for (i = 0; i < n; i++)
		student |= has_prefix(&e[i], "student.");
	if (student) {
		for (i = m = 0; i < n; i++)
			if (has_prefix(&e[i], "student."))
				e[m++] = e[i];
		n = m;
		strip(e, n, "student.");
	} else
		strip(e, n, "teacher.");
	strip(e, n, "module.");
	*out = e;
	*nout = n;
	return 0;
}

/* Checks the view of tensor e against its storage; its size in *numel. */
static int
check_tensor(struct rd *r, const struct entry *e, size_t *numel)
{
	const struct tview *t = e->t;
	const struct obj *s = t->storage;
	uint64_t n = 1, last = t->offset, sz, st;
	char nm[MAX_KEY], k[MAX_KEY];
	bool empty = false;
	int d;

	show(nm, sizeof(nm), e->name, e->len);
	show(k, sizeof(k), s->u.st.key->u.s.p, s->u.st.key->u.s.len);
	if (s->u.st.data == NULL)
		return fail(r, "storage '%s' of tensor '%s' has no data", k,
		    nm);
	/* Sizes beside a zero must not overflow either: callers multiply. */
	for (d = 0; d < t->ndim; d++) {
		sz = (uint64_t)t->size[d];
		if (sz == 0)
			empty = true;
		else if (n > (SIZE_MAX / sizeof(float)) / sz)
			return fail(r, "tensor '%s' has too many elements", nm);
		else
			n *= sz;
	}
	*numel = empty ? 0 : (size_t)n;
	if (empty)
		return 0;
	for (d = 0; d < t->ndim; d++) {
		sz = (uint64_t)t->size[d] - 1;
		st = (uint64_t)t->stride[d];
		if (sz != 0 && st > (UINT64_MAX - 1 - last) / sz)
			return fail(r, "tensor '%s' has out-of-range strides",
			    nm);
		last += sz * st;
	}
	if (last >= s->u.st.numel)
		return fail(r, "storage '%s' holds %" PRIu64 " elements but "
		    "tensor '%s' needs %" PRIu64, k, s->u.st.numel, nm,
		    last + 1);
	return 0;
}

static bool
is_contiguous(const struct tview *t)
{
	int64_t want = 1;
	int d;

	for (d = t->ndim - 1; d >= 0; d--) {
		if (t->size[d] != 1 && t->stride[d] != want)
			return false;
		want *= t->size[d];
	}
	return true;
}

/* Copies the view t into dst as n contiguous C-order floats. */
static void
materialise(float *dst, const struct tview *t, size_t n)
{
	const struct stype *st = t->storage->u.st.st;
	const unsigned char *base = t->storage->u.st.data;
	uint64_t idx[MTAG_TENSOR_MAXDIM] = { 0 }, off = t->offset;
	size_t i;
	int d;

	if (is_contiguous(t)) {
		convert(dst, base + off * (uint64_t)st->size, st, n);
		return;
	}
	for (i = 0; i < n; i++) {
		convert(dst + i, base + off * (uint64_t)st->size, st, 1);
		for (d = t->ndim - 1; d >= 0; d--) {
			off += (uint64_t)t->stride[d];
			if (++idx[d] < (uint64_t)t->size[d])
				break;
			off -= (uint64_t)t->stride[d] * (uint64_t)t->size[d];
			idx[d] = 0;
		}
	}
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp((*(const mtag_tensor *const *)a)->name,
	    (*(const mtag_tensor *const *)b)->name);
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a;
	const struct entry *y = *(const struct entry *const *)b;

	return cmp_bytes(x->name, x->len, y->name, y->len);
}

/* Checks the n tensors e (distinct names first, before any large
 * allocation) and copies them out. */
static mtag_ckpt *
build(struct rd *r, struct entry *e, size_t n)
{
	const struct entry **sorted;
	mtag_ckpt *ck = NULL;
	mtag_tensor *t;
	size_t i, total = 0, names = 0;
	float *fp;
	char *np, nm[MAX_KEY];
	int d;

	if (n > INT32_MAX) {
		fail(r, "too many tensors");
		return NULL;
	}
	if ((sorted = malloc((n ? n : 1) * sizeof(*sorted))) == NULL) {
		fail(r, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++)
		sorted[i] = &e[i];
	qsort(sorted, n, sizeof(*sorted), cmp_entry);
	for (i = 1; i < n; i++) {
		if (cmp_entry(&sorted[i - 1], &sorted[i]) == 0) {
			fail(r, "two tensors are called '%s'", show(nm,
			    sizeof(nm), sorted[i]->name, sorted[i]->len));
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		if (check_tensor(r, &e[i], &e[i].numel) < 0)
			goto out;
		if (e[i].t->storage->u.st.st->conv != C_INT) {
			if (e[i].numel > r->fsize - total) {
				fail(r, "its tensors hold more values than a "
				    "%zu-byte file can justify", r->fsize);
				goto out;
			}
			total += e[i].numel;
		}
		names += e[i].len + 1;
	}
	if ((ck = calloc(1, sizeof(*ck))) == NULL ||
	    (ck->path = strdup(r->path)) == NULL ||
	    (ck->t = calloc(n + 1, sizeof(*ck->t))) == NULL ||
	    (ck->byname = calloc(n + 1, sizeof(*ck->byname))) == NULL ||
	    (ck->arena = malloc(total * sizeof(float) + names)) == NULL) {
		mtag_ckpt_free(ck);
		ck = NULL;
		fail(r, "out of memory");
		goto out;
	}
	fp = ck->arena;
	np = (char *)(fp + total);
	for (i = 0; i < n; i++) {
		t = &ck->t[i];
		memcpy(np, e[i].name, e[i].len);
		np[e[i].len] = '\0';
		t->name = np;
		np += e[i].len + 1;
		t->ndim = e[i].t->ndim;
		for (d = 0; d < t->ndim; d++)
			t->shape[d] = e[i].t->size[d];
		t->numel = e[i].numel;
		if (e[i].t->storage->u.st.st->conv != C_INT) {
			materialise(fp, e[i].t, e[i].numel);
			t->data = fp;
			fp += e[i].numel;
		}
		ck->byname[i] = &ck->t[sorted[i] - e];
	}
	ck->n = (int)n;
out:
	free(sorted);
	return ck;
}

static int
slurp(struct rd *r, unsigned char **buf)
{
	struct stat sb;
	FILE *f;
	int rc = -1;

	*buf = NULL;
	if ((f = fopen(r->path, "rb")) == NULL)
		return fail(r, "%s", strerror(errno));
	if (fstat(fileno(f), &sb) != 0)
		fail(r, "%s", strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		fail(r, "not a regular file");
	else if ((uint64_t)sb.st_size > MAX_FILE)
		fail(r, "larger than %llu GB, not a checkpoint of a model mtag "
		    "runs", MAX_FILE >> 30);
	else if ((uint64_t)sb.st_size >= SIZE_MAX ||
	    (*buf = malloc((size_t)sb.st_size + 1)) == NULL)
		fail(r, "out of memory");
	else if (fread(*buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size)
		fail(r, "read error");
	else {
		r->file = *buf;
		r->fsize = (size_t)sb.st_size;
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* Reads the checkpoint r->file holds; frees everything but the result. */
static mtag_ckpt *
load(struct rd *r)
{
	const struct obj *sd = NULL;
	struct obj *root;
	struct entry *e = NULL;
	mtag_ckpt *ck = NULL;
	size_t n = 0;
	bool lightning;
	int rc;

	if (r->fsize == 0)
		rc = fail(r, "not a PyTorch checkpoint (empty file)");
	else if (r->fsize >= 4 && rd32(r->file) == 0x04034b50)
		rc = load_zip(r, &root);
	else if (r->file[0] == 0x80)
		rc = load_legacy(r, &root);
	else
		rc = fail(r, "not a PyTorch checkpoint (neither a zip archive "
		    "nor a pickle stream)");
	if (rc == 0 && find_state_dict(r, root, &sd, &lightning) == 0 &&
	    collect(r, sd, lightning, &e, &n) == 0)
		ck = build(r, e, n);
	free(e);
	free_objects(r);
	free(r->stack);
	free(r->memo);
	free(r->stors);
	free(r->zent);
	return ck;
}

mtag_ckpt *
mtag_ckpt_open(const char *path, char *err, size_t errlen)
{
	struct rd r = { .path = path, .err = err, .errlen = errlen };
	unsigned char *buf;
	mtag_ckpt *ck = NULL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (slurp(&r, &buf) == 0)
		ck = load(&r);
	free(buf);
	return ck;
}

mtag_ckpt *
mtag_ckpt_open_mem(const char *name, const void *data, size_t size,
    char *err, size_t errlen)
{
	struct rd r = { .path = name, .err = err, .errlen = errlen,
	    .file = data, .fsize = size };

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return load(&r);
}

void
mtag_ckpt_free(mtag_ckpt *ck)
{
	if (ck == NULL)
		return;
	free(ck->path);
	free(ck->t);
	free(ck->byname);
	free(ck->arena);
	free(ck);
}

int
mtag_ckpt_count(const mtag_ckpt *ck)
{
	return ck->n;
}

const mtag_tensor *
mtag_ckpt_tensor(const mtag_ckpt *ck, int i)
{
	return i >= 0 && i < ck->n ? &ck->t[i] : NULL;
}

const mtag_tensor *
mtag_ckpt_find(const mtag_ckpt *ck, const char *name)
{
	const mtag_tensor key = { .name = name }, *kp = &key, **hit;

	hit = bsearch(&kp, ck->byname, (size_t)ck->n, sizeof(*ck->byname),
	    cmp_name);
	return hit ? *hit : NULL;
}

const char *
mtag_ckpt_path(const mtag_ckpt *ck)
{
	return ck->path;
}
