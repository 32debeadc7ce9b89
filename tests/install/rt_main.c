/*
 * rt_main.c — a program outside the tree that links a compiled model
 * through the installed runtime: cc rt_main.c OUT/model.o
 * $(pkg-config --cflags --libs lfm2rt).  It uses only the installed
 * headers (lfm2rt.h, lfm2_tokenizer.h, lfm2_abi.h) and liblfm2rt.a.
 *
 *   rt_main WEIGHTS TOKENIZER PROMPT N
 *
 * Continues PROMPT greedily for at most N tokens and prints what
 * `lfm2-run --raw -p PROMPT --temp 0 -n N -t 2` prints: the prompt, the
 * continuation (stopping at eos), a newline.  install.sh compares the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lfm2_tokenizer.h"
#include "lfm2rt.h"

extern const lfm2_model_info lfm2_model;

static int fail(const char *msg)
{
	fprintf(stderr, "rt_main: %s\n", msg);
	return 1;
}

/* The whole tokenizer table file, malloc'd. */
static void *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long len = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
	if (len > 0 && !fseek(f, 0, SEEK_SET) && (p = malloc((size_t)len)) && fread(p, 1, (size_t)len, f) != (size_t)len) {
		free(p);
		p = NULL;
	}
	if (f)
		fclose(f);
	*n = len > 0 ? (size_t)len : 0;
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return fail("usage: rt_main WEIGHTS TOKENIZER PROMPT N");
	const lfm2_model_info *m = &lfm2_model;
	lfm2_err err;
	char terr[LFM2_ERR_LEN];
	size_t tn, n_ids;
	void *table = read_file(argv[2], &tn);
	lfm2_tokenizer *tok = NULL;
	if (!table || lfm2_tokenizer_open(table, tn, &tok, terr, sizeof terr))
		return fail(table ? terr : "cannot read the tokenizer table");
	free(table);
	int32_t *ids, ctx = m->max_position < 4096 ? m->max_position : 4096;
	lfm2_weights *w = lfm2_weights_open(argv[1], m, LFM2_WEIGHTS_READ, &err);
	lfm2_pool *pool = w ? lfm2_pool_create(2, &err) : NULL;
	lfm2_session *s = pool ? lfm2_session_create(m, w, ctx, 128, pool, &err) : NULL;
	lfm2_sampler_params sp = lfm2_sampler_default_params();
	sp.temperature = 0;
	sp.repeat_penalty = 1;
	lfm2_sampler *smp = s ? lfm2_sampler_create(&sp, m->vocab_size, &err) : NULL;
	float *logits = malloc((size_t)m->vocab_size * sizeof *logits);
	if (!smp || !logits)
		return fail(err.msg);
	const char *prompt = argv[3];
	if (lfm2_tokenizer_encode(tok, prompt, strlen(prompt), LFM2_ENCODE_ADD_SPECIAL, &ids, &n_ids))
		return fail("out of memory");
	for (size_t i = 0; i < n_ids; i++)
		lfm2_sampler_accept(smp, ids[i]);
	if (lfm2_session_eval(s, ids, (int32_t)n_ids, logits, 0, &err))
		return fail(err.msg);
	fputs(prompt, stdout);
	lfm2_decode_stream ds;
	lfm2_decode_stream_init(&ds, tok, 0);
	const char *piece;
	size_t len;
	for (long k = 0, n = atol(argv[4]); k < n; k++) {
		int32_t id = lfm2_sampler_sample(smp, logits);
		if (id == m->eos_id || id == lfm2_tokenizer_eos(tok))
			break;
		lfm2_sampler_accept(smp, id);
		if (lfm2_decode_stream_push(&ds, id, &piece, &len, terr, sizeof terr))
			return fail(terr);
		fwrite(piece, 1, len, stdout);
		if (k + 1 < n && lfm2_session_eval(s, &id, 1, logits, 0, &err))
			return fail(err.msg);
	}
	if (lfm2_decode_stream_finish(&ds, &piece, &len, terr, sizeof terr))
		return fail(terr);
	fwrite(piece, 1, len, stdout);
	putchar('\n');
	lfm2_decode_stream_free(&ds);
	free(ids);
	free(logits);
	lfm2_sampler_free(smp);
	lfm2_session_free(s);
	lfm2_pool_destroy(pool);
	lfm2_weights_close(w);
	lfm2_tokenizer_close(tok);
	return fflush(stdout) ? fail("cannot write to stdout") : 0;
}
