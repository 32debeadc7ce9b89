/*
 * plot.c — the scatter's geometry (plot.h): axes, point sizes, the Pareto
 * front and label placement.  Pure functions: report.c draws with them,
 * tests/variants/test_plot.c checks them on cases with known answers.
 */
#include <math.h>
#include <stdbool.h>

#include "plot.h"

/* ------------------------------------------------------------ axes */

double plot_map(const PlotAxis *a, double v)
{
	double t;
	if (a->log)
		t = v > 0 ? (log10(v) - a->lo) / (a->hi - a->lo) : 0;   /* 0 lives on the floor */
	else
		t = (v - a->lo) / (a->hi - a->lo);
	return a->p0 + t * (a->p1 - a->p0);
}

/* 1, 2 or 5 × 10^k, the smallest not below raw */
static double nice_step(double raw)
{
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

void plot_linear_range(double vmin, double vmax, int intervals, double *lo, double *hi, double *step)
{
	double span = vmax - vmin;
	double a, b;
	if (span > 0) {
		a = vmin - 0.08 * span;
		b = vmax + 0.08 * span;
	} else {   /* one value (or all equal): a window of ±10% around it */
		double half = vmax != 0 ? 0.1 * fabs(vmax) : 1;
		a = vmin - half;
		b = vmax + half;
	}
	if (a < 0 && vmin >= 0)   /* speeds and sizes are never negative: no negative ticks */
		a = 0;
	*step = nice_step((b - a) / (intervals > 0 ? intervals : 1));
	*lo = floor(a / *step) * *step;
	*hi = ceil(b / *step) * *step;
}

void plot_log_range(const double *v, int n, int *lo, int *hi, bool *has_zero)
{
	double mn = INFINITY, mx = 0;
	*has_zero = false;
	for (int i = 0; i < n; i++) {
		if (v[i] > 0) {
			mn = v[i] < mn ? v[i] : mn;
			mx = v[i] > mx ? v[i] : mx;
		} else {
			*has_zero = true;
		}
	}
	if (!(mx > 0)) {   /* nothing positive: any decade will do, 0 on its floor */
		*lo = -4;
		*hi = -3;
		return;
	}
	*lo = (int)floor(log10(mn));
	*hi = (int)ceil(log10(mx));
	if (*hi <= *lo)
		*hi = *lo + 1;
	if (*has_zero)
		*lo -= 1;   /* a decade of room between "exact" and the smallest error */
}

/* ------------------------------------------------------------ points */

double plot_radius(double bytes, double max_bytes, double r_max)
{
	if (!(max_bytes > 0) || !(bytes > 0))
		return 0;
	return r_max * sqrt(bytes / max_bytes);
}

/* Does q beat p: at least as good in every objective, better in one? */
static bool dominates(const PlotTradeoff *q, const PlotTradeoff *p)
{
	bool no_worse = q->speed >= p->speed && q->kld <= p->kld && q->size <= p->size;
	bool better = q->speed > p->speed || q->kld < p->kld || q->size < p->size;
	return no_worse && better;
}

void plot_pareto(const PlotTradeoff *p, int n, bool *front)
{
	for (int i = 0; i < n; i++) {
		front[i] = true;
		for (int j = 0; j < n && front[i]; j++)
			if (j != i && p[j].series == p[i].series && dominates(&p[j], &p[i]))
				front[i] = false;
	}
}

/* ------------------------------------------------------------ labels */

double plot_text_width(const char *text, double font_size)
{
	int chars = 0;
	for (const unsigned char *s = (const unsigned char *)text; *s; s++)
		chars += (*s & 0xC0) != 0x80;   /* UTF-8 continuation bytes are not characters */
	return chars * PLOT_CHAR_EM * font_size;
}

PlotBox plot_text_box(const char *text, double x, double baseline, double font_size)
{
	return (PlotBox){x, baseline - PLOT_ASCENT_EM * font_size, plot_text_width(text, font_size),
	                 (PLOT_ASCENT_EM + PLOT_DESCENT_EM) * font_size};
}

bool plot_boxes_overlap(PlotBox a, PlotBox b)
{
	return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

bool plot_box_covers_circle(PlotBox b, PlotCircle c)
{
	double nx = fmax(b.x, fmin(c.cx, b.x + b.w)), ny = fmax(b.y, fmin(c.cy, b.y + b.h));
	double dx = c.cx - nx, dy = c.cy - ny;
	return dx * dx + dy * dy < c.r * c.r;
}

bool plot_box_free(const PlotScene *s, PlotBox b)
{
	const PlotBox *o = &s->bounds;
	if (b.x < o->x || b.y < o->y || b.x + b.w > o->x + o->w || b.y + b.h > o->y + o->h)
		return false;
	PlotBox wide = {b.x - PLOT_CLEAR, b.y - PLOT_CLEAR, b.w + 2 * PLOT_CLEAR, b.h + 2 * PLOT_CLEAR};
	for (int i = 0; i < s->n_labels; i++)
		if (plot_boxes_overlap(wide, s->labels[i]))
			return false;
	for (int i = 0; i < s->n_circles; i++) {
		PlotCircle c = s->circles[i];
		c.r += PLOT_CLEAR;
		if (plot_box_covers_circle(b, c))
			return false;
	}
	return true;
}

/* The box beside point c in direction (dx, dy), each -1, 0 or 1, gap px
 * from its edge: 0 centres the box on that axis; a diagonal starts from
 * the circle's point at 45 degrees. */
static PlotBox beside(PlotCircle c, double w, double h, double gap, int dx, int dy)
{
	double k = dx && dy ? M_SQRT1_2 : 1;
	PlotBox b = {0, 0, w, h};
	b.x = dx > 0 ? c.cx + k * c.r + gap : dx < 0 ? c.cx - k * c.r - gap - w : c.cx - w / 2;
	b.y = dy > 0 ? c.cy + k * c.r + gap : dy < 0 ? c.cy - k * c.r - gap - h : c.cy - h / 2;
	return b;
}

/* The free box of the 2 px grid over the bounds whose centre is nearest c. */
static bool nearest_free(const PlotScene *s, PlotCircle c, double w, double h, PlotBox *out)
{
	const PlotBox *o = &s->bounds;
	bool found = false;
	double best = INFINITY;
	for (double y = o->y; y + h <= o->y + o->h; y += 2)
		for (double x = o->x; x + w <= o->x + o->w; x += 2) {
			double ex = x + w / 2 - c.cx, ey = y + h / 2 - c.cy, d = ex * ex + ey * ey;
			PlotBox b = {x, y, w, h};
			if (d < best && plot_box_free(s, b)) {
				best = d;
				*out = b;
				found = true;
			}
		}
	return found;
}

int plot_place_label(const PlotScene *s, PlotCircle at, double w, double h, bool far_ok, PlotBox *out)
{
	/* right and left first: a label beside its point reads best */
	static const int dirs[8][2] = {{1, 0}, {-1, 0}, {0, -1}, {0, 1}, {1, -1}, {1, 1}, {-1, -1}, {-1, 1}};
	for (int ring = 0; ring < 3; ring++)
		for (int d = 0; d < 8; d++) {
			PlotBox b = beside(at, w, h, PLOT_GAP + 6 * ring, dirs[d][0], dirs[d][1]);
			if (plot_box_free(s, b)) {
				*out = b;
				return 0;
			}
		}
	if (far_ok && nearest_free(s, at, w, h, out))
		return 1;
	return -1;
}
