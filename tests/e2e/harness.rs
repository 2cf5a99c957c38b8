//! Xvfb, tauri-driver and a WebDriver session, each stopped by a guard that also runs on panic.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Where screenshots are written: `<workspace>/target/e2e/`, whatever CARGO_TARGET_DIR is.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e")
}

/// The `lathe` CLI built next to `lathe-desktop` (cargo test builds every package's binaries
/// before running any test).
pub fn lathe_cli() -> PathBuf {
    let desktop = Path::new(env!("CARGO_BIN_EXE_lathe-desktop"));
    let cli = desktop.with_file_name("lathe");
    assert!(
        cli.is_file(),
        "{} is missing: run the whole suite (`scripts/test.sh`) or `cargo build -p lathe-cli` first",
        cli.display()
    );
    cli
}

pub fn lathe(args: &[&str]) -> Value {
    let out = Command::new(lathe_cli())
        .args(args)
        .output()
        .expect("run lathe");
    assert!(
        out.status.success(),
        "lathe {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("lathe printed JSON")
}

/// Sends SIGTERM (not SIGKILL: tauri-driver only stops WebKitWebDriver on SIGTERM/SIGINT) and
/// waits for the process to exit.
struct Terminate(Child);

impl Drop for Terminate {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One app at a time: parallel tests would race for X display numbers and driver ports, and on
/// two cores they only slow each other down.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The desktop app under test, with its own X display, its own config
/// folder (so the recent-projects list starts empty) and its own tauri-driver.
pub struct App {
    pub client: Client,
    /// The X display the app runs on, for driving native dialogs with xdotool.
    pub display: String,
    pub config_home: tempfile::TempDir,
    // Dropped after the client: the driver first, then the display.
    _driver: Terminate,
    _display: Option<Terminate>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl App {
    /// Starts `lathe-desktop` with `args`.
    pub async fn start(args: &[&str]) -> App {
        App::start_with_env(args, &[]).await
    }

    /// Starts `lathe-desktop` with `args` and these environment variables (credentials for a
    /// test's object store, say).
    pub async fn start_with_env(args: &[&str], env: &[(&str, String)]) -> App {
        let turn = ONE_APP_AT_A_TIME.lock().await;
        // Its own Xvfb, so the suite runs the same in CI and never opens windows on a developer's
        // screen; LATHE_E2E_DISPLAY=:0 watches it run on a real display instead.
        let (display, xvfb) = match std::env::var("LATHE_E2E_DISPLAY") {
            Ok(d) if !d.is_empty() => (d, None),
            _ => start_xvfb(),
        };
        let config_home = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let native_port = free_port();
        let driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display)
            .env("XDG_CONFIG_HOME", config_home.path())
            // GTK's dialogs save their settings through dconf, which without a session bus
            // prints a warning per write: hundreds of lines that bury a failing test's message.
            .env("GSETTINGS_BACKEND", "memory")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tauri-driver ({e}); install it with `cargo install tauri-driver --locked`"));
        let driver = Terminate(driver);
        wait_for("tauri-driver", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });

        let caps = json!({
            "browserName": "wry",
            "tauri:options": {
                "application": env!("CARGO_BIN_EXE_lathe-desktop"),
                "args": args,
            }
        });
        let caps = match caps {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        // tauri-driver listens before the WebKitWebDriver behind it is ready, so the first
        // attempts can fail at the connection level: retry those for a while.
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(15);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("WebDriver session not ready yet ({e}); retrying");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("no WebDriver session with lathe-desktop after 15 s: {e}"),
            }
        };
        App {
            client,
            display,
            config_home,
            _driver: driver,
            _display: xvfb,
            _turn: turn,
        }
    }

    /// Waits for an element to appear, up to 20 s.
    /// Runs `xdotool ARGS` on the app's display and returns its output; native GTK dialogs are
    /// outside WebDriver's reach.
    pub fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run xdotool ({e}); install it (apt install xdotool)")
            });
        assert!(
            out.status.success(),
            "xdotool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Starts dragging `paths` onto the app's window as a file manager would: a GTK drag source
    /// (`tests/e2e/drag_source.py`, Debian's python3 with python3-gi) in the screen's corner,
    /// pressed and moved with xdotool onto the middle of the window, where the pointer stays
    /// with the button down until [`Drag::drop`]. The app gets real XDND events, as from a
    /// desktop.
    pub async fn start_drag(&self, paths: &[&Path]) -> Drag<'_> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/drag_source.py");
        let source = Command::new("/usr/bin/python3")
            .arg(&script)
            .args(["1100", "700"])
            .args(paths)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start the drag source ({e}); install python3-gi and gir1.2-gtk-3.0")
            });
        let source = Terminate(source);
        self.xdotool(&[
            "search",
            "--sync",
            "--onlyvisible",
            "--name",
            "lathe-e2e-drag-source",
        ]);
        // Press in the source's button, then move in steps: GTK starts a drag past a few pixels
        // of motion, and each step is an XDND position message to whatever window is under it.
        let (from, to) = ((1180, 740), (640, 400));
        self.xdotool(&["mousemove", &from.0.to_string(), &from.1.to_string()]);
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.xdotool(&["mousedown", "1"]);
        for i in 1..=20 {
            let x = from.0 + (to.0 - from.0) * i / 20;
            let y = from.1 + (to.1 - from.1) * i / 20;
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Drag {
            app: self,
            source: Some(source),
        }
    }

    /// Puts `text` on the display's clipboard (`tests/e2e/clipboard.py` owns it until the
    /// returned guard drops), so it is pasted into a native dialog in one event: typed key by
    /// key, GTK's inline completion, computed in idle time for a prefix typed earlier, can land
    /// after the last key and append the rest of a name again (seen: "mlflow.dbdb",
    /// "cars.csv.csv").
    fn clipboard(&self, text: &str) -> Terminate {
        use std::io::BufRead as _;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/e2e/clipboard.py");
        let mut owner = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(text)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the clipboard owner ({e}); install python3-gi and gir1.2-gtk-3.0"
                )
            });
        let mut line = String::new();
        let stdout = owner.stdout.take().expect("the owner's stdout");
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        assert_eq!(line.trim(), "ready", "the clipboard owner did not start");
        Terminate(owner)
    }

    /// Answers the native file dialog titled `title` with `path`: Ctrl+L opens GTK's location
    /// field (selecting what is there), the path is pasted over it in one event, Return picks
    /// the file. Retried while the dialog stays open, since a loaded machine can drop keys sent
    /// before GTK is ready.
    pub async fn choose_file_in_dialog(&self, title: &str, path: &str) {
        let _clipboard = self.clipboard(path);
        let visible = |app: &App| {
            Command::new("xdotool")
                .args(["search", "--onlyvisible", "--name", title])
                .env("DISPLAY", &app.display)
                .output()
                .map(|o| o.status.success() && !o.stdout.is_empty())
                .unwrap_or(false)
        };
        let found = self.xdotool(&["search", "--sync", "--onlyvisible", "--name", title]);
        let window = found.lines().last().unwrap_or_default().to_owned();
        for attempt in 0..4 {
            // Without a window manager the keyboard follows the pointer.
            self.xdotool(&["mousemove", "--window", &window, "60", "60"]);
            tokio::time::sleep(Duration::from_millis(800 + 700 * attempt)).await;
            self.xdotool(&["key", "ctrl+l"]);
            tokio::time::sleep(Duration::from_millis(400)).await;
            self.xdotool(&["key", "ctrl+v"]);
            tokio::time::sleep(Duration::from_millis(400)).await;
            // The first Return may only accept the location field's completion popup (when the
            // folder holds look-alike names); a second one then picks the file.
            for _ in 0..2 {
                self.xdotool(&["key", "Return"]);
                let deadline = Instant::now() + Duration::from_millis(1500);
                while Instant::now() < deadline {
                    if !visible(self) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            eprintln!(
                "the file dialog is still open after attempt {}; retrying",
                attempt + 1
            );
        }
        // The dialog is outside WebDriver's screenshots: grab the X screen if ImageMagick is here.
        let shot = screenshot_dir().join("failed-dialog.png");
        let _ = std::fs::create_dir_all(screenshot_dir());
        let _ = Command::new("import")
            .args(["-window", "root"])
            .arg(&shot)
            .env("DISPLAY", &self.display)
            .status();
        panic!(
            "the file dialog '{title}' did not take the path {path} (see {})",
            shot.display()
        );
    }

    /// Answers the native save dialog titled `title` with `path`: its name field has focus
    /// with the proposed name in it, which is replaced whole by the full path.
    pub async fn save_in_dialog(&self, title: &str, path: &Path) {
        let _clipboard = self.clipboard(path.to_str().expect("utf-8 path"));
        let found = self.xdotool(&["search", "--sync", "--onlyvisible", "--name", title]);
        let window = found.lines().last().unwrap_or_default().to_owned();
        self.xdotool(&["mousemove", "--window", &window, "60", "60"]);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        self.xdotool(&["key", "ctrl+a"]);
        self.xdotool(&["key", "ctrl+v"]);
        tokio::time::sleep(Duration::from_millis(400)).await;
        self.xdotool(&["key", "Return"]);
    }

    /// Scrolls the element into view (for screenshots of what is below the fold).
    pub async fn scroll_to(&self, css: &str) {
        let element = self.find(css).await;
        let arg = serde_json::to_value(&element).expect("element as JSON");
        self.client
            .execute("arguments[0].scrollIntoView();", vec![arg])
            .await
            .expect("scroll into view");
    }

    /// The element matching `css`, waiting up to 20 s for it; on failure the window is saved as
    /// `target/e2e/failed-find.png` to show what was there instead.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.find_within(css, Duration::from_secs(20)).await
    }

    /// Waits for an element to appear, up to `timeout` (work done by a server, say).
    pub async fn find_within(&self, css: &str, timeout: Duration) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let _ = self.grab_window(&screenshot_dir().join("failed-find.png"));
                panic!("no element {css}: {e} (see target/e2e/failed-find.png)")
            }
        }
    }

    /// Clicks the element matching `css`, waiting for it to appear.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Types `text` into the field matching `css`, waiting for it to appear.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets a `<select>`'s value as a person picking an option does: a `change` event that
    /// bubbles (Svelte listens for it at the document), once the element is there.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css).await;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]); el.value = arguments[1]; el.dispatchEvent(new Event('change', { bubbles: true }));",
                vec![css.into(), value.into()],
            )
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    /// Types `path` into the picker's "Folder path" field and presses Open, as a keyboard
    /// user would.
    pub async fn open_by_path(&self, path: &str) {
        self.type_into("[data-testid=project-path]", path).await;
        self.click("[data-testid=open-path]").await;
    }

    /// Reads `css` (its `textContent` or an attribute) until `ok` holds, up to 20 s, and
    /// returns what it read. A node re-rendered between finding and reading is read again. On
    /// failure the window is saved as `target/e2e/failed-text.png`.
    async fn wait_for(
        &self,
        css: &str,
        read: Read<'_>,
        wanted: &str,
        ok: impl Fn(Option<&str>) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let element = self.find(css).await;
            let value = match read {
                Read::Text => element.prop("textContent").await,
                Read::Attr(name) => element.attr(name).await,
                Read::Prop(name) => element.prop(name).await,
            }
            .ok()
            .flatten();
            if ok(value.as_deref()) {
                return value;
            }
            if Instant::now() >= deadline {
                let _ = self.grab_window(&screenshot_dir().join("failed-text.png"));
                let what = match read {
                    Read::Text => String::new(),
                    Read::Attr(name) => format!(" [{name}]"),
                    Read::Prop(name) => format!(" .{name}"),
                };
                panic!("{css}{what} is {value:?}, never {wanted} (see target/e2e/failed-text.png)");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Waits for the `textContent` of `css` to pass `ok`, and returns it. Not WebDriver's
    /// visible text, which misses cells under a sticky header or clipped with an ellipsis.
    pub async fn wait_text_where(
        &self,
        css: &str,
        wanted: &str,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        self.wait_for(css, Read::Text, wanted, |t| ok(t.unwrap_or_default()))
            .await
            .unwrap_or_default()
    }

    /// Waits for the text of `css`, trimmed, to be `expected`.
    pub async fn wait_text(&self, css: &str, expected: &str) {
        self.wait_text_where(css, &format!("{expected:?}"), |t| t.trim() == expected)
            .await;
    }

    /// Waits for the text of `css` to hold `needle`, ignoring case, and returns the text.
    pub async fn wait_text_containing(&self, css: &str, needle: &str) -> String {
        let needle_lower = needle.to_lowercase();
        self.wait_text_where(css, &format!("holding {needle:?}"), |t| {
            t.to_lowercase().contains(&needle_lower)
        })
        .await
    }

    /// Waits for the attribute `attr` of `css` to be `expected`.
    pub async fn wait_attr(&self, css: &str, attr: &str, expected: &str) {
        self.wait_for(css, Read::Attr(attr), &format!("{expected:?}"), |v| {
            v == Some(expected)
        })
        .await;
    }

    /// Waits for the DOM property `prop` of `css` to be `expected` (a field's or a select's
    /// current `value`, which its attribute does not follow).
    pub async fn wait_prop(&self, css: &str, prop: &str, expected: &str) {
        self.wait_for(css, Read::Prop(prop), &format!("{expected:?}"), |v| {
            v == Some(expected)
        })
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("element text")
            .trim()
            .to_owned()
    }

    /// Writes `target/e2e/<name>.png`, after two animation frames so the screenshot shows the
    /// DOM as it is now rather than the previous frame.
    pub async fn screenshot(&self, name: &str) {
        self.client
            .execute_async("const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done()));", vec![])
            .await
            .expect("wait for paint");
        // The frame reaches the X server a moment after the page's animation frame.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let path = screenshot_dir().join(format!("{name}.png"));
        if let Err(e) = self.grab_window(&path) {
            panic!("screenshot {name}: {e}");
        }
    }

    /// Saves the app's window as X shows it, not WebDriver's snapshot: with compositing off (the
    /// app's default), WebKitGTK's WebDriver never answers a screenshot of a page shorter than
    /// the window.
    pub fn grab_window(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {} ({e})", dir.display()))?;
        }
        // Not `self.xdotool`, which panics: this also runs while a failure is being reported.
        let run = |program: &str, args: &[&str]| -> Result<String, String> {
            let out = Command::new(program)
                .args(args)
                .env("DISPLAY", &self.display)
                .output()
                .map_err(|e| format!("cannot run {program} ({e})"))?;
            if out.status.success() {
                Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
            } else {
                Err(format!(
                    "{program} {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            }
        };
        let ids = run(
            "xdotool",
            &["search", "--onlyvisible", "--class", "lathe-desktop"],
        )?;
        // The main window's title ends in "Lathe"; a file dialog's does not.
        let window = ids
            .lines()
            .find(|id| run("xdotool", &["getwindowname", id]).is_ok_and(|t| t.ends_with("Lathe")))
            .ok_or_else(|| format!("no visible Lathe window among {ids:?}"))?;
        run(
            "import",
            &["-window", window, &format!("png:{}", path.display())],
        )
        .map(drop)
    }

    pub async fn close(self) {
        let App {
            client,
            config_home,
            display: _,
            _driver,
            _display,
            _turn,
        } = self;
        let _ = client.close().await;
        drop(config_home);
    }
}

/// What [`App::wait_for`] reads of an element.
#[derive(Clone, Copy)]
enum Read<'a> {
    Text,
    Attr(&'a str),
    Prop(&'a str),
}

/// A virtual X display of its own, stopped on drop: for windows other than the desktop app's
/// (lathe-viewer).
pub struct XDisplay {
    pub name: String,
    _xvfb: Option<Terminate>,
}

pub fn x_display() -> XDisplay {
    let (name, xvfb) = start_xvfb();
    XDisplay { name, _xvfb: xvfb }
}

/// A drag in progress over the app's window (see [`App::start_drag`]).
pub struct Drag<'a> {
    app: &'a App,
    source: Option<Terminate>,
}

impl Drag<'_> {
    /// Releases the button over the window, and waits for the drag source to see the drop end.
    pub async fn drop(mut self) {
        self.app.xdotool(&["mouseup", "1"]);
        let mut source = self.source.take().expect("a drag in progress");
        let deadline = Instant::now() + Duration::from_secs(10);
        while source.0.try_wait().expect("drag source").is_none() {
            assert!(
                Instant::now() < deadline,
                "the drag source did not see its drag end within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Exited and reaped: nothing for Terminate's kill to do.
        std::mem::forget(source);
    }
}

fn start_xvfb() -> (String, Option<Terminate>) {
    let number = (90..190)
        .find(|n| {
            !Path::new(&format!("/tmp/.X{n}-lock")).exists()
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        })
        .expect("a free X display number");
    let xvfb = Command::new("Xvfb")
        .args([
            format!(":{number}").as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start Xvfb ({e}); install the xvfb package"));
    let xvfb = Terminate(xvfb);
    wait_for("Xvfb", Duration::from_secs(10), || {
        Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
    });
    (format!(":{number}"), Some(xvfb))
}
