//! The project picker and overview, as a person uses them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{App, lathe};

/// The counts the overview shows, by kind, read from the page.
async fn shown_counts(app: &App) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for card in app
        .client
        .find_all(fantoccini::Locator::Css("[data-count]"))
        .await
        .expect("count cards")
    {
        let key = card
            .attr("data-count")
            .await
            .expect("attr")
            .expect("data-count");
        let value = card
            .find(fantoccini::Locator::Css(".stat-value"))
            .await
            .expect("value")
            .text()
            .await
            .expect("text");
        let number = value
            .trim()
            .replace(',', "")
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("count {key} shows {value:?}"));
        counts.insert(key, number);
    }
    counts
}

fn expected_counts(info: &Value) -> BTreeMap<String, u64> {
    info["counts"]
        .as_object()
        .expect("counts")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn open_the_demo_project_then_a_folder_that_is_not_a_project() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let info = lathe(&["info", "--json", "--project", demo_path]);

    let app = App::start(&[]).await;
    app.find("[data-testid=project-picker]").await;
    app.screenshot("01-project-picker").await;

    // Open the demo project by typing its path, as a keyboard user would.
    app.open_by_path(demo_path).await;
    app.find("[data-testid=overview]").await;
    assert_eq!(
        app.text("[data-testid=project-name]").await,
        info["name"].as_str().expect("name")
    );
    assert_eq!(
        shown_counts(&app).await,
        expected_counts(&info),
        "overview counts = lathe info --json"
    );
    let bytes = app
        .find("[data-testid=object-store-bytes]")
        .await
        .attr("data-bytes")
        .await
        .expect("attr");
    assert_eq!(
        bytes.as_deref().and_then(|b| b.parse::<u64>().ok()),
        info["object_store_bytes"].as_u64()
    );
    assert_eq!(
        app.text("[data-testid=schema-version]").await,
        info["schema_version"].to_string()
    );
    let activity = app.text("[data-testid=activity]").await;
    assert!(
        activity.contains("demo.create") && activity.contains("project.create"),
        "{activity}"
    );
    app.screenshot("02-demo-overview").await;

    // Back to the picker: the demo is now a recent project.
    app.click("[data-testid=close-project]").await;
    let recent = app.find("[data-testid=recent-projects] .recent-item").await;
    assert_eq!(
        recent.attr("title").await.expect("attr").as_deref(),
        Some(demo_path),
        "the demo is a recent project"
    );
    assert!(recent.text().await.expect("text").contains("Lathe demo"));
    app.screenshot("03-recent-projects").await;

    // A folder that is not a project: a clear error, shown, and nothing created in it.
    let plain = work.path().join("just-some-folder");
    std::fs::create_dir(&plain).expect("mkdir");
    std::fs::write(plain.join("train.csv"), "a,b\n1,2\n").expect("write");
    let plain_path = plain.to_str().expect("utf-8 path");
    app.open_by_path(plain_path).await;
    let alert = app.find("[role=alert]").await;
    assert_eq!(
        alert.attr("data-code").await.expect("attr").as_deref(),
        Some("not_a_project")
    );
    let message = alert.text().await.expect("text");
    assert!(
        message.contains("not a Lathe project") && message.contains(plain_path),
        "{message}"
    );
    app.screenshot("04-not-a-project-error").await;
    let entries: Vec<_> = std::fs::read_dir(&plain)
        .expect("read")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries, ["train.csv"], "opening must not create anything");
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_given_on_the_command_line_opens_at_start() {
    let work = tempfile::tempdir().expect("temp dir");
    let demo = work.path().join("demo");
    let demo_path = demo.to_str().expect("utf-8 path");
    lathe(&["demo", demo_path, "--json"]);
    let info = lathe(&["info", "--json", "--project", demo_path]);

    let app = App::start(&[demo_path]).await;
    app.find("[data-testid=overview]").await;
    assert_eq!(shown_counts(&app).await, expected_counts(&info));
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_serves_its_bundled_ui_and_refuses_ungranted_commands() {
    let app = App::start(&[]).await;
    app.find("[data-testid=project-picker]").await;
    // The embedded ui/dist through Tauri's custom protocol, not a dev server.
    let url = app.client.current_url().await.expect("url");
    assert_eq!(url.scheme(), "tauri", "{url}");

    // The capability grants the app's own commands, the open/save dialogs and event listening
    // only: a script in the page (say, injected through a rendered dataset value) cannot reach
    // anything else.
    let script = r#"
        const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], {})
            .then(() => done("allowed"), (e) => done("refused: " + String(e)));
    "#;
    for command in [
        "plugin:dialog|message",
        "plugin:event|emit",
        "plugin:window|close",
    ] {
        let outcome = app
            .client
            .execute_async(script, vec![Value::from(command)])
            .await
            .expect("run script");
        let outcome = outcome.as_str().unwrap_or_default().to_owned();
        assert!(
            outcome.starts_with("refused") && outcome.contains("not allowed"),
            "{command}: {outcome}"
        );
    }
    let granted = app
        .client
        .execute_async(script, vec![Value::from("recent_projects")])
        .await
        .expect("run script");
    assert_eq!(
        granted,
        Value::from("allowed"),
        "the app's own commands stay available"
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_a_project_at_a_typed_path() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().join("fraud");
    let dir_path = dir.to_str().expect("utf-8 path");

    let app = App::start(&[]).await;
    app.type_into("#new-name", "Fraud detection").await;
    app.type_into("[data-testid=project-path]", dir_path).await;
    app.click("[data-testid=create-at-path]").await;
    app.find("[data-testid=overview]").await;
    assert_eq!(
        app.text("[data-testid=project-name]").await,
        "Fraud detection"
    );
    app.screenshot("05-created-project").await;
    app.close().await;

    // The CLI sees the same project, created by the desktop app.
    let info = lathe(&["info", "--json", "--project", dir_path]);
    assert_eq!(info["name"], "Fraud detection");
    let log = lathe(&["log", "--json", "--project", dir_path]);
    assert_eq!(log[0]["action"], "project.create");
    assert_eq!(log[0]["tool"], "desktop");
}
