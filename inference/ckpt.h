/* Reading PyTorch checkpoints (legacy torch.save and zip formats) without
 * Python: a restricted unpickler that only rebuilds tensors of a state dict. */
#ifndef MTAG_CKPT_H
#define MTAG_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define MTAG_TENSOR_MAXDIM 8

typedef struct mtag_tensor {
	const char *name;	/* state-dict key, layout prefix removed */
	int ndim;
	int64_t shape[MTAG_TENSOR_MAXDIM];
	size_t numel;
	const float *data;	/* float32 (float16 upcast); NULL for integer tensors */
} mtag_tensor;

typedef struct mtag_ckpt mtag_ckpt;

/* Loads every tensor of the checkpoint at path. Names lose the layout
 * prefix: "student." when present (else "teacher."), Lightning's
 * state_dict/"model.", DataParallel's "module.". Returns NULL on failure with
 * a message naming the file and the cause in err. */
mtag_ckpt *mtag_ckpt_open(const char *path, char *err, size_t errlen);
/* Same as mtag_ckpt_open for the size bytes at data, which the caller keeps;
 * name stands for the file in messages and mtag_ckpt_path. */
mtag_ckpt *mtag_ckpt_open_mem(const char *name, const void *data, size_t size,
    char *err, size_t errlen);
void mtag_ckpt_free(mtag_ckpt *ck);

int mtag_ckpt_count(const mtag_ckpt *ck);
const mtag_tensor *mtag_ckpt_tensor(const mtag_ckpt *ck, int i);
/* The tensor called name, or NULL. */
const mtag_tensor *mtag_ckpt_find(const mtag_ckpt *ck, const char *name);
/* The path given to mtag_ckpt_open. */
const char *mtag_ckpt_path(const mtag_ckpt *ck);

#endif
