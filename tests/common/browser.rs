//! A headless Chromium for the console's browser journeys: Debian's `chromedriver` started
//! on a free port as a child process (killed on drop), driven over WebDriver by fantoccini.
//! Every wait is bounded ([`WAIT`]): a page that never shows what a journey expects fails
//! the test with what it showed instead.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the driver and the browser.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The longest a journey waits for a page to show something.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Desktop and phone viewports of the screenshots.
pub const DESKTOP: (u32, u32) = (1280, 800);
/// Phone width (375 px).
pub const PHONE: (u32, u32) = (375, 812);

/// A running chromedriver in a process group of its own, with the browsers it started;
/// the whole group is killed when dropped (a failed journey leaves no Chromium behind).
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free port and waits (bounded) until it listens; `None`
    /// (after the skip policy) when it is not installed.
    async fn start() -> Option<Driver> {
        if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
            return posgate_actors::testing::unavailable(
                "Chromium",
                &format!("{CHROMEDRIVER} or {CHROMIUM} is not installed (apt-get install chromium-driver chromium)"),
            );
        }
        let port = super::process::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port };
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver never listened");
            tokio::time::sleep(POLL).await;
        }
        Some(driver)
    }
}

/// A headless Chromium session on the console of one gateway.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// `http://127.0.0.1:port` of the gateway.
    pub base: String,
    _driver: Driver,
}

impl Browser {
    /// Opens a headless Chromium (`--no-sandbox`, desktop size) for the gateway at `base`;
    /// `None` when Chromium is unavailable (and not required).
    pub async fn open(base: &str) -> Option<Browser> {
        let driver = Driver::start().await?;
        let (w, h) = DESKTOP;
        let options = json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=en-US", format!("--window-size={w},{h}")],
        });
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("WebDriver session");
        Some(Browser {
            client,
            base: base.to_string(),
            _driver: driver,
        })
    }

    /// Opens the console at `route` (`/overview`, `/merchants/3`...).
    pub async fn goto(&self, route: &str) {
        let url = format!("{}/console/#{route}", self.base);
        self.client.goto(&url).await.expect("navigate");
    }

    /// Resizes the window so that the page's viewport is `(width, height)` (the window's
    /// frame, if any, is added).
    pub async fn size(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("viewport");
        let frame =
            |want: u32, got: &Value| want.saturating_sub(got.as_u64().map_or(want, |g| g as u32));
        let (extra_w, extra_h) = (frame(width, &inner[0]), frame(height, &inner[1]));
        if extra_w > 0 || extra_h > 0 {
            self.client
                .set_window_size(width + extra_w, height + extra_h)
                .await
                .expect("window size");
        }
    }

    /// The first element matching `css`, waited for.
    pub async fn find(&self, css: &str) -> Element {
        self.until(css, |_| true).await
    }

    /// The first element matching `css` whose text contains `text`, waited for.
    pub async fn find_text(&self, css: &str, text: &str) -> Element {
        self.until(css, |t| t.contains(text)).await
    }

    /// Waits until an element matching `css` has a text satisfying `ok`; fails with what the
    /// page shows after [`WAIT`].
    async fn until(&self, css: &str, ok: impl Fn(&str) -> bool) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(found) = self.client.find_all(Locator::Css(css)).await {
                for el in found {
                    if el.text().await.is_ok_and(|t| ok(&t)) {
                        return el;
                    }
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {WAIT:?} for `{css}`; status: {:?}; page: {:?}",
                    self.status().await,
                    self.text("main").await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The text of the first element matching `css` ('' when there is none).
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The live region's text (results and errors).
    pub async fn status(&self) -> String {
        self.text("#status").await
    }

    /// Waits until the live region shows `text`.
    pub async fn said(&self, text: &str) {
        self.find_text("#status", text).await;
    }

    /// Waits until the page has rendered (its heading, no "Loading"), then checks that it
    /// shows no error.
    pub async fn rendered(&self, heading: &str) {
        self.find_text("#page h1", heading).await;
        let deadline = Instant::now() + WAIT;
        while self.text("#page").await.starts_with("Loading") {
            assert!(Instant::now() < deadline, "page still loading");
            tokio::time::sleep(POLL).await;
        }
        let class = self.find("#status").await.attr("class").await.unwrap();
        assert!(
            !class.unwrap_or_default().contains("error"),
            "the page shows an error: {}",
            self.status().await
        );
    }

    /// Clicks the first element matching `css` (waited for).
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Clears the field `css` (waited for) and types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear");
        el.send_keys(value).await.expect("type");
    }

    /// Presses `key` on the keyboard (on whatever has the focus).
    pub async fn press(&self, key: Key) {
        let actions = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key.into() })
            .then(KeyAction::Up { value: key.into() });
        self.client
            .perform_actions(actions)
            .await
            .expect("key press");
    }

    /// Presses Tab until the element matching `css` has the focus (at most 30 times);
    /// returns it.
    pub async fn tab_to(&self, css: &str) -> Element {
        let target = self.find(css).await;
        for _ in 0..30 {
            let active = self.client.active_element().await.expect("active element");
            if active.element_id() == target.element_id() {
                return active;
            }
            self.press(Key::Tab).await;
        }
        panic!("Tab never reached `{css}`");
    }

    /// Clicks `button` until an element matching `css` shows `text` ('' for any) (a list
    /// that refreshes on demand), within [`WAIT`].
    pub async fn refresh_until(&self, button: &str, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.click(button).await;
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            for el in found {
                if el.text().await.is_ok_and(|t| t.contains(text)) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` never showed {text:?}: {:?}",
                self.text("main").await
            );
            tokio::time::sleep(POLL * 3).await;
        }
    }

    /// Runs `script` in the page (its last argument is the callback of an async script).
    pub async fn run_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .expect("script")
    }

    /// Writes a screenshot of the page to `target/console-screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let png = self.client.screenshot().await.expect("screenshot");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Ends the WebDriver session (the driver is killed on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}
