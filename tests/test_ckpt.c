/* Tests the checkpoint reader: the shared checkpoints against values read by
 * an independent Python script, hand-built layouts, and hostile files (built
 * here, and the committed ones of tests/ckpt-hostile). */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt.h"
#include "testutil.h"

static const struct ckfile {
	const char *rel;
	int count, nint;
} ckfiles[] = {
	{ "models/pretrained/mtat/musicnn/best_model.pth", 72, 10 },
	{ "models/pretrained/jamendo/musicnn/best_model.pth", 72, 10 },
	{ "models/pretrained/mtat/fcn/best_model.pth", 44, 6 },
	{ "models/pretrained/msd/fcn/best_model.pth", 44, 6 },
	{ "models/pretrained/jamendo/fcn/best_model.pth", 44, 6 },
	{ "models/pretrained/mtat/crnn/best_model.pth", 45, 5 },
	{ "models/pretrained/msd/crnn/best_model.pth", 45, 5 },
	{ "models/pretrained/jamendo/crnn/best_model.pth", 45, 5 },
	{ "models/random/random_sample.pth", 79, 11 },
	{ "models/random/random_short.pth", 65, 9 },
	{ "models/random/random_hcnn.pth", 100, 14 },
	{ "models/random/random_se.pth", 228, 26 },
	{ "models/random/random_short_res.pth", 163, 23 },
	{ "models/random/random_attention.pth", 190, 22 },
	{ "models/random/random_transformer.ckpt", 108, 8 },
};

/* The first three values (repeated when fewer), the last, and the sum of
 * value i times (i % 13 + 1), from an independent Python reader. */
static const struct cktensor {
	const char *rel, *name;
	int ndim;
	int64_t shape[4];
	float v[4];
	double wsum;
} cktensors[] = {
	{ "models/pretrained/mtat/musicnn/best_model.pth",
	    "layers.0.conv.weight", 4, { 204, 1, 67, 7 },
	    { 0.023086939f, 0.014966934f, 0.0214509442f, -0.00713810744f },
	    285.3866637744749 },
	{ "models/pretrained/mtat/musicnn/best_model.pth",
	    "dense1.weight", 2, { 200, 1506 },
	    { 0.00034839625f, -0.00109568704f, -0.0140118254f, -0.0174822267f },
	    -342.1144049654016 },
	{ "models/pretrained/mtat/musicnn/best_model.pth",
	    "spec.mel_scale.fb", 2, { 257, 96 },
	    { -0.0f, 0.0f, 0.0f, 0.0f },
	    1773.1150482107187 },
	{ "models/pretrained/mtat/musicnn/best_model.pth",
	    "dense2.bias", 1, { 50 },
	    { -0.0790770203f, -0.108554848f, -0.0986873657f, -0.113651037f },
	    -40.16324994340539 },
	{ "models/pretrained/jamendo/musicnn/best_model.pth",
	    "layer1.conv.weight", 3, { 64, 561, 7 },
	    { -0.0145165445f, -0.0122272763f,
	    0.000291573437f, -0.00150261133f },
	    -838.5020007279855 },
	{ "models/pretrained/jamendo/musicnn/best_model.pth",
	    "dense2.weight", 2, { 50, 200 },
	    { -0.0361822508f, -0.0474371277f, -0.15716891f, -0.0297475308f },
	    -3585.586524842336 },
	{ "models/pretrained/mtat/fcn/best_model.pth",
	    "layer1.conv.weight", 4, { 64, 1, 3, 3 },
	    { -0.0975656956f, 0.174748868f, -0.0409667045f, -0.0702705905f },
	    10.560926789484256 },
	{ "models/pretrained/mtat/fcn/best_model.pth",
	    "dense.bias", 1, { 50 },
	    { -0.0207776371f, 0.0239768978f, -0.0487974957f, -0.158854023f },
	    -36.41922148712911 },
	{ "models/pretrained/msd/fcn/best_model.pth",
	    "layer5.conv.weight", 4, { 64, 128, 3, 3 },
	    { -0.0115364948f, -0.00317115965f,
	    -0.00348977372f, 0.000604771078f },
	    -204.46171994630475 },
	{ "models/pretrained/msd/fcn/best_model.pth",
	    "dense.weight", 2, { 50, 64 },
	    { -0.00023387307f, -0.0875969306f, -0.0595208369f, -0.0290770344f },
	    -1521.4053382650468 },
	{ "models/pretrained/jamendo/fcn/best_model.pth",
	    "spec_bn.running_var", 1, { 1 },
	    { 327.457001f, 327.457001f, 327.457001f, 327.457001f },
	    327.4570007324219 },
	{ "models/pretrained/jamendo/fcn/best_model.pth",
	    "dense.weight", 2, { 50, 64 },
	    { -0.031576626f, -0.127026618f, 0.0117917312f, -0.027384093f },
	    -1339.6829289547222 },
	{ "models/pretrained/mtat/crnn/best_model.pth",
	    "layer5.weight_hh_l0", 2, { 96, 32 },
	    { 0.0128059154f, 0.00463807862f, -0.00978295878f, 0.293849498f },
	    58.691813643529144 },
	{ "models/pretrained/mtat/crnn/best_model.pth",
	    "layer5.bias_hh_l1", 1, { 96 },
	    { 0.03603293f, 0.0217314996f, 0.0618893541f, 0.014612468f },
	    14.93197608506307 },
	{ "models/pretrained/mtat/crnn/best_model.pth",
	    "dense.weight", 2, { 50, 32 },
	    { -0.907425702f, -0.152976617f, 0.11408896f, 0.129711986f },
	    -83.26746166334487 },
	{ "models/pretrained/msd/crnn/best_model.pth",
	    "layer5.weight_ih_l0", 2, { 96, 128 },
	    { 0.00169548567f, 0.00340408157f, -1.44231467e-32f, 0.109470651f },
	    235.72479631376373 },
	{ "models/pretrained/msd/crnn/best_model.pth",
	    "dense.bias", 1, { 50 },
	    { -0.844995737f, -1.03097618f, -1.08532834f, -0.570526659f },
	    -306.3285478949547 },
	{ "models/pretrained/jamendo/crnn/best_model.pth",
	    "layer5.bias_ih_l1", 1, { 96 },
	    { 0.0153410081f, 0.0121988226f, 0.0374738276f, 0.104528829f },
	    0.9855649226810783 },
	{ "models/pretrained/jamendo/crnn/best_model.pth",
	    "layer1.conv.weight", 4, { 64, 1, 3, 3 },
	    { -0.0324908532f, -0.123503156f, 0.0117210774f, 0.0419256017f },
	    7.246823010293374 },
	{ "models/random/random_sample.pth",
	    "layer1.conv.weight", 3, { 128, 1, 3 },
	    { -0.209076285f, 0.131129056f, -0.0672304854f, -0.156800345f },
	    76.69828438735567 },
	{ "models/random/random_sample.pth",
	    "dense.bias", 1, { 50 },
	    { 0.023344975f, -0.0129321758f, 0.0272090249f, 0.0439894646f },
	    1.2446900801733136 },
	{ "models/random/random_short.pth",
	    "spec.mel_scale.fb", 2, { 257, 128 },
	    { -0.0f, 0.0f, 0.0f, 0.0f },
	    1808.0068570952863 },
	{ "models/random/random_short.pth",
	    "dense2.weight", 2, { 50, 512 },
	    { 0.0110481512f, 0.0220963024f, 0.0220963024f, -0.0220963024f },
	    -22.72604639828205 },
	{ "models/random/random_hcnn.pth",
	    "hstft.bw_Q", 1, { 1 },
	    { 1.29999995f, 1.29999995f, 1.29999995f, 1.29999995f },
	    1.2999999523162842 },
	{ "models/random/random_hcnn.pth",
	    "dense2.bias", 1, { 50 },
	    { -0.0306489021f, 0.0321287066f, -0.00671281666f, 0.0200383812f },
	    -1.1171295493841171 },
	{ "models/random/random_se.pth",
	    "layer1.conv_1.weight", 3, { 128, 1, 3 },
	    { -0.120727539f, -0.393310547f, 0.411376953f, -0.401855469f },
	    -58.43039560317993 },
	{ "models/random/random_se.pth",
	    "dense2.weight", 2, { 50, 512 },
	    { -0.0441894531f, -0.0220947266f, -0.0110473633f, 0.0441894531f },
	    18.23919677734375 },
	{ "models/random/random_short_res.pth",
	    "spec_bn.weight", 1, { 1 },
	    { 0.959960938f, 0.959960938f, 0.959960938f, 0.959960938f },
	    0.9599609375 },
	{ "models/random/random_short_res.pth",
	    "dense2.bias", 1, { 50 },
	    { -0.020904541f, 0.0313415527f, -0.0180969238f, 0.0030670166f },
	    2.244757652282715 },
	{ "models/random/random_attention.pth",
	    "dense.weight", 2, { 50, 256 },
	    { -0.0f, -0.0625f, 0.03125f, -0.0625f },
	    10.359375 },
	{ "models/random/random_attention.pth",
	    "dense.bias", 1, { 50 },
	    { 0.048248291f, 0.0388183594f, -0.0411682129f, 0.0184173584f },
	    4.589166641235352 },
	{ "models/random/random_transformer.ckpt",
	    "pos_embedding", 3, { 1, 513, 256 },
	    { 1.11678731f, 2.23357463f, 0.0f, -1.11678731f },
	    -1640.5605269670486 },
	{ "models/random/random_transformer.ckpt",
	    "cls_token", 1, { 256 },
	    { -0.439201057f, -0.434729457f, -0.958877861f, -2.14325261f },
	    15.30010330711957 },
	{ "models/random/random_transformer.ckpt",
	    "mlp_head.1.weight", 2, { 50, 256 },
	    { 0.0156248976f, -0.0f, -0.0624995902f, 0.0624995902f },
	    30.046677516773343 },
};

