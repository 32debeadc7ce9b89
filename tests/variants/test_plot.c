/*
 * test_plot.c — the scatter's geometry (tools/plot.h) on hand-made cases
 * whose answers are worked out in the comments: the Pareto front (ties, a
 * single point, series kept apart), axis ranges and mappings, radius from
 * size, the text estimate, and label placement (each fallback in turn).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "check.h"
#include "plot.h"

static bool near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (1 + fabs(b));
}

static void check_box(PlotBox got, PlotBox want, const char *what)
{
	CHECK(near(got.x, want.x) && near(got.y, want.y) && near(got.w, want.w) && near(got.h, want.h),
	      "%s: box {%g, %g, %g, %g}, want {%g, %g, %g, %g}", what, got.x, got.y, got.w, got.h, want.x, want.y,
	      want.w, want.h);
}

/* front of n points against the expected flags */
static void check_front(const char *name, const PlotTradeoff *p, int n, const bool *want)
{
	bool got[16];
	check_case = name;
	plot_pareto(p, n, got);
	for (int i = 0; i < n; i++)
		CHECK(got[i] == want[i], "point %d: pareto %d, want %d", i, got[i], want[i]);
	check_case = NULL;
}

static void test_pareto(void)
{
	PlotTradeoff one[] = {{10, 0.1, 100, 0}};
	check_front("single point", one, 1, (bool[]){true});

	PlotTradeoff same[] = {{10, 0.1, 100, 0}, {10, 0.1, 100, 0}};
	check_front("equal points: neither beats the other", same, 2, (bool[]){true, true});

	/* equal in KLD and size, faster: a tie in two objectives, strictly better in one */
	PlotTradeoff faster[] = {{10, 0.1, 100, 0}, {12, 0.1, 100, 0}};
	check_front("faster, else equal", faster, 2, (bool[]){false, true});

	/* two exact variants (KLD 0), the same size: the slower loses */
	PlotTradeoff exact[] = {{30, 0, 400, 0}, {31, 0, 400, 0}};
	check_front("two exact, one faster", exact, 2, (bool[]){false, true});

	PlotTradeoff trade[] = {{10, 0.01, 200, 0}, {20, 0.1, 100, 0}};
	check_front("a trade-off: both", trade, 2, (bool[]){true, true});

	/* the second would beat the first, but it is another series */
	PlotTradeoff series[] = {{10, 0.1, 100, 0}, {20, 0.05, 50, 1}};
	check_front("series apart", series, 2, (bool[]){true, true});

	/* a format sweep: f32 exact and big, f16, q8_0, q4_0 each trade; q4_1
	 * here is slower, worse and bigger than q4_0; a second q8_0 ties q8_0's
	 * KLD and size and is slower */
	PlotTradeoff sweep[] = {
		{10, 0, 400, 0},        /* f32 */
		{15, 1e-6, 200, 0},     /* f16 */
		{20, 1e-4, 110, 0},     /* q8_0 */
		{25, 1e-2, 60, 0},      /* q4_0 */
		{24, 2e-2, 70, 0},      /* q4_1: beaten by q4_0 */
		{18, 1e-4, 110, 0},     /* slow q8_0: beaten by q8_0 */
	};
	check_front("format sweep", sweep, 6, (bool[]){true, true, true, true, false, false});
}

