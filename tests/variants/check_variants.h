/*
 * check_variants.h — what check_variants.c and check_scatter.c share.
 */
#ifndef LFM2C_CHECK_VARIANTS_H
#define LFM2C_CHECK_VARIANTS_H

#include <cjson/cJSON.h>

/* One failed check: "check_variants: MESSAGE" on stderr, counted. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The two scatters of variants.svg against the "variants" array of
 * variants.json: every point where its numbers put it, the Pareto flags
 * recomputed, the labels present, inside the frame, apart.  Returns the
 * number of results drawn (those without an error). */
int check_scatter(const char *svg, const cJSON *variants);

/* The SVG's declared width and height; 0 when missing. */
void svg_size(const char *svg, int *width, int *height);

#endif
