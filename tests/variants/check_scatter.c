/*
 * check_scatter.c — the two scatters of variants.svg against variants.json.
 *
 * The SVG is read with a plain tag scanner (report.c writes one element
 * per tag, attributes in double quotes).  Each panel, <g id="scatter-
 * decode"> and <g id="scatter-prefill">, declares its mapping (data-x,
 * data-x-px: tok/s at two pixels; data-y-log, data-y-px: decades at two
 * pixels; data-r-max, data-max-bytes) and its frame (data-plot); the
 * checks recompute from the JSON alone, with code of their own:
 *
 *   points   one <circle class="point"> per result without an error,
 *            matched by (data-variant, data-threads); cx from its rate on
 *            the linear axis, cy from log10 of its KLD (KLD 0: the floor,
 *            the bottom pixel, with an "exact" tick there), r^2 ∝ bytes
 *            (the largest: data-r-max), inside the frame; the axes cover
 *            every value; one series name per thread count;
 *   Pareto   data-pareto equals the front recomputed here: within a
 *            thread count, a result is optimal unless another has decode
 *            tok/s >=, KLD <= and bytes <= with one strict (both panels
 *            mark the decode front);
 *   labels   every Pareto-optimal and every exact point has a <text
 *            class="label"> of its variant and series ("exact" in the
 *            exact ones'); each label's box, recomputed from its text, x,
 *            y and font-size with the estimate tools/plot.h writes down
 *            (0.64 em a character, 0.8 em above the baseline, 0.25 below),
 *            equals its data-box, lies inside the frame, overlaps no other
 *            label and covers no point.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_variants.h"

#define CHAR_EM 0.64
#define ASCENT_EM 0.8
#define DESCENT_EM 0.25
#define TOL 0.011      /* the SVG's coordinates are written to 0.01 px */
#define MAX_ITEMS 600  /* 64 variants at 8 thread counts, and room */

/* ------------------------------------------------------------ the scanner */

typedef struct Tag {
	const char *start, *end;   /* at '<' and at '>' */
	char name[16];
	bool close, leaf;          /* </name>, <name .../> */
} Tag;

/* The next tag from p, or NULL at the end (or an unterminated tag). */
static const char *next_tag(const char *p, Tag *t)
{
	const char *s = strchr(p, '<');
	const char *e = s ? strchr(s, '>') : NULL;
	if (!e)
		return NULL;
	t->start = s;
	t->end = e;
	t->close = s[1] == '/';
	t->leaf = e[-1] == '/';
	size_t k = strcspn(s + 1 + t->close, " />\n");
	snprintf(t->name, sizeof t->name, "%.*s", (int)(k < 15 ? k : 15), s + 1 + t->close);
	return e + 1;
}