static void test_axes(void)
{
	int lo, hi;
	bool zero;
	/* smallest positive 1e-5 (decade -5), largest 3e-3 (up to -2); a 0: one decade lower */
	plot_log_range((double[]){0, 1e-5, 3e-3}, 3, &lo, &hi, &zero);
	CHECK(lo == -6 && hi == -2 && zero, "log range {0, 1e-5, 3e-3}: [%d, %d] zero %d", lo, hi, zero);
	plot_log_range((double[]){2e-4}, 1, &lo, &hi, &zero);
	CHECK(lo == -4 && hi == -3 && !zero, "log range {2e-4}: [%d, %d] zero %d", lo, hi, zero);
	/* an exact power of ten is its own floor; the range still spans a decade */
	plot_log_range((double[]){1e-3}, 1, &lo, &hi, &zero);
	CHECK(lo == -3 && hi == -2 && !zero, "log range {1e-3}: [%d, %d]", lo, hi);
	plot_log_range((double[]){5e-3, 5e-3, 0.2}, 3, &lo, &hi, &zero);
	CHECK(lo == -3 && hi == 0 && !zero, "log range {5e-3, 0.2}: [%d, %d]", lo, hi);
	plot_log_range((double[]){0, 0}, 2, &lo, &hi, &zero);
	CHECK(lo == -4 && hi == -3 && zero, "log range of zeros: [%d, %d] zero %d", lo, hi, zero);

	double a, b, step;
	/* 10..95: padded to 3.2..101.8, 98.6 / 5 = 19.7 -> step 20, 0..120 */
	plot_linear_range(10, 95, 5, &a, &b, &step);
	CHECK(near(a, 0) && near(b, 120) && near(step, 20), "linear 10..95: %g..%g step %g", a, b, step);
	/* 50000..54000: padded to 49680..54320, 928 -> step 1000, 49000..55000 */
	plot_linear_range(50000, 54000, 5, &a, &b, &step);
	CHECK(near(a, 49000) && near(b, 55000) && near(step, 1000), "linear 50000..54000: %g..%g step %g", a, b,
	      step);
	/* one value: ±10% of it, 90..110, 20 / 5 = 4 -> step 5 */
	plot_linear_range(100, 100, 5, &a, &b, &step);
	CHECK(near(a, 90) && near(b, 110) && near(step, 5), "linear 100..100: %g..%g step %g", a, b, step);
	/* 0 alone: -1..1 clipped to 0..1 (no negative speeds), step 0.2 */
	plot_linear_range(0, 0, 5, &a, &b, &step);
	CHECK(near(a, 0) && near(b, 1) && near(step, 0.2), "linear 0..0: %g..%g step %g", a, b, step);

	PlotAxis x = {0, 120, 50, 410, false};
	CHECK(near(plot_map(&x, 60), 230), "linear map 60 -> %g, want 230", plot_map(&x, 60));
	CHECK(near(plot_map(&x, 0), 50), "linear map 0 -> %g", plot_map(&x, 0));
	/* decades -6..-2 from y 400 up to y 100: 75 px each */
	PlotAxis y = {-6, -2, 400, 100, true};
	CHECK(near(plot_map(&y, 1e-4), 250), "log map 1e-4 -> %g, want 250", plot_map(&y, 1e-4));
	CHECK(near(plot_map(&y, 1e-2), 100), "log map 1e-2 -> %g, want 100", plot_map(&y, 1e-2));
	CHECK(near(plot_map(&y, 0), 400), "log map 0 -> %g, want the floor 400", plot_map(&y, 0));
}

static void test_sizes(void)
{
	CHECK(near(plot_radius(400, 400, 16), 16), "the largest gets r_max");
	CHECK(near(plot_radius(100, 400, 16), 8), "a quarter of the bytes, half the radius: %g",
	      plot_radius(100, 400, 16));
	double r3 = plot_radius(300, 400, 16);
	CHECK(near(r3 * r3 / (16.0 * 16.0), 0.75), "area ratio %g, want 0.75", r3 * r3 / 256);
	CHECK(plot_radius(0, 400, 16) == 0 && plot_radius(5, 0, 16) == 0, "no size, no radius");

	/* 4 characters at 10 px: 4 * 0.64 * 10; "é" is one character in two bytes */
	CHECK(near(plot_text_width("q4_1", 10), 25.6), "width %g", plot_text_width("q4_1", 10));
	CHECK(near(plot_text_width("\xc3\xa9t\xc3\xa9", 10), 19.2), "UTF-8 width %g",
	      plot_text_width("\xc3\xa9t\xc3\xa9", 10));
	/* baseline 50, 10 px: top 50 - 8, height 10.5 */
	check_box(plot_text_box("ab", 10, 50, 10), (PlotBox){10, 42, 12.8, 10.5}, "text box");

	CHECK(!plot_boxes_overlap((PlotBox){0, 0, 10, 10}, (PlotBox){10, 0, 10, 10}), "a shared edge is no overlap");
	CHECK(plot_boxes_overlap((PlotBox){0, 0, 10, 10}, (PlotBox){9, 9, 10, 10}), "a corner inside overlaps");
	CHECK(!plot_box_covers_circle((PlotBox){0, 0, 10, 10}, (PlotCircle){15, 5, 5}), "circle touching the edge");
	CHECK(plot_box_covers_circle((PlotBox){0, 0, 10, 10}, (PlotCircle){14, 5, 5}), "circle reaching in");
	CHECK(plot_box_covers_circle((PlotBox){0, 0, 10, 10}, (PlotCircle){5, 5, 1}), "circle inside");
}

