/*
 * plot.h — the geometry of the trade-off scatter in report.c's SVG, as
 * pure functions (no I/O, no allocation) so each one is unit-tested on
 * hand-made cases (tests/variants/test_plot.c).
 *
 *   axes      a linear axis on "nice" ticks (1, 2 or 5 × 10^k) and a
 *             logarithmic one on whole decades, whose floor also holds the
 *             value 0 (an exact variant: KLD 0 has no logarithm);
 *   points    radius from size, area proportional to bytes;
 *   Pareto    the variants no other of the same series beats: at least as
 *             fast, at least as accurate and at least as small, strictly
 *             better in one;
 *   labels    a text box estimated from the font size and the character
 *             count (PLOT_CHAR_EM, PLOT_ASCENT_EM, PLOT_DESCENT_EM — the
 *             estimate is written down so a checker can recompute every
 *             box from the SVG), placed around its point where it covers
 *             no other label and no point.
 *
 * Coordinates are SVG's: x to the right, y downward, in pixels.
 */
#ifndef LFM2C_PLOT_H
#define LFM2C_PLOT_H

#include <stdbool.h>
#include <stddef.h>

/* The text estimate, in font sizes.  DejaVu Sans (Debian's sans-serif)
 * advances lowercase letters by 0.3-0.65 em and digits by 0.636 em, so
 * 0.64 per character bounds the names of schedule files (only m, w and
 * capitals are wider); the box spans the cap height and the descenders. */
#define PLOT_CHAR_EM 0.64
#define PLOT_ASCENT_EM 0.8
#define PLOT_DESCENT_EM 0.25

typedef struct PlotBox {
	double x, y, w, h;    /* top-left corner and size */
} PlotBox;

typedef struct PlotCircle {
	double cx, cy, r;
} PlotCircle;

/* ------------------------------------------------------------ axes */

/* A range on an axis, mapped onto pixels: lo to p0, hi to p1.  A log
 * axis holds decades: lo and hi are exponents (10^lo .. 10^hi), and a
 * value <= 0 maps to p0, the floor. */
typedef struct PlotAxis {
	double lo, hi;
	double p0, p1;
	bool log;
} PlotAxis;

double plot_map(const PlotAxis *a, double v);

/* [vmin, vmax] padded by 8% of its span on each side (not below 0 when
 * vmin >= 0; a single value gets ±10% of itself), widened to multiples of
 * a step of 1, 2 or 5 × 10^k that cuts it into about `intervals` parts. */
void plot_linear_range(double vmin, double vmax, int intervals, double *lo, double *hi, double *step);

/* The decades of a log axis for n values >= 0: from the decade of the
 * smallest positive value to the one of the largest (at least one decade),
 * and when a value is 0 one decade lower, so the floor, where 0 is drawn,
 * sits below every positive value.  No positive value at all: the decade
 * [-4, -3] with 0 on its floor.  *has_zero tells whether a value is 0. */
void plot_log_range(const double *v, int n, int *lo, int *hi, bool *has_zero);

/* ------------------------------------------------------------ points */

/* The radius of a point of `bytes` when the largest, max_bytes, gets
 * r_max: area proportional to size. */
double plot_radius(double bytes, double max_bytes, double r_max);

/* One point's trade-off: higher speed is better, lower kld and size are. */
typedef struct PlotTradeoff {
	double speed, kld, size;
	int series;           /* points compete only within their series */
} PlotTradeoff;

/* front[i] = p[i] is Pareto-optimal within its series: no point j of the
 * same series has speed >= , kld <= and size <= p[i]'s with one of them
 * strict.  Equal points are all optimal (neither beats the other). */
void plot_pareto(const PlotTradeoff *p, int n, bool *front);

/* ------------------------------------------------------------ labels */

/* The estimated box of `text` (UTF-8: characters, not bytes) drawn at x,
 * with its baseline at y, text-anchor start. */
double plot_text_width(const char *text, double font_size);
PlotBox plot_text_box(const char *text, double x, double baseline, double font_size);

/* Boxes overlap when their interiors meet (shared edges do not). */
bool plot_boxes_overlap(PlotBox a, PlotBox b);
/* A box covers a circle when it comes closer to the centre than r. */
bool plot_box_covers_circle(PlotBox b, PlotCircle c);

/* What a new label must avoid. */
typedef struct PlotScene {
	PlotBox bounds;               /* labels stay inside */
	const PlotCircle *circles;    /* every point of the panel */
	int n_circles;
	const PlotBox *labels;        /* the labels placed so far */
	int n_labels;
} PlotScene;

/* PLOT_GAP: the space kept between a label and its point; PLOT_CLEAR:
 * between a label and anything else. */
#define PLOT_GAP 3.0
#define PLOT_CLEAR 1.0

/* Is b inside the bounds, PLOT_CLEAR away from every label and point? */
bool plot_box_free(const PlotScene *s, PlotBox b);

/* Places a w × h label for point `at`: the first free one of right, left,
 * above, below and the four diagonals, PLOT_GAP from the point, then the
 * same 8 at 6 and 12 px farther.  If none is free and far_ok, the free
 * position nearest to the point on a 2 px grid over the bounds.
 * Returns 0 (near: beside its point), 1 (far: draw a leader line) or -1
 * (no room anywhere; *out untouched). */
int plot_place_label(const PlotScene *s, PlotCircle at, double w, double h, bool far_ok, PlotBox *out);

#endif
