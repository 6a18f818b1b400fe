//! The harness of `lulu-desktop`'s end-to-end tests: the real app in a real window,
//! driven through `tauri-driver` and `WebKitWebDriver` (run them under Xvfb:
//! `xvfb-run -a cargo test -p lulu-desktop-e2e`). Each [`Desktop`] has its own database
//! (`LULU_DB`), agent (`LULU_CLAUDE_BIN`: fake-claude) and `tauri-driver`; dropping it
//! stops the app, the driver (SIGTERM: it stops `WebKitWebDriver` with it) and the daemon.

#[path = "../../app-tauri/tests/support/binaries.rs"]
pub mod binaries;
pub mod memory;

pub use memory::{process_tree_memory, TreeMemory};

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long any wait for the window lasts before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The built app, `lulu` and `fake-claude`.
pub struct Apps {
    /// `lulu-desktop`.
    pub desktop: PathBuf,
    /// `lulu`.
    pub lulu: PathBuf,
    /// `fake-claude`.
    pub fake_claude: PathBuf,
}

/// Builds the app (and the binaries it needs) once per test binary.
pub fn apps() -> &'static Apps {
    static APPS: OnceLock<Apps> = OnceLock::new();
    APPS.get_or_init(|| {
        let bins = binaries::binaries();
        // `LULU_DESKTOP_BIN` measures another build (the release one the .deb holds).
        let desktop = std::env::var_os("LULU_DESKTOP_BIN").map_or_else(
            || {
                binaries::build(&[("lulu-app-tauri", "lulu-desktop")])
                    .pop()
                    .expect("lulu-desktop was built")
            },
            PathBuf::from,
        );
        Apps {
            desktop,
            lulu: bins.lulu.clone(),
            fake_claude: bins.fake_claude.clone(),
        }
    })
}

/// `tauri-driver`: `$TAURI_DRIVER`, else the one the test command installs under
/// `target/tauri-driver`, else from `PATH`.
fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return path.into();
    }
    let installed = binaries::workspace().join("target/tauri-driver/bin/tauri-driver");
    if installed.is_file() {
        installed
    } else {
        "tauri-driver".into()
    }
}

/// One app under test, with its own world.
pub struct Desktop {
    /// The temp dir holding the database and the sessions' working directory.
    pub dir: tempfile::TempDir,
    /// The `WebDriver` client (the window).
    pub client: Client,
    /// Milliseconds from asking for the app to its dashboard painted with the sessions.
    pub started_ms: u128,
    driver: Child,
    env: Vec<(String, String)>,
}

