//! The revenue chart: monthly revenue and tips as grouped bars, drawn on the server as
//! SVG with plotters (no JavaScript).

use jada_core::{Cents, Month};
use plotters::prelude::*;

/// An SVG of revenue (blue) and tips (green) per month, in dollars.
pub fn revenue_svg(months: &[(Month, Cents, Cents)]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 320)).into_drawing_area();
        if draw(&root, months).is_err() {
            tracing::warn!("the revenue chart could not be drawn");
        }
    }
    svg
}

fn draw(
    root: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    months: &[(Month, Cents, Cents)],
) -> Result<(), Box<dyn std::error::Error>> {
    root.fill(&WHITE)?;
    let top = months.iter().map(|(_, r, t)| r.0.max(t.0)).max().unwrap_or(0).max(100) as f64 / 100.0 * 1.1;
    // Ten units per month, the month's label at 10 i and its two bars either side: the
    // axis's key points then fall on every month (a step of 10 is a "nice" step).
    let n = months.len().max(1) as i32;
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(-5i32..n * 10 - 5, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(months.len() + 1)
        .x_label_formatter(&|x| {
            (x % 10 == 0)
                .then(|| months.get((*x / 10) as usize))
                .flatten()
                .map(|(m, _, _)| m.first_day().format("%b").to_string())
                .unwrap_or_default()
        })
        .x_label_style(("sans-serif", 14))
        .y_label_style(("sans-serif", 14))
        .y_label_formatter(&|y| whole_dollars(*y))
        .draw()?;
    let bar = |i: usize, offset: i32, cents: Cents, color: RGBColor| {
        let x = i as i32 * 10 + offset;
        Rectangle::new([(x, 0.0), (x + 4, cents.dollars())], color.filled())
    };
    chart
        .draw_series(
            months
                .iter()
                .enumerate()
                .map(|(i, (_, r, _))| bar(i, -4, *r, RGBColor(11, 79, 113))),
        )?
        .label("Revenue")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], RGBColor(11, 79, 113).filled()));
    chart
        .draw_series(
            months
                .iter()
                .enumerate()
                .map(|(i, (_, _, t))| bar(i, 0, *t, RGBColor(23, 114, 69))),
        )?
        .label("Tips")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], RGBColor(23, 114, 69).filled()));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// An axis amount as the office writes money: `$120,000` (no cents on an axis).
fn whole_dollars(dollars: f64) -> String {
    let shown = Cents((dollars.round() as i64).max(0) * 100).to_string();
    shown.trim_end_matches(".00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_month_is_labelled_and_money_reads_like_money() {
        assert_eq!(whole_dollars(120_000.0), "$120,000");
        assert_eq!(whole_dollars(0.0), "$0");
        let months: Vec<(Month, Cents, Cents)> = (1..=12)
            .map(|m| {
                (
                    Month::parse(&format!("2026-{m:02}")).unwrap(),
                    Cents(m as i64 * 1_000_000),
                    Cents(50_000),
                )
            })
            .collect();
        let svg = revenue_svg(&months);
        for name in [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ] {
            assert!(svg.contains(&format!("\n{name}\n")), "{name} is not labelled");
        }
        assert!(svg.contains("\n$120,000\n"), "money on the axis reads like money");
    }
}