/* [s, e) with the five XML entities undone, into out. */
static void unescape(const char *s, const char *e, char *out, size_t cap)
{
	static const char *const ent[][2] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""},
	                                     {"&apos;", "'"}};
	size_t n = 0;
	while (s < e && n + 1 < cap) {
		int k = 0;
		while (k < 5 && strncmp(s, ent[k][0], strlen(ent[k][0])))
			k++;
		if (k < 5) {
			out[n++] = ent[k][1][0];
			s += strlen(ent[k][0]);
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = 0;
}

/* The value of attribute key in tag t, unescaped; false when it has none. */
static bool attr(const Tag *t, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	for (const char *p = t->start; (p = strstr(p + 1, key)) && p < t->end;) {
		if ((p[-1] == ' ' || p[-1] == '\n') && p[kl] == '=' && p[kl + 1] == '"') {
			const char *v = p + kl + 2, *q = strchr(v, '"');
			if (!q || q > t->end)
				return false;
			unescape(v, q, out, cap);
			return true;
		}
	}
	return false;
}

/* n numbers of attribute key; false (and a failure) when missing or short. */
static bool attr_nums(const Tag *t, const char *who, const char *key, double *v, int n)
{
	char buf[256];
	if (!attr(t, key, buf, sizeof buf)) {
		fail("variants.svg: %s has no %s", who, key);
		return false;
	}
	char *p = buf;
	for (int i = 0; i < n; i++) {
		char *end;
		v[i] = strtod(p, &end);
		if (end == p || !isfinite(v[i])) {
			fail("variants.svg: %s: %s=\"%s\" is not %d numbers", who, key, buf, n);
			return false;
		}
		p = end;
	}
	return true;
}

/* The text between a <text> tag and the next tag, unescaped. */
static void text_content(const Tag *t, char *out, size_t cap)
{
	const char *e = strchr(t->end, '<');
	unescape(t->end + 1, e ? e : t->end + 1, out, cap);
}

void svg_size(const char *svg, int *width, int *height)
{
	Tag t;
	*width = *height = 0;
	for (const char *p = svg; (p = next_tag(p, &t));) {
		if (strcmp(t.name, "svg") || t.close)
			continue;
		double w, h;
		if (attr_nums(&t, "<svg>", "width", &w, 1) && attr_nums(&t, "<svg>", "height", &h, 1)) {
			*width = (int)w;
			*height = (int)h;
		}
		return;
	}
}

/* ------------------------------------------------------------ what the SVG holds */

typedef struct Point {
	char variant[128], series[64];
	double threads, cx, cy, r, bytes, pareto;
} Point;

typedef struct Label {
	char variant[128], series[64], text[256];
	double x, y, fs, box[4];   /* box: x y w h as recomputed here */
} Label;

typedef struct Panel {
	const char *id, *speed_key;
	bool found;
	double plot[4], x[2], xpx[2], ylog[2], ypx[2], rmax, max_bytes;
	Point pt[MAX_ITEMS];
	int np;
	Label lb[MAX_ITEMS];
	int nl;
	int exact_ticks;
	double exact_tick_y;
} Panel;

static void read_point(Panel *pa, const Tag *t)
{
	if (pa->np >= MAX_ITEMS) {
		fail("variants.svg: %s: more than %d points", pa->id, MAX_ITEMS);
		return;
	}
	Point *p = &pa->pt[pa->np];
	if (!attr(t, "data-variant", p->variant, sizeof p->variant) || !attr(t, "data-series", p->series, sizeof p->series)) {
		fail("variants.svg: %s: a point without data-variant or data-series", pa->id);
		return;
	}
	bool ok = attr_nums(t, p->variant, "cx", &p->cx, 1) && attr_nums(t, p->variant, "cy", &p->cy, 1)
	          && attr_nums(t, p->variant, "r", &p->r, 1) && attr_nums(t, p->variant, "data-threads", &p->threads, 1)
	          && attr_nums(t, p->variant, "data-bytes", &p->bytes, 1)
	          && attr_nums(t, p->variant, "data-pareto", &p->pareto, 1);
	pa->np += ok;
}

static int utf8_chars(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static void read_label(Panel *pa, const Tag *t)
{
	if (pa->nl >= MAX_ITEMS) {
		fail("variants.svg: %s: more than %d labels", pa->id, MAX_ITEMS);
		return;
	}
	Label *l = &pa->lb[pa->nl];
	text_content(t, l->text, sizeof l->text);
	if (!attr(t, "data-variant", l->variant, sizeof l->variant) || !attr(t, "data-series", l->series, sizeof l->series)) {
		fail("variants.svg: %s: label '%s' without data-variant or data-series", pa->id, l->text);
		return;
	}
	double given[4];
	if (!attr_nums(t, l->text, "x", &l->x, 1) || !attr_nums(t, l->text, "y", &l->y, 1)
	    || !attr_nums(t, l->text, "font-size", &l->fs, 1) || !attr_nums(t, l->text, "data-box", given, 4))
		return;
	double box[4] = {l->x, l->y - ASCENT_EM * l->fs, utf8_chars(l->text) * CHAR_EM * l->fs,
	                 (ASCENT_EM + DESCENT_EM) * l->fs};
	for (int k = 0; k < 4; k++) {
		l->box[k] = box[k];
		if (fabs(box[k] - given[k]) > 2 * TOL)
			fail("variants.svg: %s: label '%s': data-box %g %g %g %g, recomputed %g %g %g %g", pa->id, l->text,
			     given[0], given[1], given[2], given[3], box[0], box[1], box[2], box[3]);
	}
	pa->nl++;
}

static void read_panel_attrs(Panel *pa, const Tag *t)
{
	pa->found = attr_nums(t, pa->id, "data-plot", pa->plot, 4) && attr_nums(t, pa->id, "data-x", pa->x, 2)
	            && attr_nums(t, pa->id, "data-x-px", pa->xpx, 2) && attr_nums(t, pa->id, "data-y-log", pa->ylog, 2)
	            && attr_nums(t, pa->id, "data-y-px", pa->ypx, 2) && attr_nums(t, pa->id, "data-r-max", &pa->rmax, 1)
	            && attr_nums(t, pa->id, "data-max-bytes", &pa->max_bytes, 1);
}

/* Fills the two panels from the SVG: points, labels, the "exact" tick. */
static void read_panels(const char *svg, Panel *panels, int n_panels)
{
	Panel *cur = NULL;
	int depth = 0;   /* of <g> inside the current panel */
	Tag t;
	char buf[256];
	for (const char *p = svg; (p = next_tag(p, &t));) {
		if (!strcmp(t.name, "g") && !t.leaf) {
			if (cur) {
				depth += t.close ? -1 : 1;
				if (depth == 0)
					cur = NULL;
				continue;
			}
			for (int i = 0; i < n_panels && !t.close; i++)
				if (attr(&t, "id", buf, sizeof buf) && !strcmp(buf, panels[i].id)) {
					cur = &panels[i];
					depth = 1;
					if (cur->found)
						fail("variants.svg: two panels %s", cur->id);
					read_panel_attrs(cur, &t);
				}
			continue;
		}
		if (!cur || t.close || !attr(&t, "class", buf, sizeof buf))
			continue;
		if (!strcmp(t.name, "circle") && !strcmp(buf, "point"))
			read_point(cur, &t);
		else if (!strcmp(t.name, "text") && !strcmp(buf, "label"))
			read_label(cur, &t);
		else if (!strcmp(t.name, "text") && !strcmp(buf, "tick")) {
			text_content(&t, buf, sizeof buf);
			if (!strcmp(buf, "exact") && attr_nums(&t, "the exact tick", "y", &cur->exact_tick_y, 1))
				cur->exact_ticks++;
		}
	}
}

/* ------------------------------------------------------------ what the JSON says */

typedef struct Entry {
	const char *name;
	int threads;
	double decode, prefill, kld, bytes;
	bool pareto;
} Entry;

/* Results without an error; -1 when one lacks a number check_json also reports. */
static int read_entries(const cJSON *variants, Entry *e)
{
	int n = 0;
	for (const cJSON *v = variants ? variants->child : NULL; v && n < MAX_ITEMS; v = v->next) {
		if (cJSON_GetObjectItemCaseSensitive(v, "error"))
			continue;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(v, "name");
		const char *keys[5] = {"threads", "decode_tok_s", "prefill_tok_s", "kld_mean", "artifact_bytes"};
		double x[5];
		for (int k = 0; k < 5; k++) {
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(v, keys[k]);
			if (!cJSON_IsNumber(o))
				return -1;
			x[k] = o->valuedouble;
		}
		if (!cJSON_IsString(name))
			return -1;
		e[n++] = (Entry){name->valuestring, (int)x[0], x[1], x[2], x[3], x[4], false};
	}
	return n;
}

/* The front, straight from its definition: within a thread count, i is
 * beaten by a j no worse in decode, KLD and bytes and better in one. */
static void pareto_front(Entry *e, int n)
{
	for (int i = 0; i < n; i++) {
		e[i].pareto = true;
		for (int j = 0; j < n; j++) {
			if (j == i || e[j].threads != e[i].threads)
				continue;
			bool no_worse = e[j].decode >= e[i].decode && e[j].kld <= e[i].kld && e[j].bytes <= e[i].bytes;
			bool better = e[j].decode > e[i].decode || e[j].kld < e[i].kld || e[j].bytes < e[i].bytes;
			if (no_worse && better)
				e[i].pareto = false;
		}
	}
}

/* ------------------------------------------------------------ the checks */

static double speed_of(const Panel *pa, const Entry *e)
{
	return strcmp(pa->speed_key, "decode") ? e->prefill : e->decode;
}

/* The axes cover every value; positive KLDs above an exact floor. */
static void check_axes(const Panel *pa, const Entry *e, int n)
{
	bool exact = false;
	for (int i = 0; i < n; i++)
		exact |= e[i].kld <= 0;
	if (!(pa->x[0] < pa->x[1]) || !(pa->ylog[0] < pa->ylog[1]))
		fail("variants.svg: %s: empty axis range", pa->id);
	for (int i = 0; i < n; i++) {
		double s = speed_of(pa, &e[i]);
		if (s < pa->x[0] || s > pa->x[1])
			fail("variants.svg: %s: %s at %g tok/s is off the axis %g..%g", pa->id, e[i].name, s, pa->x[0], pa->x[1]);
		if (e[i].kld > 0) {
			double d = log10(e[i].kld);
			if (d > pa->ylog[1] || d < pa->ylog[0] || (exact && d <= pa->ylog[0]))
				fail("variants.svg: %s: %s's KLD %g is off the axis 1e%g..1e%g%s", pa->id, e[i].name, e[i].kld,
				     pa->ylog[0], pa->ylog[1], exact ? " (above the exact floor)" : "");
		}
	}
	if (exact && (pa->exact_ticks != 1 || fabs(pa->exact_tick_y - 4 - pa->ypx[0]) > TOL))
		fail("variants.svg: %s: an exact variant, but no one \"exact\" tick on the floor (y %g)", pa->id, pa->ypx[0]);
}

/* Where e must be drawn. */
static void expected_circle(const Panel *pa, const Entry *e, double *cx, double *cy, double *r)
{
	double s = speed_of(pa, e);
	*cx = pa->xpx[0] + (s - pa->x[0]) / (pa->x[1] - pa->x[0]) * (pa->xpx[1] - pa->xpx[0]);
	double t = e->kld > 0 ? (log10(e->kld) - pa->ylog[0]) / (pa->ylog[1] - pa->ylog[0]) : 0;
	*cy = pa->ypx[0] + t * (pa->ypx[1] - pa->ypx[0]);
	*r = pa->rmax * sqrt(e->bytes / pa->max_bytes);
}

static const Point *find_point(const Panel *pa, const Entry *e, int *count)
{
	const Point *found = NULL;
	*count = 0;
	for (int k = 0; k < pa->np; k++)
		if (!strcmp(pa->pt[k].variant, e->name) && pa->pt[k].threads == e->threads) {
			found = &pa->pt[k];
			++*count;
		}
	return found;
}

static void check_points(const Panel *pa, const Entry *e, int n)
{
	double max_bytes = 0;
	for (int i = 0; i < n; i++)
		max_bytes = fmax(max_bytes, e[i].bytes);
	if (pa->max_bytes != max_bytes)
		fail("variants.svg: %s: data-max-bytes %.0f, the largest result has %.0f", pa->id, pa->max_bytes, max_bytes);
	if (pa->np != n)
		fail("variants.svg: %s: %d points for %d results", pa->id, pa->np, n);
	for (int i = 0; i < n; i++) {
		int count;
		const Point *p = find_point(pa, &e[i], &count);
		if (count != 1) {
			fail("variants.svg: %s: %d points of %s at %d threads", pa->id, count, e[i].name, e[i].threads);
			continue;
		}
		double cx, cy, r;
		expected_circle(pa, &e[i], &cx, &cy, &r);
		if (fabs(p->cx - cx) > TOL || fabs(p->cy - cy) > TOL || fabs(p->r - r) > TOL)
			fail("variants.svg: %s: %s (%d thr) at (%g, %g) r %g, its numbers put it at (%.2f, %.2f) r %.2f", pa->id,
			     e[i].name, e[i].threads, p->cx, p->cy, p->r, cx, cy, r);
		if (p->bytes != e[i].bytes)
			fail("variants.svg: %s: %s: data-bytes %.0f, JSON %.0f", pa->id, e[i].name, p->bytes, e[i].bytes);
		if ((p->pareto != 0) != e[i].pareto)
			fail("variants.svg: %s: %s (%d thr) data-pareto %g, the front recomputed says %d", pa->id, e[i].name,
			     e[i].threads, p->pareto, e[i].pareto);
		const double *f = pa->plot;
		if (p->cx - p->r < f[0] - TOL || p->cx + p->r > f[0] + f[2] + TOL || p->cy - p->r < f[1] - TOL
		    || p->cy + p->r > f[1] + f[3] + TOL)
			fail("variants.svg: %s: %s's point leaves the frame", pa->id, e[i].name);
	}
	/* one series name per thread count, and distinct names for distinct counts */
	for (int a = 0; a < pa->np; a++)
		for (int b = a + 1; b < pa->np; b++)
			if ((pa->pt[a].threads == pa->pt[b].threads) != !strcmp(pa->pt[a].series, pa->pt[b].series))
				fail("variants.svg: %s: series '%s' (%g thr) and '%s' (%g thr)", pa->id, pa->pt[a].series,
				     pa->pt[a].threads, pa->pt[b].series, pa->pt[b].threads);
}

static bool boxes_overlap(const double *a, const double *b)
{
	return a[0] < b[0] + b[2] - TOL && b[0] < a[0] + a[2] - TOL && a[1] < b[1] + b[3] - TOL
	       && b[1] < a[1] + a[3] - TOL;
}

static bool box_covers(const double *b, const Point *p)
{
	double nx = fmax(b[0], fmin(p->cx, b[0] + b[2])), ny = fmax(b[1], fmin(p->cy, b[1] + b[3]));
	return hypot(p->cx - nx, p->cy - ny) < p->r - TOL;
}

static void check_labels(const Panel *pa, const Entry *e, int n, int width, int height)
{
	for (int i = 0; i < n; i++) {
		int count, have = 0;
		const Point *p = find_point(pa, &e[i], &count);
		bool exact = e[i].kld <= 0;
		if (!p || (!e[i].pareto && !exact))
			continue;
		for (int j = 0; j < pa->nl; j++)
			if (!strcmp(pa->lb[j].variant, p->variant) && !strcmp(pa->lb[j].series, p->series)
			    && (!exact || strstr(pa->lb[j].text, "exact")))
				have++;
		if (have != 1)
			fail("variants.svg: %s: %s (%s) has %d labels%s, wants 1", pa->id, p->variant, p->series, have,
			     exact ? " saying exact" : "");
	}
	const double *f = pa->plot;
	for (int j = 0; j < pa->nl; j++) {
		const Label *l = &pa->lb[j];
		const double *b = l->box;
		if (b[0] < f[0] - TOL || b[1] < f[1] - TOL || b[0] + b[2] > f[0] + f[2] + TOL || b[1] + b[3] > f[1] + f[3] + TOL)
			fail("variants.svg: %s: label '%s' leaves the frame", pa->id, l->text);
		if (b[0] < 0 || b[1] < 0 || b[0] + b[2] > width || b[1] + b[3] > height)
			fail("variants.svg: %s: label '%s' leaves the canvas", pa->id, l->text);
		for (int i = j + 1; i < pa->nl; i++)
			if (boxes_overlap(b, pa->lb[i].box))
				fail("variants.svg: %s: labels '%s' and '%s' overlap", pa->id, l->text, pa->lb[i].text);
		for (int k = 0; k < pa->np; k++)
			if (box_covers(b, &pa->pt[k]))
				fail("variants.svg: %s: label '%s' covers the point of %s (%s)", pa->id, l->text, pa->pt[k].variant,
				     pa->pt[k].series);
	}
}

int check_scatter(const char *svg, const cJSON *variants)
{
	static Panel panels[2];
	static Entry e[MAX_ITEMS];
	memset(panels, 0, sizeof panels);
	panels[0].id = "scatter-decode";
	panels[0].speed_key = "decode";
	panels[1].id = "scatter-prefill";
	panels[1].speed_key = "prefill";
	int n = read_entries(variants, e);
	if (n < 0)
		return 0;   /* check_json has said what is missing */
	pareto_front(e, n);
	read_panels(svg, panels, 2);
	int width, height;
	svg_size(svg, &width, &height);
	for (int i = 0; i < 2; i++) {
		if (!panels[i].found) {
			fail("variants.svg: no panel %s (with its data- attributes)", panels[i].id);
			continue;
		}
		if (n)
			check_axes(&panels[i], e, n);
		check_points(&panels[i], e, n);
		check_labels(&panels[i], e, n, width, height);
	}
	return n;
}
