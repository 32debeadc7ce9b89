/*
 * report_check.c — checks `lfm2c quant-report --json` output for
 * trained-tiny:
 *
 *   report_check REPORT.json F32_BYTES
 *
 * Exact: the sizes of each format follow from the tensor shapes (q8_0 34
 * bytes / 32 values, q4_0 18, q4_1 20; everything not a matrix stays f32,
 * F32_BYTES in total for the f32 model) and bits per matrix weight are
 * 8.5 / 4.5 / 5.0.  Measured (loose bounds that a broken format or a
 * broken comparison would miss by orders of magnitude): q8_0's mean KLD is
 * below 1e-3 and at least 10x below q4_0's; q4_1 beats q4_0; top-1
 * agreement is at least 97% for q8_0 and 80% for the 4-bit formats; every
 * group has a positive KLD; each suggested schedule is measured better
 * than its format alone.  Also the natural-text sequence is present.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *format(const cJSON *root, const char *name)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(root, "formats"))
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "format");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return f;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: report_check REPORT.json F32_BYTES\n");
		return 2;
	}
	FILE *fp = fopen(argv[1], "rb");
	if (!fp) {
		printf("FAIL: cannot open %s\n", argv[1]);
		return 1;
	}
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = 0;
	cJSON *root = cJSON_Parse(buf);
	if (!root) {
		printf("FAIL: %s is not JSON\n", argv[1]);
		return 1;
	}
	double f32_bytes = atof(argv[2]);
	CHECK(num(root, "f32_weight_bytes") == f32_bytes, "f32 bytes %.0f", num(root, "f32_weight_bytes"));
	const cJSON *seq = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "sequences"), 0);
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(seq, "kind");
	CHECK(cJSON_IsString(kind) && !strcmp(kind->valuestring, "natural") && num(seq, "tokens") == 66,
	      "first sequence is trained-tiny's natural text of 66 tokens");
	const cJSON *q8 = format(root, "q8_0"), *q40 = format(root, "q4_0"), *q41 = format(root, "q4_1");
	if (!q8 || !q40 || !q41) {
		printf("FAIL: formats q8_0, q4_0, q4_1 missing\n");
		return 1;
	}
	/* trained-tiny: 3,199,872 params of which 192*(1+2*6) + 6*... are not
	 * matrices; the matrices hold M values: f32 bytes = 4 * params, and a
	 * format stores matrices at b bits, the rest at 32 bits. */
	double params = f32_bytes / 4, matrix = 0;
	/* matrices: embed 2048x192, 4 conv layers (in 576x192, out 192x192),
	 * 2 attention layers (q 192x192, k,v 96x192, out 192x192), 6 MLPs
	 * (w1, w3 576x192, w2 192x576) */
	matrix = 2048.0 * 192 + 4 * (576.0 * 192 + 192.0 * 192) + 2 * (192.0 * 192 * 2 + 96.0 * 192 * 2)
	         + 6 * 3 * 576.0 * 192;
	const struct {
		const cJSON *f;
		double bits;
	} fmts[] = {{q8, 8.5}, {q40, 4.5}, {q41, 5.0}};
	for (int i = 0; i < 3; i++) {
		double want = (params - matrix) * 4 + matrix * fmts[i].bits / 8;
		CHECK(num(fmts[i].f, "weight_bytes") == want, "format %d: %.0f bytes, want %.0f", i,
		      num(fmts[i].f, "weight_bytes"), want);
		CHECK(num(fmts[i].f, "bits_per_matrix_weight") == fmts[i].bits, "bits %g",
		      num(fmts[i].f, "bits_per_matrix_weight"));
		const cJSON *g;
		int ng = 0;
		cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(fmts[i].f, "groups"))
		{
			CHECK(num(g, "kld_mean") > 0, "group kld %g", num(g, "kld_mean"));
			ng++;
		}
		CHECK(ng == 7, "7 groups (embedding + 6 layers), got %d", ng);
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(fmts[i].f, "suggestion");
		CHECK(s && num(s, "kld_mean") < num(fmts[i].f, "kld_mean"), "suggestion %d improves KLD", i);
		CHECK(s && num(s, "weight_bytes") > num(fmts[i].f, "weight_bytes"), "suggestion %d costs bytes", i);
		CHECK(num(fmts[i].f, "kld_p99") >= num(fmts[i].f, "kld_mean"), "p99 >= mean");
		CHECK(num(fmts[i].f, "max_abs_logit_err") > 0, "max logit error > 0");
	}
	double k8 = num(q8, "kld_mean"), k40 = num(q40, "kld_mean"), k41 = num(q41, "kld_mean");
	CHECK(k8 > 0 && k8 < 1e-3, "q8_0 KLD %g", k8);
	CHECK(k8 * 10 < k40, "q8_0 KLD %g vs q4_0 %g", k8, k40);
	CHECK(k41 < k40, "q4_1 KLD %g vs q4_0 %g", k41, k40);
	CHECK(num(q8, "top1_percent") >= 97, "q8_0 top-1 %g", num(q8, "top1_percent"));
	CHECK(num(q40, "top1_percent") >= 80 && num(q41, "top1_percent") >= 80, "4-bit top-1");
	printf("q8_0 KLD %.3e, q4_0 %.3e, q4_1 %.3e\n", k8, k40, k41);
	cJSON_Delete(root);
	return check_finish("report_check");
}
