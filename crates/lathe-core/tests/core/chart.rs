//! Charts of a stored profile: every kind renders as SVG and PNG, and its CSV holds exactly
//! the profile's numbers.

use lathe_core::chart::Figure;
use lathe_core::dataset;
use lathe_core::dataset::chart::{self, Kind};

use crate::support::{import, new_project, repo};

#[test]
fn every_chart_kind_renders_with_its_data() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    import(&project, &repo().join("tests/fixtures/data/cars.csv"), None);
    let profile = dataset::stored_profile(&project, "cars").unwrap();
    let out = repo().join("target/charts");
    std::fs::create_dir_all(&out).unwrap();
    for (kind, column) in [
        (None, Some("Horsepower")),
        (None, Some("Origin")),
        (Some(Kind::TopValues), Some("Cylinders")),
        (Some(Kind::Missing), None),
        (Some(Kind::Pearson), None),
        (Some(Kind::Spearman), None),
    ] {
        let c = chart::chart(&profile, kind, column).unwrap();
        let name = format!("cars-{}-{}", c.kind.name(), column.unwrap_or("all"));
        let svg = c.svg().unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
        assert!(
            svg.contains(&c.title.replace('·', "&#183;")) || svg.contains(&c.title),
            "{name}: the title is drawn"
        );
        for ext in ["svg", "png", "csv"] {
            lathe_core::chart::write(&c, &out.join(format!("{name}.{ext}"))).unwrap();
        }
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{name}");
        assert!(png.len() > 2_000, "{name}: a drawn image, not a blank one");
    }

    let horsepower = profile
        .columns
        .iter()
        .find(|c| c.name == "Horsepower")
        .unwrap();
    let histogram = horsepower.histogram.as_ref().unwrap();
    let csv = chart::chart(&profile, None, Some("Horsepower"))
        .unwrap()
        .csv()
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "bin_start,bin_end,count");
    assert_eq!(lines.len(), histogram.counts.len() + 1);
    let first: Vec<f64> = lines[1].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(
        first,
        [
            histogram.edges[0],
            histogram.edges[1],
            histogram.counts[0] as f64
        ]
    );

    let csv = chart::chart(&profile, Some(Kind::Missing), None)
        .unwrap()
        .csv()
        .unwrap();
    assert_eq!(csv.lines().next(), Some("column,count,share"));
    assert!(csv.contains("Horsepower,6,"), "{csv}");

    let csv = chart::chart(&profile, Some(Kind::Pearson), None)
        .unwrap()
        .csv()
        .unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("column,Miles_per_Gallon,Cylinders"),
        "{header}"
    );
    assert_eq!(
        csv.lines().count(),
        profile.correlations.pearson.columns.len() + 1
    );

    let csv = chart::chart(&profile, Some(Kind::TopValues), Some("Origin"))
        .unwrap()
        .csv()
        .unwrap();
    assert_eq!(
        csv.lines().take(2).collect::<Vec<_>>(),
        ["value,count", "USA,254"]
    );
}

#[test]
fn impossible_charts_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let project = new_project(tmp.path());
    import(&project, &repo().join("tests/fixtures/data/cars.csv"), None);
    let profile = dataset::stored_profile(&project, "cars").unwrap();
    let message = |kind: Option<Kind>, column: Option<&str>| {
        let err = chart::chart(&profile, kind, column).unwrap_err();
        assert_eq!(err.code(), "bad_argument");
        err.to_string()
    };
    assert!(message(Some(Kind::Histogram), Some("Origin")).contains("try --kind top-values"));
    assert!(message(None, Some("origin")).contains("no column named 'origin'"));
    assert!(message(None, None).contains("name a column"));
    assert!(message(Some(Kind::Histogram), None).contains("needs a column"));
    let c = chart::chart(&profile, Some(Kind::Missing), None).unwrap();
    let err = lathe_core::chart::write(&c, &tmp.path().join("chart.jpg")).unwrap_err();
    assert!(err.to_string().contains(".svg, .png or .csv"), "{err}");
}
