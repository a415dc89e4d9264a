//! Charts as server-side SVG: readable without JavaScript, no chart library, nothing fetched.
//!
//! Labels can come from reports (an unknown result type is kept verbatim), so every text
//! node and attribute goes through [`escape`].

use std::fmt::Write;

use chrono::NaiveDate;

/// The colour of successes, and of each failure series in order (colour-blind-safe
/// Okabe–Ito hues; patterns are not needed because every bar also has a text title).
pub const SUCCESS_COLOUR: &str = "#009e73";
const FAILURE_COLOURS: [&str; 7] = [
    "#d55e00", "#e69f00", "#cc79a7", "#0072b2", "#56b4e9", "#f0e442", "#000000",
];

pub fn failure_colour(index: usize) -> &'static str {
    FAILURE_COLOURS[index % FAILURE_COLOURS.len()]
}

/// XML-escapes text for SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One stacked series: a name and one value per day.
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub values: Vec<u64>,
}

/// A stacked daily bar chart, one bar per day, series stacked bottom-up in order.
///
/// `title` becomes the accessible name; each bar segment carries its own `<title>` (day,
/// series, value) for hover and screen readers.
pub fn stacked_bars(title: &str, days: &[NaiveDate], series: &[Series<'_>]) -> String {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 56.0;
    const BOTTOM: f64 = 24.0;
    const TOP: f64 = 8.0;
    let totals: Vec<u64> = (0..days.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    // Axis: zero and the maximum.
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{y0}" x2="{W}" y2="{y0}" stroke="#888"/><text x="{lx}" y="{y0}" text-anchor="end" font-size="11">0</text><text x="{lx}" y="{yt}" text-anchor="end" font-size="11">{max}</text>"##,
        y0 = TOP + plot_h,
        lx = LEFT - 4.0,
        yt = TOP + 10.0,
    );
    for (i, day) in days.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = TOP + plot_h;
        for s in series {
            let v = s.values.get(i).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = (v as f64 / max as f64 * plot_h).max(1.0);
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="{c}"><title>{day}: {v} {n}</title></rect>"#,
                c = escape(s.colour),
                n = escape(s.name),
            );
        }
        // First day, every seventh, and the last unless it would overlap the previous label.
        let last = i + 1 == days.len() && i % 7 > 2;
        if i == 0 || last || (days.len() > 10 && i % 7 == 0) {
            let _ = write!(
                svg,
                r#"<text x="{tx:.1}" y="{ty}" text-anchor="middle" font-size="10">{md}</text>"#,
                tx = x + bar / 2.0,
                ty = H - 8.0,
                md = day.format("%m-%d"),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A small sparkline: daily sessions as bars, failed share on top in the failure colour.
pub fn sparkline(points: &[(u64, u64)]) -> String {
    const W: f64 = 120.0;
    const H: f64 = 24.0;
    let max = points.iter().map(|(s, f)| s + f).max().unwrap_or(0).max(1);
    let slot = W / points.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg class="spark" viewBox="0 0 {W} {H}" width="{W}" height="{H}" aria-hidden="true">"#
    );
    for (i, (successful, failed)) in points.iter().enumerate() {
        let x = i as f64 * slot;
        let total_h = (successful + failed) as f64 / max as f64 * H;
        let failed_h = *failed as f64 / max as f64 * H;
        if total_h > 0.0 {
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{SUCCESS_COLOUR}"/>"#,
                y = H - total_h,
                w = (slot - 0.5).max(0.5),
                h = total_h - failed_h,
            );
        }
        if *failed > 0 {
            let _ = write!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{c}"/>"#,
                y = H - total_h,
                w = (slot - 0.5).max(0.5),
                h = failed_h.max(1.0),
                c = failure_colour(0),
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: u32) -> Vec<NaiveDate> {
        (1..=n)
            .map(|d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap())
            .collect()
    }

    #[test]
    fn labels_from_reports_are_escaped() {
        let svg = stacked_bars(
            "<script>alert(1)</script>",
            &days(2),
            &[Series {
                name: "\"><script>x</script>",
                colour: "red",
                values: vec![1, 2],
            }],
        );
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("&quot;&gt;&lt;script&gt;x"));
    }

    #[test]
    fn bars_stack_to_the_daily_total_and_scale_to_the_maximum() {
        let svg = stacked_bars(
            "t",
            &days(3),
            &[
                Series {
                    name: "ok",
                    colour: SUCCESS_COLOUR,
                    values: vec![100, 0, 50],
                },
                Series {
                    name: "bad",
                    colour: failure_colour(0),
                    values: vec![0, 0, 50],
                },
            ],
        );
        // A zero value draws nothing; three non-zero segments are drawn.
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("2026-03-01: 100 ok"));
        assert!(svg.contains("2026-03-03: 50 bad"));
        // The tallest bar fills the plot (188 px); day 3 stacks two 94 px halves.
        assert!(svg.contains(r#"height="188.0""#));
        assert_eq!(svg.matches(r#"height="94.0""#).count(), 2);
        assert!(svg.contains(">100</text>"), "the axis names the maximum");
    }

    #[test]
    fn sparkline_draws_one_bar_per_day_with_data() {
        let svg = sparkline(&[(10, 0), (0, 0), (5, 5)]);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains(failure_colour(0)));
    }
}
