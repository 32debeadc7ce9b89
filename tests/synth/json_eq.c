/*
 * json_eq.c — compare two JSON files as parsed values, key by key.
 *
 *   json_eq GOT.json WANT.json
 *
 * `lfm2c synth` must write the config.json of specs/lfm2.md §12 (the files in
 * expected/ come from the reference checkpoint generator).  Besides
 * the byte comparison the tests also run, this gives a readable answer when
 * they differ: every missing, extra or different key is printed with its
 * path (e.g. "$.layer_types[3]: got "conv", want "full_attention"").
 * Objects are compared as sets of keys (order is the byte test's business),
 * numbers by exact value, arrays element by element.  Exit 0 when equal,
 * 1 when not, 2 when a file cannot be read or parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	while (b) {
		size_t k = fread(b + n, 1, cap - n - 1, f);
		n += k;
		if (k == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	if (b && ferror(f)) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b)
		b[n] = 0;
	return b;
}

static cJSON *load(const char *path)
{
	char *text = read_file(path);
	if (!text) {
		fprintf(stderr, "json_eq: %s: cannot read\n", path);
		return NULL;
	}
	cJSON *v = cJSON_Parse(text);
	if (!v)
		fprintf(stderr, "json_eq: %s: malformed JSON\n", path);
	free(text);
	return v;
}

static void show(const cJSON *v, char *buf, size_t cap)
{
	char *s = cJSON_PrintUnformatted(v);
	snprintf(buf, cap, "%s", s ? s : "?");
	if (s && strlen(s) >= cap && cap > 4)
		strcpy(buf + cap - 4, "...");
	free(s);
}

static int type_of(const cJSON *v)
{
	return v->type & 0xff;
}

/* Prints every difference under path; returns their number. */
static int compare(const cJSON *got, const cJSON *want, const char *path)
{
	char a[160], b[160], sub[512];
	if (type_of(got) != type_of(want)) {
		show(got, a, sizeof a);
		show(want, b, sizeof b);
		printf("%s: got %s, want %s (different types)\n", path, a, b);
		return 1;
	}
	int diffs = 0;
	if (cJSON_IsObject(want)) {
		const cJSON *w, *g;
		cJSON_ArrayForEach(w, want) {
			snprintf(sub, sizeof sub, "%s.%s", path, w->string);
			g = cJSON_GetObjectItemCaseSensitive(got, w->string);
			if (!g) {
				printf("%s: missing\n", sub);
				diffs++;
			} else {
				diffs += compare(g, w, sub);
			}
		}
		cJSON_ArrayForEach(g, got) {
			if (!cJSON_GetObjectItemCaseSensitive(want, g->string)) {
				show(g, a, sizeof a);
				printf("%s.%s: unexpected key (value %s)\n", path, g->string, a);
				diffs++;
			}
		}
	} else if (cJSON_IsArray(want)) {
		int ng = cJSON_GetArraySize(got), nw = cJSON_GetArraySize(want);
		if (ng != nw) {
			printf("%s: %d elements, want %d\n", path, ng, nw);
			diffs++;
		}
		for (int i = 0; i < ng && i < nw; i++) {
			snprintf(sub, sizeof sub, "%s[%d]", path, i);
			diffs += compare(cJSON_GetArrayItem(got, i), cJSON_GetArrayItem(want, i), sub);
		}
	} else if (cJSON_IsNumber(want) ? got->valuedouble != want->valuedouble
	         : cJSON_IsString(want) ? strcmp(got->valuestring, want->valuestring) != 0 : 0) {
		show(got, a, sizeof a);
		show(want, b, sizeof b);
		printf("%s: got %s, want %s\n", path, a, b);
		diffs++;
	}
	return diffs;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: json_eq GOT.json WANT.json\n");
		return 2;
	}
	cJSON *got = load(argv[1]), *want = load(argv[2]);
	if (!got || !want) {
		cJSON_Delete(got);
		cJSON_Delete(want);
		return 2;
	}
	int d = compare(got, want, "$");
	int keys = cJSON_IsObject(want) ? cJSON_GetArraySize(want) : 1;
	if (d)
		printf("json_eq: %s differs from %s in %d place(s)\n", argv[1], argv[2], d);
	else
		printf("json_eq: %s equals %s (%d top-level keys)\n", argv[1], argv[2], keys);
	cJSON_Delete(got);
	cJSON_Delete(want);
	return d ? 1 : 0;
}