static void test_labels(void)
{
	/* a 20 x 10 label for a point of radius 4 at (100, 50) in 200 x 100 */
	PlotCircle p = {100, 50, 4};
	PlotScene s = {{0, 0, 200, 100}, &p, 1, NULL, 0};
	PlotBox b;
	/* nothing in the way: right of the point, 3 px off its edge, centred */
	CHECK(plot_place_label(&s, p, 20, 10, false, &b) == 0);
	check_box(b, (PlotBox){107, 45, 20, 10}, "free: right");

	/* a label where the right one would go: left, 100 - 4 - 3 - 20 = 73 */
	PlotBox right_taken[] = {{106, 44, 30, 12}};
	s.labels = right_taken;
	s.n_labels = 1;
	CHECK(plot_place_label(&s, p, 20, 10, false, &b) == 0);
	check_box(b, (PlotBox){73, 45, 20, 10}, "right taken: left");

	/* both sides taken (their tops at y 44): above, 50 - 4 - 3 - 10 = 33,
	 * whose bottom (43, 44 with the 1 px clearance) just clears them */
	PlotBox sides_taken[] = {{106, 44, 30, 12}, {64, 44, 30, 12}};
	s.labels = sides_taken;
	s.n_labels = 2;
	CHECK(plot_place_label(&s, p, 20, 10, false, &b) == 0);
	check_box(b, (PlotBox){90, 33, 20, 10}, "sides taken: above");

	/* another point just right of this one: left */
	PlotCircle two[] = {p, {115, 50, 5}};
	s = (PlotScene){{0, 0, 200, 100}, two, 2, NULL, 0};
	CHECK(plot_place_label(&s, p, 20, 10, false, &b) == 0);
	check_box(b, (PlotBox){73, 45, 20, 10}, "a point on the right: left");

	/* at the right edge of the bounds: left */
	PlotCircle edge = {190, 50, 4};
	s = (PlotScene){{0, 0, 200, 100}, &edge, 1, NULL, 0};
	CHECK(plot_place_label(&s, edge, 20, 10, false, &b) == 0);
	check_box(b, (PlotBox){163, 45, 20, 10}, "right edge: left");

	/* every near place covered by one label over x 40..170, y 10..90 (the
	 * farthest candidate reaches 4 + 15 + 20 = 39 px from the centre): no
	 * place without far_ok; with it, the grid box nearest the point — left
	 * of the cover, x <= 40 - 1 - 20 = 19 so 18 on the 2 px grid (centre
	 * 28, 72 px off) beats the right side (x 172, 82 px off), and y 46
	 * centres it on the point's 51 */
	PlotCircle q = {100, 51, 4};
	PlotBox cover[] = {{40, 10, 130, 80}};
	s = (PlotScene){{0, 0, 200, 100}, &q, 1, cover, 1};
	CHECK(plot_place_label(&s, q, 20, 10, false, &b) == -1, "covered, no far places allowed");
	CHECK(plot_place_label(&s, q, 20, 10, true, &b) == 1, "covered: a far place");
	check_box(b, (PlotBox){18, 46, 20, 10}, "covered: nearest free grid box");

	/* bounds smaller than the label: nowhere */
	s = (PlotScene){{0, 0, 15, 8}, NULL, 0, NULL, 0};
	CHECK(plot_place_label(&s, (PlotCircle){7, 4, 1}, 20, 10, true, &b) == -1, "no room at all");
	/* a box exactly on the bounds is inside */
	CHECK(plot_box_free(&s, (PlotBox){0, 0, 15, 8}), "a box filling the bounds is free");
}

int main(void)
{
	test_pareto();
	test_axes();
	test_sizes();
	test_labels();
	return check_finish("test_plot");
}
