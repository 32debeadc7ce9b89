/*
 * main.c — a program with a language model inside: it answers prompts
 * with the model that `lfm2c compile --emit lib` made into OUT/libmodel.a.
 *
 *   lfm2c compile examples/trained-tiny -o OUT --emit lib --embed-weights
 *   cc -O2 -I OUT examples/embed/main.c OUT/libmodel.a -lm -lpthread -o embed
 *   ./embed "What is free software?"
 *
 * (or with CMake: cmake -S examples/embed -B b -DLFM2_OUT=OUT && cmake --build b)
 *
 *   embed [-m WEIGHTS] [-n N] [--temp T] [-s SEED] [-t THREADS] PROMPT [PROMPT...]
 *
 * Each PROMPT is one user turn of the same chat; each answer (at most N
 * tokens, default 128) streams to stdout as it is generated, then a
 * newline.  -m names the weights.bin of a library compiled without
 * --embed-weights.  Sampling is the model's (generation_config.json, else
 * the LFM2 card's) unless --temp is given: with --temp 0 (greedy) the
 * output is byte for byte what lfm2-run of the same checkpoint prints for
 * `-p PROMPT --temp 0 -n N` (later prompts: its -i turns, one stdin line
 * each).  Exit 0, or 1 after one line on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Streams each piece of the answer as it comes; non-zero stops on a write error. */
static int print_text(void *user, const char *text, size_t len)
{
	(void)user;
	return fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: embed [-m WEIGHTS] [-n N] [--temp T] [-s SEED] [-t THREADS] PROMPT [PROMPT...]\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *weights = NULL;   /* NULL: the weights inside the library */
	long n_predict = 128, threads = 0;
	double temp = -1;             /* < 0: the model's own sampling */
	unsigned long long seed = 0;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "-m"))
			weights = argv[++i];
		else if (!strcmp(argv[i], "-n"))
			n_predict = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--temp"))
			temp = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "-s"))
			seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-t"))
			threads = strtol(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (i == argc)
		return usage();

	char err[512];
	lfm2lib_model *model = lfm2lib_open(weights, (int)threads, err, sizeof err);
	lfm2lib_session *chat = model ? lfm2lib_session_create(model, 0, err, sizeof err) : NULL;
	int rc = chat ? 0 : 1;
	if (chat) {
		lfm2lib_sampling sampling = lfm2lib_default_sampling(model, (float)temp);
		sampling.seed = seed;
		rc = lfm2lib_set_sampling(chat, &sampling, err, sizeof err) != 0;
	}
	for (; rc == 0 && i < argc; i++) {
		/* a turn: the prompt rendered with the chat template, then the answer */
		if (lfm2lib_feed_chat(chat, NULL, argv[i], err, sizeof err) != 0
		    || lfm2lib_generate(chat, (int32_t)n_predict, print_text, NULL, err, sizeof err) < 0) {
			rc = 1;
			break;
		}
		if (putchar('\n') == EOF || fflush(stdout) != 0) {
			snprintf(err, sizeof err, "cannot write the answer to stdout");
			rc = 1;
		}
	}
	if (rc)
		fprintf(stderr, "embed: %s\n", err);
	lfm2lib_session_free(chat);
	lfm2lib_close(model);
	return rc;
}
