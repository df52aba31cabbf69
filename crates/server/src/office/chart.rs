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
    let n = months.len().max(1) as u32;
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0u32..n * 3, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(months.len())
        .x_label_formatter(&|x| {
            months
                .get((*x / 3) as usize)
                .filter(|_| x % 3 == 1)
                .map(|(m, _, _)| m.first_day().format("%b").to_string())
                .unwrap_or_default()
        })
        .y_label_formatter(&|y| format!("${:.0}", y))
        .draw()?;
    let bar = |i: usize, offset: u32, cents: Cents, color: RGBColor| {
        let x = i as u32 * 3 + offset;
        Rectangle::new([(x, 0.0), (x + 1, cents.dollars())], color.filled())
    };
    chart
        .draw_series(
            months
                .iter()
                .enumerate()
                .map(|(i, (_, r, _))| bar(i, 0, *r, RGBColor(11, 79, 113))),
        )?
        .label("Revenue")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], RGBColor(11, 79, 113).filled()));
    chart
        .draw_series(
            months
                .iter()
                .enumerate()
                .map(|(i, (_, _, t))| bar(i, 1, *t, RGBColor(23, 114, 69))),
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