impl Desktop {
    /// Opens the app on a fresh database; `env` is added to the app's environment.
    ///
    /// # Errors
    /// The driver or the app did not come up.
    pub async fn open(env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let apps = apps();
        let mut all = vec![
            (
                "LULU_DB".to_owned(),
                dir.path().join("lulu.db").display().to_string(),
            ),
            (
                "LULU_CLAUDE_BIN".to_owned(),
                apps.fake_claude.display().to_string(),
            ),
            (
                "CLAUDE_CONFIG_DIR".to_owned(),
                dir.path().join("claude").display().to_string(),
            ),
            ("NO_AT_BRIDGE".to_owned(), "1".to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let began = Instant::now();
        let (driver, client) = launch(&all).await?;
        Ok(Self {
            dir,
            client,
            started_ms: began.elapsed().as_millis(),
            driver,
            env: all,
        })
    }

    /// The sessions' working directory (the temp dir).
    pub fn cwd(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Closes the app's window (the app exits) and opens it again on the same database.
    ///
    /// # Errors
    /// The app did not come back.
    pub async fn reopen(&mut self, extra: &[(&str, &str)]) -> anyhow::Result<()> {
        self.client.clone().close().await.ok();
        stop_driver(&mut self.driver);
        for (key, value) in extra {
            self.env.retain(|(k, _)| k != key);
            self.env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let began = Instant::now();
        let (driver, client) = launch(&self.env).await?;
        self.started_ms = began.elapsed().as_millis();
        self.driver = driver;
        self.client = client;
        Ok(())
    }

    /// Closes the window (the app exits); dropping then stops the driver and the daemon.
    pub async fn close(self) {
        self.client.clone().close().await.ok();
    }

    /// Runs `lulu` with this app's database and agent.
    ///
    /// # Errors
    /// It could not run.
    pub fn lulu(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut command = Command::new(&apps().lulu);
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        Ok(command.output()?)
    }

    /// Runs `lulu` with `args` (a `run -d` or `interrupt`), which must succeed; returns
    /// its output's first line (the id `run -d` prints).
    ///
    /// # Errors
    /// It failed.
    pub fn lulu_ok(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.lulu(args)?;
        if !output.status.success() {
            bail!(
                "lulu {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned())
    }

    /// Waits until the dashboard row of session `id` shows `text` (a status, say).
    ///
    /// # Errors
    /// It did not by the deadline.
    pub async fn wait_row(&self, id: &str, text: &str) -> anyhow::Result<String> {
        self.wait_text(&format!("#rows .row[data-id='{id}']"), |row| {
            row.contains(text)
        })
        .await
    }

    /// `lulu list --json`.
    ///
    /// # Errors
    /// It failed.
    pub fn sessions(&self) -> anyhow::Result<Vec<Value>> {
        let output = self.lulu(&["list", "--json"])?;
        if !output.status.success() {
            bail!(
                "lulu list failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    /// Waits for an element matching `css` whose text content satisfies `check`; returns it.
    ///
    /// # Errors
    /// None appeared by the deadline.
    pub async fn wait_text(
        &self,
        css: &str,
        check: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let began = Instant::now();
        let mut last = String::new();
        while began.elapsed() < DEADLINE {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    // The DOM's text, not WebDriver's idea of what is visible (it
                    // leaves out text in cells that clip with an ellipsis).
                    if let Ok(Some(text)) = element.prop("textContent").await {
                        if check(&text) {
                            return Ok(text);
                        }
                        last = text;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("no `{css}` with the expected text within {DEADLINE:?}; last seen: {last:?}")
    }

    /// Waits until `css` matches something.
    ///
    /// # Errors
    /// Nothing matched by the deadline.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        let began = Instant::now();
        while began.elapsed() < DEADLINE {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return Ok(element);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("nothing matched `{css}` within {DEADLINE:?}")
    }

    /// Clicks what `css` matches (waiting for it).
    ///
    /// # Errors
    /// It never appeared or could not be clicked.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        // Retried until it can be clicked (it may be opening, or replaced by an update).
        let began = Instant::now();
        loop {
            match self.wait_for(css).await?.click().await {
                Ok(()) => return Ok(()),
                Err(error) if began.elapsed() > DEADLINE => {
                    return Err(error).with_context(|| format!("click {css}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Replaces the value of the input `css` with `text`.
    ///
    /// # Errors
    /// It never appeared.
    pub async fn fill(&self, css: &str, text: &str) -> anyhow::Result<()> {
        // Retried until the field can take input (a dialog may still be opening).
        let began = Instant::now();
        loop {
            let element = self.wait_for(css).await?;
            let typed = async {
                element.clear().await?;
                element.send_keys(text).await
            };
            match typed.await {
                Ok(()) => return Ok(()),
                Err(error) if began.elapsed() > DEADLINE => {
                    return Err(error).with_context(|| format!("type into {css}"))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Presses `keys` together, as a person would (held down in order, released in
    /// reverse), wherever the focus is: `[Key::Control.into(), 'n']` is Ctrl+N.
    ///
    /// # Errors
    /// The driver refused.
    pub async fn press(&self, keys: &[char]) -> anyhow::Result<()> {
        use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".to_owned());
        for key in keys {
            actions = actions.then(KeyAction::Down { value: *key });
        }
        for key in keys.iter().rev() {
            actions = actions.then(KeyAction::Up { value: *key });
        }
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Waits until `expression` (JavaScript) is true in the page.
    ///
    /// # Errors
    /// It was not by the deadline.
    pub async fn wait_true(&self, expression: &str) -> anyhow::Result<()> {
        let began = Instant::now();
        while began.elapsed() < DEADLINE {
            if self.eval(&format!("return !!({expression})")).await? == json!(true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        bail!("`{expression}` was not true within {DEADLINE:?}")
    }

    /// Runs `script` in the page and returns its value.
    ///
    /// # Errors
    /// The script failed.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Runs asynchronous `script` (it calls `arguments[arguments.length - 1]` with its value).
    ///
    /// # Errors
    /// The script failed.
    pub async fn eval_async(&self, script: &str) -> anyhow::Result<Value> {
        Ok(self.client.execute_async(script, vec![]).await?)
    }

    /// The pid of this test's `lulu-desktop` (the one with its `LULU_DB`; the newest, as
    /// the one closed by [`Desktop::reopen`] may still be exiting).
    ///
    /// # Errors
    /// None runs.
    pub fn app_pid(&self) -> anyhow::Result<i32> {
        let db = format!("LULU_DB={}", self.dir.path().join("lulu.db").display());
        let mut newest: Option<(u64, i32)> = None;
        for entry in std::fs::read_dir("/proc")?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            if comm.trim() != "lulu-desktop" {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ.split(|b| *b == 0).any(|var| var == db.as_bytes()) {
                // Field 22 of `stat`, the 20th after the parenthesised name: start time.
                let started = std::fs::read_to_string(entry.path().join("stat"))
                    .ok()
                    .and_then(|stat| {
                        let (_, rest) = stat.rsplit_once(')')?;
                        rest.split_whitespace().nth(19)?.parse::<u64>().ok()
                    })
                    .unwrap_or(0);
                if newest.is_none_or(|(at, _)| started > at) {
                    newest = Some((started, pid));
                }
            }
        }
        match newest {
            Some((_, pid)) => Ok(pid),
            None => bail!("no lulu-desktop runs with {db}"),
        }
    }

    /// Saves a screenshot of the window as `name`.png in `$LULU_SCREENSHOTS_DIR` (default
    /// `target/desktop-screenshots`), after a pause for the frame to settle.
    ///
    /// # Errors
    /// It could not be taken or written.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let dir = std::env::var_os("LULU_SCREENSHOTS_DIR").map_or_else(
            || binaries::workspace().join("target/desktop-screenshots"),
            PathBuf::from,
        );
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // The window goes with the driver; the daemon (and every run) with `stop --force`.
        stop_driver(&mut self.driver);
        let _ = self.lulu(&["daemon", "stop", "--force"]);
    }
}

/// Starts a `tauri-driver` with `env` for the app and opens the app through it.
async fn launch(env: &[(String, String)]) -> anyhow::Result<(Child, Client)> {
    let port = free_port()?;
    let native = free_port()?;
    let mut command = Command::new(tauri_driver());
    command
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut driver = command.spawn().context(
        "cannot run tauri-driver: install it with `cargo install tauri-driver --locked`",
    )?;
    let client = match connect(port).await {
        Ok(client) => client,
        Err(error) => {
            stop_driver(&mut driver);
            return Err(error);
        }
    };
    wait_ready(&client).await?;
    Ok((driver, client))
}

async fn connect(port: u16) -> anyhow::Result<Client> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("browserName".into(), json!("wry"));
    capabilities.insert(
        "tauri:options".into(),
        json!({ "application": apps().desktop }),
    );
    let began = Instant::now();
    loop {
        let attempt = ClientBuilder::rustls()?
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(client) => return Ok(client),
            Err(error) if began.elapsed() > DEADLINE => {
                bail!("tauri-driver on port {port} did not open the app: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until the UI has read the sessions (`body[data-ready]`).
async fn wait_ready(client: &Client) -> anyhow::Result<()> {
    let began = Instant::now();
    while began.elapsed() < DEADLINE {
        if client
            .find(Locator::Css("body[data-ready='true']"))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("the dashboard never became ready")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// SIGTERM (never SIGKILL: that orphans `WebKitWebDriver`), then reap.
fn stop_driver(driver: &mut Child) {
    if let Ok(pid) = i32::try_from(driver.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(10) {
        if let Ok(Some(_)) = driver.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = driver.kill();
    let _ = driver.wait();
}

/// Whether `path` exists (for tests that check nothing was created).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