struct buf {
	unsigned char *p;
	size_t n, cap;
};

struct tspec {
	const char *name, *stype, *key;
	int64_t numel, offset;
	int ndim;
	int64_t size[MTAG_TENSOR_MAXDIM + 1], stride[MTAG_TENSOR_MAXDIM + 1];
};

struct sdata {
	const char *key;
	const void *data;
	size_t elsize, count;
};

struct zfile {
	const char *name;
	const void *data;
	size_t len;
	int method;
};

static void
put(struct buf *b, const void *d, size_t n)
{
	unsigned char *p;
	size_t cap;

	if (b->n + n > b->cap) {
		cap = 2 * (b->n + n);
		if ((p = realloc(b->p, cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
		b->p = p;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

/* Appends a string literal, NUL bytes included. */
#define LIT(b, s)	put((b), (s), sizeof(s) - 1)

static void
raw(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
put_le(struct buf *b, uint64_t v, int n)
{
	unsigned char c;
	int i;

	for (i = 0; i < n; i++) {
		c = (unsigned char)(v >> (8 * i));
		put(b, &c, 1);
	}
}

static void
p_op(struct buf *b, int op)
{
	put_le(b, (unsigned)op, 1);
}

static void
p_str(struct buf *b, const char *s)
{
	p_op(b, 'X');
	put_le(b, strlen(s), 4);
	raw(b, s);
}

static void
p_int(struct buf *b, int64_t v)
{
	if (v >= INT32_MIN && v <= INT32_MAX) {
		p_op(b, 'J');
		put_le(b, (uint64_t)v, 4);
	} else {
		p_op(b, 0x8a);
		p_op(b, 8);
		put_le(b, (uint64_t)v, 8);
	}
}

static void
p_global(struct buf *b, const char *mod, const char *name)
{
	p_op(b, 'c');
	raw(b, mod);
	p_op(b, '\n');
	raw(b, name);
	p_op(b, '\n');
}

static void
p_odict(struct buf *b)
{
	p_global(b, "collections", "OrderedDict");
	LIT(b, ")R");
}

static void
p_tensor(struct buf *b, const struct tspec *t, bool legacy)
{
	int d;

	p_global(b, "torch._utils", "_rebuild_tensor_v2");
	LIT(b, "((");
	p_str(b, "storage");
	p_global(b, "torch", t->stype);
	p_str(b, t->key);
	p_str(b, "cpu");
	p_int(b, t->numel);
	if (legacy)
		p_op(b, 'N');
	LIT(b, "tQ");
	p_int(b, t->offset);
	p_op(b, '(');
	for (d = 0; d < t->ndim; d++)
		p_int(b, t->size[d]);
	LIT(b, "t(");
	for (d = 0; d < t->ndim; d++)
		p_int(b, t->stride[d]);
	LIT(b, "t\x89");
	p_odict(b);
	LIT(b, "tR");
}

/* Items of a dict of tensors, for after "}(" or an OrderedDict and "(". */
static void
p_items(struct buf *b, const struct tspec *t, int n, bool legacy)
{
	int i;

	for (i = 0; i < n; i++) {
		p_str(b, t[i].name);
		p_tensor(b, &t[i], legacy);
	}
}

/* A whole protocol-2 pickle of a plain dict of tensors. */
static void
p_statedict(struct buf *b, const struct tspec *t, int n, bool legacy)
{
	LIT(b, "\x80\x02}(");
	p_items(b, t, n, legacy);
	LIT(b, "u.");
}

static const char legacy_head[] =
    "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    "\x80\x02M\xe9\x03."
    "\x80\x02}(X\x0d\x00\x00\x00little_endian\x88u.";

static void
legacy_file(struct buf *out, const struct buf *obj, const struct sdata *s,
    int ns)
{
	int i;

	put(out, legacy_head, sizeof(legacy_head) - 1);
	put(out, obj->p, obj->n);
	LIT(out, "\x80\x02](");
	for (i = 0; i < ns; i++)
		p_str(out, s[i].key);
	LIT(out, "e.");
	for (i = 0; i < ns; i++) {
		put_le(out, s[i].count, 8);
		put(out, s[i].data, s[i].elsize * s[i].count);
	}
}

/* CRC-32 of zip, bit by bit. */
static uint32_t
zip_crc(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t c = 0xffffffff;
	int k;

	while (n--)
		for (c ^= *b++, k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	return ~c;
}

static void
zip_file(struct buf *out, const struct zfile *f, int nf, bool zip64)
{
	size_t lho[16], cd, cdsize, z64;
	int i;

	for (i = 0; i < nf; i++) {
		lho[i] = out->n;
		put_le(out, 0x04034b50, 4);
		put_le(out, 20, 2);
		put_le(out, 0, 2);
		put_le(out, (unsigned)f[i].method, 2);
		put_le(out, 0, 4);		/* time, date */
		put_le(out, zip_crc(f[i].data, f[i].len), 4);
		put_le(out, f[i].len, 4);
		put_le(out, f[i].len, 4);
		put_le(out, strlen(f[i].name), 2);
		put_le(out, 0, 2);
		raw(out, f[i].name);
		put(out, f[i].data, f[i].len);
	}
	cd = out->n;
	for (i = 0; i < nf; i++) {
		put_le(out, 0x02014b50, 4);
		put_le(out, 45, 2);
		put_le(out, 45, 2);
		put_le(out, 0, 2);
		put_le(out, (unsigned)f[i].method, 2);
		put_le(out, 0, 4);
		put_le(out, zip_crc(f[i].data, f[i].len), 4);
		put_le(out, zip64 ? 0xffffffff : f[i].len, 4);
		put_le(out, zip64 ? 0xffffffff : f[i].len, 4);
		put_le(out, strlen(f[i].name), 2);
		put_le(out, zip64 ? 28 : 0, 2);
		put_le(out, 0, 2);		/* comment length */
		put_le(out, 0, 8);		/* disk, attributes */
		put_le(out, zip64 ? 0xffffffff : lho[i], 4);
		raw(out, f[i].name);
		if (zip64) {
			put_le(out, 1, 2);
			put_le(out, 24, 2);
			put_le(out, f[i].len, 8);
			put_le(out, f[i].len, 8);
			put_le(out, lho[i], 8);
		}
	}
	cdsize = out->n - cd;
	if (zip64) {
		z64 = out->n;
		put_le(out, 0x06064b50, 4);
		put_le(out, 44, 8);
		put_le(out, 45, 2);
		put_le(out, 45, 2);
		put_le(out, 0, 8);
		put_le(out, (unsigned)nf, 8);
		put_le(out, (unsigned)nf, 8);
		put_le(out, cdsize, 8);
		put_le(out, cd, 8);
		put_le(out, 0x07064b50, 4);
		put_le(out, 0, 4);
		put_le(out, z64, 8);
		put_le(out, 1, 4);
	}
	put_le(out, 0x06054b50, 4);
	put_le(out, 0, 4);
	put_le(out, zip64 ? 0xffff : (unsigned)nf, 2);
	put_le(out, zip64 ? 0xffff : (unsigned)nf, 2);
	put_le(out, zip64 ? 0xffffffff : cdsize, 4);
	put_le(out, zip64 ? 0xffffffff : cd, 4);
	put_le(out, 0, 2);
}

/* A zip checkpoint "arch/data.pkl" with storages arch/data/KEY. */
static void
zip_ckpt(struct buf *out, const struct buf *pkl, const struct sdata *s, int ns,
    bool zip64)
{
	struct zfile f[16];
	char names[16][64];
	int i;

	f[0] = (struct zfile){ "arch/data.pkl", pkl->p, pkl->n, 0 };
	f[1] = (struct zfile){ "arch/version", "3\n", 2, 0 };
	f[2] = (struct zfile){ "arch/byteorder", "little", 6, 0 };
	for (i = 0; i < ns; i++) {
		snprintf(names[i], sizeof(names[i]), "arch/data/%s", s[i].key);
		f[3 + i] = (struct zfile){ names[i], s[i].data,
		    s[i].elsize * s[i].count, 0 };
	}
	zip_file(out, f, 3 + ns, zip64);
}

static void
temp_path(char *path, size_t len, const void *p, size_t n)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/test_ckpt.XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0 || write(fd, p, n) != (ssize_t)n) {
		perror(path);
		exit(1);
	}
	close(fd);
}

/* Loads bytes p through a temporary file. */
static mtag_ckpt *
open_bytes(const void *p, size_t n, char *err, size_t errlen)
{
	char path[PATH_MAX];
	mtag_ckpt *ck;

	temp_path(path, sizeof(path), p, n);
	ck = mtag_ckpt_open(path, err, errlen);
	if (ck == NULL && strstr(err, path) == NULL) {
		fprintf(stderr, "error does not name the file: %s\n", err);
		test_failures++;
	}
	unlink(path);
	return ck;
}

static void
reject(const char *what, const void *p, size_t n, const char *needle)
{
	char err[512];
	mtag_ckpt *ck;

	ck = open_bytes(p, n, err, sizeof(err));
	if (ck != NULL || strstr(err, needle) == NULL) {
		fprintf(stderr, "%s: want an error with \"%s\", got: %s\n",
		    what, needle, ck ? "success" : err);
		test_failures++;
	}
	mtag_ckpt_free(ck);
}

static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *p;
	FILE *f;
	long len;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (p = malloc((size_t)len)) == NULL ||
	    fread(p, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*n = (size_t)len;
	return p;
}

static bool
same(float a, float b)
{
	return (isnan(a) && isnan(b)) || (a == b && !signbit(a) == !signbit(b));
}

static bool
values_are(const mtag_tensor *t, const float *want, size_t n)
{
	size_t i;

	if (t == NULL || t->data == NULL || t->numel != n)
		return false;
	for (i = 0; i < n; i++) {
		if (!same(t->data[i], want[i])) {
			fprintf(stderr, "%s[%zu] = %.9g, want %.9g\n", t->name,
			    i, t->data[i], want[i]);
			return false;
		}
	}
	return true;
}

static bool
shape_is(const mtag_tensor *t, int ndim, const int64_t *shape)
{
	int d;

	if (t == NULL || t->ndim != ndim)
		return false;
	for (d = 0; d < ndim; d++)
		if (t->shape[d] != shape[d])
			return false;
	return true;
}

static void
test_shared(void)
{
	char path[PATH_MAX], err[512];
	const struct cktensor *e;
	const mtag_tensor *t;
	mtag_ckpt *ck;
	size_t f, i, k, numel;
	double w;
	int nint, d;

	for (f = 0; f < sizeof(ckfiles) / sizeof(ckfiles[0]); f++) {
		SHARED_PATH(path, ckfiles[f].rel);
		if ((ck = mtag_ckpt_open(path, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			test_failures++;
			continue;
		}
		CHECK(strcmp(mtag_ckpt_path(ck), path) == 0);
		CHECK(mtag_ckpt_count(ck) == ckfiles[f].count);
		CHECK(mtag_ckpt_tensor(ck, -1) == NULL);
		CHECK(mtag_ckpt_tensor(ck, mtag_ckpt_count(ck)) == NULL);
		CHECK(mtag_ckpt_find(ck, "no.such.tensor") == NULL);
		for (i = 0, nint = 0; (int)i < mtag_ckpt_count(ck); i++) {
			t = mtag_ckpt_tensor(ck, (int)i);
			CHECK(mtag_ckpt_find(ck, t->name) == t);
			CHECK(strncmp(t->name, "teacher.", 8) != 0);
			for (d = 0, numel = 1; d < t->ndim; d++)
				numel *= (size_t)t->shape[d];
			CHECK(t->numel == numel);
			nint += t->data == NULL;
		}
		CHECK(nint == ckfiles[f].nint);
		for (k = 0; k < sizeof(cktensors) / sizeof(cktensors[0]); k++) {
			e = &cktensors[k];
			if (strcmp(e->rel, ckfiles[f].rel) != 0)
				continue;
			t = mtag_ckpt_find(ck, e->name);
			if (t == NULL || t->data == NULL ||
			    !shape_is(t, e->ndim, e->shape)) {
				fprintf(stderr, "%s: %s missing or misshapen\n",
				    e->rel, e->name);
				test_failures++;
				continue;
			}
			for (i = 0; i < 3 && i < t->numel; i++)
				CHECK(same(t->data[i], e->v[i]));
			CHECK(same(t->data[t->numel - 1], e->v[3]));
			for (i = 0, w = 0; i < t->numel; i++)
				w += (double)t->data[i] * (double)(i % 13 + 1);
			if (fabs(w - e->wsum) > 1e-9 * (1 + fabs(e->wsum))) {
				fprintf(stderr, "%s: %s weighted sum %.17g, "
				    "want %.17g\n", e->rel, e->name, w,
				    e->wsum);
				test_failures++;
			}
		}
		mtag_ckpt_free(ck);
	}

	SHARED_PATH(path, "models/pretrained/mtat/musicnn/best_model.pth");
	if ((ck = mtag_ckpt_open(path, err, sizeof(err))) != NULL) {
		t = mtag_ckpt_find(ck, "spec_bn.num_batches_tracked");
		CHECK(t != NULL && t->data == NULL && t->ndim == 0 &&
		    t->numel == 1);
		CHECK(strcmp(mtag_ckpt_tensor(ck, 0)->name,
		    "spec.spectrogram.window") == 0);
		mtag_ckpt_free(ck);
	}
}

/* Views, element types, the OrderedDict with _metadata, storage order. */
static void
test_views(void)
{
	static const struct tspec ts[] = {
		{ "w.t", "FloatStorage", "0", 12, 1, 2, { 3, 2 }, { 1, 3 } },
		{ "w.s", "FloatStorage", "0", 12, 11, 0, { 0 }, { 0 } },
		{ "w.e", "FloatStorage", "0", 12, 0, 1, { 0 }, { 1 } },
		{ "w.b", "FloatStorage", "0", 12, 2, 2, { 2, 2 }, { 0, 1 } },
		{ "d", "DoubleStorage", "1", 3, 0, 1, { 3 }, { 1 } },
		{ "h", "HalfStorage", "2", 12, 0, 1, { 12 }, { 1 } },
		{ "bf", "BFloat16Storage", "3", 2, 0, 1, { 2 }, { 1 } },
		{ "n", "LongStorage", "4", 1, 0, 0, { 0 }, { 0 } },
		{ "i", "IntStorage", "5", 2, 0, 1, { 2 }, { 1 } },
		{ "p", "FloatStorage", "0", 12, 4, 1, { 2 }, { 1 } },
	};
	static const float f32[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	static const double f64[3] = { 1.5, -2.25, 1e300 };
	static const uint16_t f16[12] = { 0x0001, 0x03ff, 0x0400, 0x3c00,
	    0xc000, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555, 0x8001 };
	static const uint16_t bf16[2] = { 0x3f80, 0xc040 };
	static const int64_t i64 = 7;
	static const int32_t i32[2] = { 1, 2 };
	static const struct sdata sd[] = {
		{ "5", i32, 4, 2 }, { "4", &i64, 8, 1 }, { "3", bf16, 2, 2 },
		{ "2", f16, 2, 12 }, { "1", f64, 8, 3 }, { "0", f32, 4, 12 },
	};
	static const float want_t[] = { 1, 4, 2, 5, 3, 6 };
	static const float want_b[] = { 2, 3, 2, 3 };
	static const float want_d[] = { 1.5f, -2.25f, INFINITY };
	static const float want_h[] = { 0x1p-24f, 0x3ffp-24f, 0x1p-14f, 1.0f,
	    -2.0f, 65504.0f, INFINITY, -INFINITY, NAN, -0.0f, 0x1.554p-2f,
	    -0x1p-24f };
	static const float want_bf[] = { 1.0f, -3.0f };
	static const float want_p[] = { 4, 5 };
	struct buf obj = { 0 }, file = { 0 }, zip = { 0 };
	char err[512];
	mtag_ckpt *ck;
	int pass;

	/* An OrderedDict with items, a _rebuild_parameter, then _metadata. */
	LIT(&obj, "\x80\x02");
	p_odict(&obj);
	p_op(&obj, '(');
	p_items(&obj, ts, 9, true);
	p_str(&obj, ts[9].name);
	p_global(&obj, "torch._utils", "_rebuild_parameter");
	p_op(&obj, '(');
	p_tensor(&obj, &ts[9], true);
	p_op(&obj, 0x88);
	p_odict(&obj);
	LIT(&obj, "tRu}(");
	p_str(&obj, "_metadata");
	p_odict(&obj);
	p_op(&obj, '(');
	p_str(&obj, "");
	LIT(&obj, "}(");
	p_str(&obj, "version");
	LIT(&obj, "K\x01uuub.");
	legacy_file(&file, &obj, sd, 6);

	/* The same object as data.pkl of a ZIP64 archive. */
	obj.n = 0;
	LIT(&obj, "\x80\x02}(");
	p_items(&obj, ts, 10, false);
	LIT(&obj, "u.");
	zip_ckpt(&zip, &obj, sd, 6, true);

	for (pass = 0; pass < 2; pass++) {
		ck = pass == 0 ? open_bytes(file.p, file.n, err, sizeof(err)) :
		    open_bytes(zip.p, zip.n, err, sizeof(err));
		if (ck == NULL) {
			fprintf(stderr, "%s\n", err);
			test_failures++;
			continue;
		}
		CHECK(mtag_ckpt_count(ck) == 10);
		CHECK(strcmp(mtag_ckpt_tensor(ck, 0)->name, "w.t") == 0);
		CHECK(shape_is(mtag_ckpt_find(ck, "w.t"), 2,
		    (const int64_t[]){ 3, 2 }));
		CHECK(values_are(mtag_ckpt_find(ck, "w.t"), want_t, 6));
		CHECK(shape_is(mtag_ckpt_find(ck, "w.s"), 0, NULL));
		CHECK(values_are(mtag_ckpt_find(ck, "w.s"),
		    (const float[]){ 11 }, 1));
		CHECK(mtag_ckpt_find(ck, "w.e") != NULL &&
		    mtag_ckpt_find(ck, "w.e")->numel == 0);
		CHECK(values_are(mtag_ckpt_find(ck, "w.b"), want_b, 4));
		CHECK(values_are(mtag_ckpt_find(ck, "d"), want_d, 3));
		CHECK(values_are(mtag_ckpt_find(ck, "h"), want_h, 12));
		CHECK(values_are(mtag_ckpt_find(ck, "bf"), want_bf, 2));
		CHECK(values_are(mtag_ckpt_find(ck, "p"), want_p, 2));
		CHECK(mtag_ckpt_find(ck, "n") != NULL &&
		    mtag_ckpt_find(ck, "n")->data == NULL);
		CHECK(mtag_ckpt_find(ck, "i") != NULL &&
		    mtag_ckpt_find(ck, "i")->data == NULL &&
		    mtag_ckpt_find(ck, "i")->numel == 2);
		CHECK(mtag_ckpt_find(ck, "_metadata") == NULL);
		mtag_ckpt_free(ck);
	}
	free(obj.p);
	free(file.p);
	free(zip.p);
}

/* Loads bytes and checks the tensor names, in order, and that tensor 0
 * holds the values of storage "0" from element want0 on. */
static void
expect_names(const char *what, const struct buf *b, const char *const *names,
    int n, float want0)
{
	char err[512];
	mtag_ckpt *ck;
	int i;

	if ((ck = open_bytes(b->p, b->n, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", what, err);
		test_failures++;
		return;
	}
	if (mtag_ckpt_count(ck) != n) {
		fprintf(stderr, "%s: %d tensors, want %d\n", what,
		    mtag_ckpt_count(ck), n);
		test_failures++;
	} else {
		for (i = 0; i < n; i++) {
			if (strcmp(mtag_ckpt_tensor(ck, i)->name, names[i])) {
				fprintf(stderr, "%s: tensor %d is '%s', want "
				    "'%s'\n", what, i,
				    mtag_ckpt_tensor(ck, i)->name, names[i]);
				test_failures++;
			}
		}
		CHECK(mtag_ckpt_tensor(ck, 0)->data != NULL &&
		    mtag_ckpt_tensor(ck, 0)->data[0] == want0);
	}
	mtag_ckpt_free(ck);
}

static void
test_layouts(void)
{
	static const float f[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const struct sdata sd[] = { { "0", f, 4, 8 } };
	struct tspec ts[3] = {
		{ NULL, "FloatStorage", "0", 8, 0, 1, { 2 }, { 1 } },
		{ NULL, "FloatStorage", "0", 8, 2, 1, { 2 }, { 1 } },
		{ NULL, "FloatStorage", "0", 8, 4, 1, { 2 }, { 1 } },
	};
	struct buf pkl = { 0 }, file = { 0 };

	/* The student tensors win over the teacher ones. */
	ts[0].name = "teacher.a";
	ts[1].name = "student.a";
	ts[2].name = "student.b";
	p_statedict(&pkl, ts, 3, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	expect_names("student", &file, (const char *[]){ "a", "b" }, 2, 2);

	/* Teacher only, legacy: the prefix goes where present. */
	pkl.n = file.n = 0;
	ts[0].name = "teacher.x";
	ts[1].name = "y";
	p_statedict(&pkl, ts, 2, true);
	legacy_file(&file, &pkl, sd, 1);
	expect_names("teacher", &file, (const char *[]){ "x", "y" }, 2, 0);

	/* DataParallel. */
	pkl.n = file.n = 0;
	ts[0].name = "module.conv.weight";
	ts[1].name = "module.conv.bias";
	p_statedict(&pkl, ts, 2, true);
	legacy_file(&file, &pkl, sd, 1);
	expect_names("module", &file,
	    (const char *[]){ "conv.weight", "conv.bias" }, 2, 0);

	/* PyTorch Lightning: state_dict with model., among other things. */
	pkl.n = file.n = 0;
	ts[0].name = "model.enc.w";
	ts[1].name = "model.enc.b";
	LIT(&pkl, "\x80\x02}(");
	p_str(&pkl, "epoch");
	p_int(&pkl, 3);
	p_str(&pkl, "hyper_parameters");
	LIT(&pkl, "}(");
	p_str(&pkl, "lr");
	LIT(&pkl, "G\x3f\xb9\x99\x99\x99\x99\x99\x9au");
	p_str(&pkl, "state_dict");
	p_odict(&pkl);
	p_op(&pkl, '(');
	p_items(&pkl, ts, 2, false);
	p_op(&pkl, 'u');
	p_str(&pkl, "optimizer_states");
	LIT(&pkl, "](}e");
	p_str(&pkl, "loops");
	LIT(&pkl, "Nu.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	expect_names("lightning", &file,
	    (const char *[]){ "enc.w", "enc.b" }, 2, 0);

	/* Lightning around a student and a teacher. */
	pkl.n = file.n = 0;
	ts[0].name = "model.teacher.a";
	ts[1].name = "model.student.a";
	LIT(&pkl, "\x80\x02}(");
	p_str(&pkl, "state_dict");
	LIT(&pkl, "}(");
	p_items(&pkl, ts, 2, false);
	LIT(&pkl, "uu.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	expect_names("lightning student", &file, (const char *[]){ "a" }, 1,
	    2);

	/* The old four-argument _rebuild_tensor. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02}(");
	p_str(&pkl, "old");
	p_global(&pkl, "torch._utils", "_rebuild_tensor");
	LIT(&pkl, "((");
	p_str(&pkl, "storage");
	p_global(&pkl, "torch", "FloatStorage");
	p_str(&pkl, "0");
	p_str(&pkl, "cpu");
	LIT(&pkl, "K\x08NtQK\x06K\x02\x85K\x01\x85tRu.");
	legacy_file(&file, &pkl, sd, 1);
	expect_names("_rebuild_tensor", &file, (const char *[]){ "old" }, 1,
	    6);

	/* A training checkpoint: model_state_dict, names kept as they are. */
	pkl.n = file.n = 0;
	ts[0].name = "model.w";
	ts[1].name = "head.w";
	LIT(&pkl, "\x80\x02}(");
	p_str(&pkl, "epoch");
	p_int(&pkl, 1);
	p_str(&pkl, "model_state_dict");
	LIT(&pkl, "}(");
	p_items(&pkl, ts, 2, true);
	LIT(&pkl, "uu.");
	legacy_file(&file, &pkl, sd, 1);
	expect_names("model_state_dict", &file,
	    (const char *[]){ "model.w", "head.w" }, 2, 0);

	/* Protocol 4 opcodes around a tensor and non-tensor values. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x04\x95");
	put_le(&pkl, 0, 8);
	LIT(&pkl, "}\x94(\x8c\x01t\x94\x8c\x0ctorch._utils\x94"
	    "\x8c\x12_rebuild_tensor_v2\x94\x93\x94(("
	    "\x8c\x07storage\x8c\x05torch\x8c\x0c" "FloatStorage\x93"
	    "\x8c\x01" "0\x8c\x03" "cpuK\x08tQK\x05K\x03\x85K\x01\x85\x89"
	    "\x8c\x0b" "collections\x8c\x0bOrderedDict\x93)\x81tR"
	    "\x8c\x01s\x8f(K\x01K\x02\x90"
	    "\x8c\x01" "f(K\x01\x91"
	    "\x8c\x01" "b" "C\x02" "ab"
	    "\x8c\x01u\x8d\x02\x00\x00\x00\x00\x00\x00\x00hi"
	    "\x8c\x01" "B\x8e\x01\x00\x00\x00\x00\x00\x00\x00z"
	    "\x8c\x01l\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09"
	    "\x8c\x01" "d" "K\x05" "20"
	    "\x8c\x01m(K\x01K\x02" "1N"
	    "\x8c\x01g" "h\x01"
	    "u.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	expect_names("protocol 4", &file, (const char *[]){ "t" }, 1, 5);

	free(pkl.p);
	free(file.p);
}

/* Rejections of hand-built files. */
static void
test_hostile(void)
{
	static const float f[64];
	static const struct sdata sd[] = { { "0", f, 4, 10 } };
	static const struct sdata sd64[] = { { "0", f, 4, 64 } };
	static const char posix_system[] =
	    "\x80\x02" "cposix\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02"
	    "Rq\x03.";
	struct tspec t = { "layer1.weight", "FloatStorage", "0", 10, 0, 2,
	    { 8, 8 }, { 8, 1 } };
	struct buf pkl = { 0 }, file = { 0 };
	char path[PATH_MAX], err[512];
	int i;

	/* Code execution attempts, wherever a pickle is read. */
	put(&file, posix_system, sizeof(posix_system) - 1);
	reject("global as magic", file.p, file.n, "refusing global "
	    "posix.system");
	file.n = 0;
	put(&pkl, posix_system, sizeof(posix_system) - 1);
	legacy_file(&file, &pkl, sd, 0);
	reject("global as object", file.p, file.n, "refusing global "
	    "posix.system");
	file.n = 0;
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("global in zip", file.p, file.n, "refusing global "
	    "posix.system");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93\x8c\x01xR.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("stack global", file.p, file.n, "refusing global builtins.eval");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02" "c__builtin__\nexec\n.");
	legacy_file(&file, &pkl, sd, 0);
	reject("exec", file.p, file.n, "refusing global __builtin__.exec");

	/* REDUCE of something REDUCE built. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02");
	p_odict(&pkl);
	LIT(&pkl, ")R.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("reduce chain", file.p, file.n, "calls a dict");
	/* A tensor whose storage is a tensor. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02}(X\x01\x00\x00\x00w");
	p_global(&pkl, "torch._utils", "_rebuild_tensor_v2");
	p_op(&pkl, '(');
	p_tensor(&pkl, &t, false);
	LIT(&pkl, "K\x00(K\x01t(K\x01t\x89NtRu.");
	zip_ckpt(&file, &pkl, sd64, 1, false);
	reject("nested tensor", file.p, file.n, "malformed tensor");
	/* A storage class called directly. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02");
	p_global(&pkl, "torch", "FloatStorage");
	LIT(&pkl, "(K\x05tR.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("storage call", file.p, file.n, "calls storage class");

	/* Nesting, unknown opcodes, memo misuse. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02");
	for (i = 0; i < 100000; i++)
		p_op(&pkl, '(');
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("deep marks", file.p, file.n, "nested deeper");
	/* Lists nested 900000 deep: 1.8 MB of pickle, 100+ MB of objects. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02");
	for (i = 0; i < 900000; i++)
		p_op(&pkl, ']');
	for (i = 1; i < 900000; i++)
		p_op(&pkl, 'a');
	p_op(&pkl, '.');
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("memory", file.p, file.n, "pickle needs more than 64 MB");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02(cos\nsystem\nX\x02\x00\x00\x00lsi.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("os.system", file.p, file.n, "refusing global os.system");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02(X\x02\x00\x00\x00lsi__main__\nx\n.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("INST", file.p, file.n, "unsupported pickle opcode 0x69");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02P0\n.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("PERSID", file.p, file.n, "unsupported pickle opcode 0x50");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02h\x07.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("memo", file.p, file.n, "memo 7 unset");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02}r\xff\xff\xff\x7f.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("memo index", file.p, file.n, "memo index 2147483647");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02X\xff\xff\xff\x7f" "abc.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("string length", file.p, file.n, "truncated");

	/* Storages too small, or claiming too much. */
	pkl.n = file.n = 0;
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("short storage", file.p, file.n, "storage '0' holds 10 "
	    "elements but tensor 'layer1.weight' needs 64");
	file.n = 0;
	legacy_file(&file, &pkl, sd, 1);
	reject("short legacy storage", file.p, file.n, "storage '0' holds 10 "
	    "elements but tensor 'layer1.weight' needs 64");
	pkl.n = file.n = 0;
	t.numel = 2684354560;
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("huge zip storage", file.p, file.n, "storage '0' claims "
	    "2684354560 elements but its data holds only 40 bytes");
	file.n = 0;
	legacy_file(&file, &pkl, (const struct sdata[]){ { "0", f, 4, 2 } },
	    1);
	file.n -= 8 + 8;
	put_le(&file, 2684354560, 8);
	reject("huge legacy storage", file.p, file.n, "storage '0' claims "
	    "2684354560 elements but the file has only 0 bytes left");
	/* A broadcast view of a billion elements over one float. */
	pkl.n = file.n = 0;
	t = (struct tspec){ "big", "FloatStorage", "0", 1, 0, 2,
	    { 100000, 100000 }, { 0, 0 } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("huge view", file.p, file.n, "more values than");
	pkl.n = file.n = 0;
	t = (struct tspec){ "w", "FloatStorage", "0", 10, 0, 1, { 2 },
	    { INT64_MAX } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("stride overflow", file.p, file.n, "storage '0' holds 10");
	pkl.n = file.n = 0;
	t = (struct tspec){ "w", "FloatStorage", "0", 10, 0, 9,
	    { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1 } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("9 dimensions", file.p, file.n, "malformed tensor");
	pkl.n = file.n = 0;
	t = (struct tspec){ "w", "FloatStorage", "0", 10, -1, 1, { 2 }, { 1 } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("negative offset", file.p, file.n, "malformed tensor");
	pkl.n = file.n = 0;
	t = (struct tspec){ "w", "FloatStorage", "7", 10, 0, 1, { 2 }, { 1 } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("missing storage", file.p, file.n, "storage '7' has no data");
	file.n = 0;
	legacy_file(&file, &pkl, sd, 1);
	reject("unused storage", file.p, file.n, "storage '0' is listed but "
	    "no tensor uses it");
	pkl.n = file.n = 0;
	t = (struct tspec){ "w", "ComplexFloatStorage", "0", 1, 0, 0, { 0 },
	    { 0 } };
	p_statedict(&pkl, &t, 1, false);
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("complex", file.p, file.n, "refusing global "
	    "torch.ComplexFloatStorage");

	/* Not state dicts. */
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02](K\x01K\x02" "e.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("list", file.p, file.n, "holds a list, not a state dict");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02}(X\x05\x00\x00\x00" "epochK\x01u.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("no tensors", file.p, file.n, "no state dict found");
	pkl.n = file.n = 0;
	t = (struct tspec){ "module.a", "FloatStorage", "0", 10, 0, 1, { 2 },
	    { 1 } };
	LIT(&pkl, "\x80\x02}(");
	p_items(&pkl, &t, 1, false);
	t.name = "a";
	p_items(&pkl, &t, 1, false);
	LIT(&pkl, "u.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("duplicate", file.p, file.n, "two tensors are called 'a'");

	/* One tensor under one name 100000 times, through the memo. */
	pkl.n = file.n = 0;
	t = (struct tspec){ "a", "FloatStorage", "0", 10, 0, 1, { 2 }, { 1 } };
	LIT(&pkl, "\x80\x02}(");
	p_str(&pkl, t.name);
	LIT(&pkl, "q\x01");
	p_tensor(&pkl, &t, false);
	LIT(&pkl, "q\x02");
	for (i = 0; i < 100000; i++)
		LIT(&pkl, "h\x01h\x02");
	LIT(&pkl, "u.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("aliased names", file.p, file.n, "two tensors are called 'a'");
	pkl.n = file.n = 0;
	LIT(&pkl, "\x80\x02}(X\x03\x00\x00\x00" "a\x00" "b");
	p_tensor(&pkl, &t, false);
	LIT(&pkl, "u.");
	zip_ckpt(&file, &pkl, sd, 1, false);
	reject("NUL in name", file.p, file.n, "NUL byte");

	/* Containers. */
	temp_path(path, sizeof(path), "PK\x03\x04", 4);
	CHECK(truncate(path, 5LL << 30) == 0);
	CHECK(mtag_ckpt_open(path, err, sizeof(err)) == NULL &&
	    strstr(err, "larger than 4 GB") != NULL);
	unlink(path);
	reject("text", "hello\n", 6, "not a PyTorch checkpoint");
	reject("empty", "", 0, "not a PyTorch checkpoint");
	file.n = 0;
	put(&file, legacy_head, 15);
	file.p[8] ^= 1;
	reject("magic", file.p, file.n, "bad magic number");
	pkl.n = file.n = 0;
	zip_file(&file, (const struct zfile[]){ { "a/b.txt", "x", 1, 0 } }, 1,
	    false);
	reject("zip without pickle", file.p, file.n,
	    "without ARCHIVE/data.pkl");
	file.n = 0;
	zip_file(&file, (const struct zfile[]){ { "a/data.pkl", "x", 1, 8 } },
	    1, false);
	reject("deflated", file.p, file.n, "compressed (method 8)");
	file.n = 0;
	zip_file(&file, (const struct zfile[]){ { "a/data.pkl", "\x80\x02}.",
	    4, 0 }, { "a/byteorder", "big", 3, 0 } }, 2, false);
	reject("big endian", file.p, file.n, "little-endian");
	file.n -= 22;
	reject("no eocd", file.p, file.n, "truncated");

	free(pkl.p);
	free(file.p);
}

/* Rejections of damaged copies of real checkpoints. */
static void
test_damaged(void)
{
	static const unsigned char fb_numel[] = "cuda:0q\x10M\x60\x60";
	char path[PATH_MAX];
	unsigned char *p, *q;
	size_t n;

	SHARED_PATH(path, "models/pretrained/mtat/musicnn/best_model.pth");
	p = slurp(path, &n);
	reject("cut in the pickle", p, 5000, "truncated: pickle");
	reject("cut in the data", p, n / 2, "truncated: storage");
	p[5] ^= 0x40;
	reject("bad magic", p, n, "bad magic number");
	p[5] ^= 0x40;
	/* The pickle says the mel filterbank storage holds 10 elements. */
	for (q = p; q + sizeof(fb_numel) - 1 < p + 10948; q++)
		if (memcmp(q, fb_numel, sizeof(fb_numel) - 1) == 0)
			break;
	if (q + sizeof(fb_numel) - 1 >= p + 10948)
		q = NULL;
	CHECK(q != NULL);
	if (q != NULL) {
		q[sizeof(fb_numel) - 3] = 10;
		q[sizeof(fb_numel) - 2] = 0;
		reject("short storage", p, n, "storage '60434192' holds 10 "
		    "elements but tensor 'spec.mel_scale.fb' needs 24672");
		q[sizeof(fb_numel) - 3] = 0x60;
		q[sizeof(fb_numel) - 2] = 0x60;
	}
	/* The first storage (the 512-sample window) claims 10 GB; its count
	 * follows the key list, which ends at offset 10948 (pickletools). */
	CHECK(memcmp(p + 10948, "\x00\x02\0\0\0\0\0\0", 8) == 0);
	memcpy(p + 10948, "\x00\x00\x00\xa0\0\0\0\0", 8);
	reject("huge storage", p, n, "storage '2773587088' claims 2684354560 "
	    "elements but the file has only");
	free(p);

	SHARED_PATH(path, "models/random/random_se.pth");
	p = slurp(path, &n);
	reject("cut zip", p, n / 2, "truncated");
	free(p);
}

/* The files of tests/ckpt-hostile (made by its make.py, which says how) and
 * the cause each must be refused for. */
static const struct hostile {
	const char *file, *cause;
} hostile_files[] = {
	{ "os-system-legacy.pth", "refusing global os.system" },
	{ "posix-system-zip.pth", "refusing global posix.system" },
	{ "builtins-eval.pth", "refusing global builtins.eval" },
	{ "builtins-exec-magic.pth", "refusing global builtins.exec" },
	{ "subprocess-popen.pth", "refusing global subprocess.Popen" },
	{ "builtin-getattr.pth", "refusing global __builtin__.getattr" },
	{ "inst-opcode.pth", "unsupported pickle opcode 0x69 (INST)" },
	{ "obj-opcode.pth", "unsupported pickle opcode 0x6f (OBJ)" },
	{ "newobj-ex.pth", "unsupported pickle opcode 0x92 (NEWOBJ_EX)" },
	{ "newobj-storage.pth", "builds something other than an empty "
	    "OrderedDict" },
	{ "build-tensor.pth", "BUILD of a tensor with a dict" },
	{ "reduce-chain-100k.pth", "OrderedDict built from arguments" },
	{ "eval-chain-100k.pth", "refusing global builtins.eval" },
	{ "deep-lists.pth", "holds a list, not a state dict" },
	{ "deep-dicts.pth", "no state dict found" },
	{ "deep-marks.pth", "pickle nested deeper than 64" },
	{ "memo-flood.pth", "pickle memo index 4000000000 out of range" },
	{ "storage-past-end.pth", "storage '0' claims 1000 elements but its "
	    "data holds only 24 bytes" },
	{ "offset-past-end.pth", "storage '0' holds 6 elements but tensor "
	    "'conv.weight' needs 102" },
	{ "numel-overflow.pth", "tensor 'conv.weight' has too many elements" },
	{ "numel-overflow-empty.pth", "tensor 'conv.weight' has too many "
	    "elements" },
	{ "stride-overflow.pth", "tensor 'conv.weight' has out-of-range "
	    "strides" },
	{ "negative-size.pth", "malformed tensor" },
	{ "negative-stride.pth", "malformed tensor" },
	{ "negative-numel.pth", "malformed persistent id" },
	{ "legacy-10gb.pth", "storage '1' claims 2500000000 elements but the "
	    "file has only 800 bytes left" },
	{ "zip-10gb-view.pth", "its tensors hold more values than a 684-byte "
	    "file can justify" },
	{ "zip-4gb-member.pth", "zip entry 'archive/data/0' (4294967296 "
	    "bytes) runs past the end" },
	{ "zip-dotdot.pth", "zip entry '../../etc/cron.d/x' has an unsafe "
	    "name" },
	{ "zip-dotdot-archive.pth", "zip entry '../archive/data.pkl' has an "
	    "unsafe name" },
	{ "zip-absolute.pth", "zip entry '/etc/passwd' has an unsafe name" },
	{ "zip-duplicate.pth", "zip archive holds 'archive/data/0' twice" },
	{ "zip-deflated-data.pth", "zip entry 'archive/data/0' is compressed "
	    "(method 8)" },
	{ "zip-bomb.pth", "zip entry 'archive/data/0' is compressed "
	    "(method 8)" },
	{ "zip-crc-data.pth", "zip entry 'archive/data/0' is corrupt (CRC-32 "
	    "mismatch)" },
	{ "zip-crc-pickle.pth", "zip entry 'archive/data.pkl' is corrupt "
	    "(CRC-32 mismatch)" },
	{ "zip-encrypted.pth", "zip entry 'archive/data.pkl' is encrypted" },
	{ "zip-local-name.pth", "the local header of 'archive/data/0' names "
	    "another file" },
	{ "zip-cd-past-end.pth", "truncated: the zip central directory runs "
	    "past the end" },
	{ "zip-lho-past-end.pth", "bad local header of 'archive/data/0'" },
	{ "zip-entry-count.pth", "65000 entries in a 246-byte central "
	    "directory" },
	{ "zip64-locator-past-end.pth", "bad ZIP64 end of central directory" },
	{ "legacy-wrong-magic.pth", "bad magic number" },
	{ "legacy-wrong-protocol.pth", "unsupported legacy checkpoint protocol "
	    "version 1000" },
	{ "legacy-big-endian.pth", "big-endian checkpoint" },
	{ "half-odd-length.pth", "storage '0' claims 3 elements but its data "
	    "holds only 5 bytes" },
	{ "bf16-odd-length.pth", "truncated: storage '0' needs 8 bytes but "
	    "only 7 are left" },
	{ "cut-legacy-magic.pth", "truncated: pickle starting at offset 0 has "
	    "no STOP" },
	{ "cut-legacy-protocol.pth", "truncated: pickle starting at offset 15 "
	    "has no STOP" },
	{ "cut-legacy-sysinfo.pth", "truncated: pickle starting at offset 21 "
	    "has no STOP" },
	{ "cut-legacy-object.pth", "truncated: pickle starting at offset 121 "
	    "has no STOP" },
	{ "cut-legacy-keys.pth", "truncated: pickle starting at offset 342 "
	    "has no STOP" },
	{ "cut-legacy-count.pth", "truncated: the data of storage '0' is "
	    "missing" },
	{ "cut-legacy-data.pth", "truncated: storage '0' needs 24 bytes but "
	    "only 12 are left" },
	{ "cut-zip-local-header.pth", "truncated: no zip end of central "
	    "directory" },
	{ "cut-zip-pickle.pth", "truncated: no zip end of central directory" },
	{ "cut-zip-data.pth", "truncated: no zip end of central directory" },
	{ "cut-zip-central-dir.pth", "truncated: no zip end of central "
	    "directory" },
	{ "cut-zip-cd-entry.pth", "truncated: no zip end of central "
	    "directory" },
	{ "cut-zip-eocd.pth", "truncated: no zip end of central directory" },
	{ "cut-zip-eocd-end.pth", "truncated: no zip end of central "
	    "directory" },
};

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define HOSTILE_AS	(512UL << 20)	/* address space of a load */
#define HOSTILE_RSS_KB	(64L << 10)	/* growth of the peak RSS */

/* Child process: loads path, which must be refused for cause, within
 * HOSTILE_AS of address space (but under ASan, which reserves terabytes)
 * and HOSTILE_RSS_KB more peak RSS. */
static void
refuse_child(const char *path, const char *cause)
{
	struct rlimit rl = { HOSTILE_AS, HOSTILE_AS };
	struct rusage before, after;
	mtag_ckpt *ck;
	char err[512];
	size_t n = strlen(path);
	int rc = 0;

#ifndef UNDER_ASAN
	if (setrlimit(RLIMIT_AS, &rl) != 0) {
		perror("setrlimit");
		exit(1);
	}
#else
	(void)rl;
#endif
	getrusage(RUSAGE_SELF, &before);
	ck = mtag_ckpt_open(path, err, sizeof(err));
	getrusage(RUSAGE_SELF, &after);
	if (ck != NULL) {
		fprintf(stderr, "%s: loaded, want refused (%s)\n", path, cause);
		mtag_ckpt_free(ck);
		rc = 1;
	} else if (strncmp(err, path, n) != 0 || strncmp(err + n, ": ", 2) ||
	    strstr(err + n, cause) == NULL) {
		fprintf(stderr, "want \"%s: ...%s...\", got: %s\n", path,
		    cause, err);
		rc = 1;
	}
	if (after.ru_maxrss - before.ru_maxrss > HOSTILE_RSS_KB) {
		fprintf(stderr, "%s: peak RSS grew by %ld KB\n", path,
		    after.ru_maxrss - before.ru_maxrss);
		rc = 1;
	}
	fflush(stderr);
	exit(rc);
}

/* Every file of tests/ckpt-hostile (under $srcdir, which the test harness
 * sets) is refused with its cause, each in a child process, which must not
 * crash. */
static void
test_hostile_files(void)
{
	const char *top = getenv("srcdir");
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	size_t i, n = sizeof(hostile_files) / sizeof(hostile_files[0]);
	pid_t pid;
	DIR *d;
	int status;

	snprintf(dir, sizeof(dir), "%s/tests/ckpt-hostile",
	    top && *top ? top : ".");
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: cannot list (set srcdir to the source "
		    "tree)\n", dir);
		CHECK(d != NULL);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 4 || strcmp(de->d_name + n - 4, ".pth") != 0)
			continue;
		for (i = 0; i < sizeof(hostile_files) /
		    sizeof(hostile_files[0]); i++)
			if (strcmp(hostile_files[i].file, de->d_name) == 0)
				break;
		if (i == sizeof(hostile_files) / sizeof(hostile_files[0])) {
			fprintf(stderr, "%s/%s: no expected cause\n", dir,
			    de->d_name);
			test_failures++;
		}
	}
	closedir(d);
	for (i = 0; i < sizeof(hostile_files) / sizeof(hostile_files[0]);
	    i++) {
		snprintf(path, sizeof(path), "%s/%s", dir,
		    hostile_files[i].file);
		fflush(stderr);
		if ((pid = fork()) < 0) {
			perror("fork");
			test_failures++;
			return;
		}
		if (pid == 0)
			refuse_child(path, hostile_files[i].cause);
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			test_failures++;
		} else if (WIFSIGNALED(status)) {
			fprintf(stderr, "%s: killed by signal %d\n", path,
			    WTERMSIG(status));
			test_failures++;
		} else if (WEXITSTATUS(status) != 0)
			test_failures++;
	}
}

int
main(void)
{
	char err[512];

	/* First, while the peak RSS its children inherit is small. */
	test_hostile_files();
	if (test_failures) {
		fprintf(stderr, "%d failures\n", test_failures);
		return 1;
	}
	test_shared_dir();
	mtag_ckpt_free(NULL);
	CHECK(mtag_ckpt_open("/nonexistent/x.pth", err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent/x.pth: ") != NULL);
	test_shared();
	test_views();
	test_layouts();
	test_hostile();
	test_damaged();
	if (test_failures)
		fprintf(stderr, "%d failures\n", test_failures);
	return test_failures ? 1 : 0;
}
