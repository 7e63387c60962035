//! Browser tests: real headless Chromium, driven through WebDriver (chromedriver), against a real
//! Concord server over a fresh SQLite database. They click through the pages as a person would:
//! create organizations with the form, see an inline validation error, propose a partnership,
//! move it along its lifecycle, and see a stale, now-illegal stage change refused.
//!
//! chromedriver is looked up in `CONCORD_CHROMEDRIVER`, then `/usr/bin/chromedriver`, then `PATH`;
//! Chromium in `CONCORD_CHROMIUM`, then `/usr/bin/chromium`. Without chromedriver the test is
//! skipped with a message, unless `CONCORD_REQUIRE_BROWSER=1` (as in `scripts/test`), which makes
//! it fail instead.
//!
//! The WebDriver protocol is spoken directly over HTTP with `reqwest` (a handful of W3C commands,
//! see `Browser`), so no TLS stack or extra HTTP connector is needed.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestApp;
use concord_domain::account::{Role, TokenScope};
use concord_storage::Backend;
use reqwest::Method;
use serde_json::{json, Value};

/// How long an explicit wait for an element or a text lasts before the test fails.
const WAIT: Duration = Duration::from_secs(10);
/// How often an explicit wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

// ---------------------------------------------------------------------------------------------
// Finding and running chromedriver
// ---------------------------------------------------------------------------------------------

/// `CONCORD_CHROMEDRIVER`, else `/usr/bin/chromedriver`, else `chromedriver` on `PATH`; or why
/// none was found.
fn find_chromedriver() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CONCORD_CHROMEDRIVER").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "CONCORD_CHROMEDRIVER={} does not exist",
                p.display()
            ))
        };
    }
    let default = PathBuf::from("/usr/bin/chromedriver");
    if default.is_file() {
        return Ok(default);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("chromedriver"))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| "not in /usr/bin/chromedriver nor on PATH".to_string())
}

/// `CONCORD_CHROMIUM`, else `/usr/bin/chromium`, else `None` (chromedriver then looks for Chrome itself).
fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONCORD_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "CONCORD_CHROMIUM={} does not exist",
            p.display()
        );
        return Some(p);
    }
    let default = PathBuf::from("/usr/bin/chromium");
    default.is_file().then_some(default)
}

fn browser_required() -> bool {
    std::env::var("CONCORD_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A running chromedriver (and the Chromium profile directory it uses). Dropping it, on success
/// or on panic, asks chromedriver to close its sessions and exit, then kills it if it has not.
struct ChromeDriver {
    child: Child,
    port: u16,
    // Removed after chromedriver (and with it Chromium) has gone, since fields drop after `drop`.
    profile: tempfile::TempDir,
}

impl ChromeDriver {
    fn start(binary: &Path) -> ChromeDriver {
        let profile = tempfile::Builder::new()
            .prefix("concord-chromium-")
            .tempdir()
            .expect("temporary Chromium profile");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", binary.display()));
        ChromeDriver {
            child,
            port,
            profile,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until chromedriver answers `/status` with `ready: true`.
    async fn wait_ready(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited before it was ready ({status})");
            }
            if let Ok(r) = http.get(format!("{}/status", self.url())).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == json!(true) {
                        return;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {} within 15 s",
                self.port
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // `/shutdown` makes chromedriver quit every session (closing Chromium) and exit. This is a
        // plain blocking request because `drop` cannot await.
        if let Ok(mut s) =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1))
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A small W3C WebDriver client
// ---------------------------------------------------------------------------------------------

/// An error the WebDriver server reported (`no such element`, `stale element reference`, ...).
#[derive(Debug)]
struct WdError {
    error: String,
    message: String,
}

/// A reference to an element on the current page.
#[derive(Debug, Clone)]
struct El(String);

/// One browser session.
struct Browser {
    http: reqwest::Client,
    session: String,
}

impl Browser {
    async fn open(http: reqwest::Client, driver: &ChromeDriver, chromium: Option<&Path>) -> Self {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            "--window-size=1280,1024".into(),
        ];
        args.push(format!(
            "--user-data-dir={}",
            driver.profile.path().display()
        ));
        let mut chrome_options = json!({ "args": args });
        if let Some(bin) = chromium {
            chrome_options["binary"] = json!(bin.display().to_string());
        }
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": 30000, "script": 10000 },
                    "goog:chromeOptions": chrome_options,
                }
            }
        });
        let r = http
            .post(format!("{}/session", driver.url()))
            .json(&caps)
            .send()
            .await
            .expect("new WebDriver session");
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused a session ({status}): {body}"));
        Browser {
            session: format!("{}/session/{id}", driver.url()),
            http,
        }
    }

    async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WdError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.session));
        if let Some(b) = body {
            req = req.json(&b);
        } else if method == reqwest::Method::POST {
            req = req.json(&json!({}));
        }
        let r = req.send().await.map_err(|e| WdError {
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let ok = r.status().is_success();
        let v: Value = r.json().await.map_err(|e| WdError {
            error: "unreadable response".into(),
            message: e.to_string(),
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(WdError {
                error: value["error"].as_str().unwrap_or("unknown").into(),
                message: value["message"].as_str().unwrap_or("").into(),
            })
        }
    }

    async fn must(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.cmd(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("WebDriver {path}: {}: {}", e.error, e.message),
        }
    }

    async fn goto(&self, url: &str) {
        self.must(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn current_url(&self) -> String {
        self.must(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    async fn find(&self, css: &str) -> Result<El, WdError> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        Ok(El(v[ELEMENT_KEY]
            .as_str()
            .expect("element reference")
            .to_string()))
    }

    async fn find_all(&self, css: &str) -> Vec<El> {
        self.must(
            reqwest::Method::POST,
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        )
        .await
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| El(v[ELEMENT_KEY].as_str().expect("element").to_string()))
                .collect()
        })
        .unwrap_or_default()
    }

    /// What the page says, for failure messages.
    async fn describe(&self) -> String {
        let url = self.current_url().await;
        let text = match self.find("main").await {
            Ok(m) => self.text(&m).await,
            Err(_) => String::new(),
        };
        let text: String = text.chars().take(1500).collect();
        format!("at {url}; the page reads:\n{text}")
    }

    /// Explicit wait: the first element matching `css`, once there is one.
    async fn wait_for(&self, css: &str) -> El {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.find(css).await {
                Ok(el) => return el,
                Err(e) if e.error == "no such element" => {}
                Err(e) => panic!("looking for {css}: {}: {}", e.error, e.message),
            }
            if Instant::now() >= deadline {
                panic!(
                    "no element matches {css} after {WAIT:?}, {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Explicit wait: the element matching `css` once its text contains `want`.
    async fn wait_for_text(&self, css: &str, want: &str) -> El {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        loop {
            if let Ok(el) = self.find(css).await {
                // The page may be replaced between finding and reading: then look again.
                if let Ok(t) = self
                    .cmd(
                        reqwest::Method::GET,
                        &format!("/element/{}/text", el.0),
                        None,
                    )
                    .await
                {
                    last = t.as_str().unwrap_or_default().to_string();
                    if last.contains(want) {
                        return el;
                    }
                }
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css} does not contain {want:?} after {WAIT:?} (last text {last:?}), {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn text(&self, el: &El) -> String {
        self.must(
            reqwest::Method::GET,
            &format!("/element/{}/text", el.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The text of the first element matching `css`; when the page is replaced between finding
    /// the element and reading it (a form submission landing), it is found again.
    async fn text_of(&self, css: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let el = self.wait_for(css).await;
            match self
                .cmd(
                    reqwest::Method::GET,
                    &format!("/element/{}/text", el.0),
                    None,
                )
                .await
            {
                Ok(v) => return v.as_str().unwrap_or_default().to_string(),
                Err(e) if e.error.contains("stale") && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("WebDriver text of {css}: {}: {}", e.error, e.message),
            }
        }
    }

    /// A DOM property (`value`, `checked`, ...), as a string.
    async fn prop(&self, el: &El, name: &str) -> String {
        match self
            .must(
                reqwest::Method::GET,
                &format!("/element/{}/property/{name}", el.0),
                None,
            )
            .await
        {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    async fn attr(&self, el: &El, name: &str) -> Option<String> {
        self.must(
            reqwest::Method::GET,
            &format!("/element/{}/attribute/{name}", el.0),
            None,
        )
        .await
        .as_str()
        .map(str::to_string)
    }

    async fn click(&self, el: &El) {
        self.must(
            reqwest::Method::POST,
            &format!("/element/{}/click", el.0),
            None,
        )
        .await;
    }

    /// Clears the input matching `css` and types `text` into it.
    async fn fill(&self, css: &str, text: &str) {
        let el = self.wait_for(css).await;
        self.must(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            None,
        )
        .await;
        self.must(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({ "text": text })),
        )
        .await;
        assert_eq!(self.prop(&el, "value").await, text, "typed into {css}");
    }

    /// Sets a date input's value (typing into one depends on the browser's locale).
    async fn set_date(&self, css: &str, date: &str) {
        let el = self.wait_for(css).await;
        self.must(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "arguments[0].value = arguments[1];",
                "args": [ element_ref(&el), date ]
            })),
        )
        .await;
        assert_eq!(self.prop(&el, "value").await, date, "set {css}");
    }

    /// Chooses the option with `value` in the select matching `css`, as a click would.
    async fn choose(&self, css: &str, value: &str) {
        let option = self
            .wait_for(&format!("{css} option[value=\"{value}\"]"))
            .await;
        self.click(&option).await;
        let select = self.wait_for(css).await;
        assert_eq!(self.prop(&select, "value").await, value, "chose in {css}");
    }

    /// Ticks the checkbox matching `css`.
    async fn tick(&self, css: &str) {
        let el = self.wait_for(css).await;
        if self.prop(&el, "checked").await != "true" {
            self.click(&el).await;
        }
        assert_eq!(self.prop(&el, "checked").await, "true", "ticked {css}");
    }

    /// Clicks the form's primary submit button.
    async fn submit(&self) {
        let button = self
            .wait_for("form.form button[type=\"submit\"].primary")
            .await;
        self.click(&button).await;
    }

    /// The `value`s of the stage buttons the partnership page offers.
    async fn offered_stages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for b in self.find_all("form.transition button[name=\"to\"]").await {
            out.push(self.attr(&b, "value").await.unwrap_or_default());
        }
        out
    }

    /// The rows of the stage history, newest first: `[when, change, note]`.
    async fn history(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for row in self.find_all("#stage-history tbody tr").await {
            let cells = self
                .cmd(
                    reqwest::Method::POST,
                    &format!("/element/{}/elements", row.0),
                    Some(json!({ "using": "css selector", "value": "td" })),
                )
                .await
                .unwrap_or_else(|e| panic!("history cells: {}: {}", e.error, e.message));
            let mut texts = Vec::new();
            for c in cells.as_array().cloned().unwrap_or_default() {
                let el = El(c[ELEMENT_KEY].as_str().expect("cell").to_string());
                texts.push(self.text(&el).await);
            }
            rows.push(texts);
        }
        rows
    }

    async fn close(self) {
        let _ = self.cmd(reqwest::Method::DELETE, "", None).await;
    }

    /// Saves a PNG of the window to `path` (relative to the workspace root).
    async fn screenshot(&self, path: &str) {
        use base64::Engine;
        let png = self.must(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 screenshot"))
            .expect("decodable screenshot");
        let full = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(path);
        std::fs::write(&full, bytes).expect("write screenshot");
    }
}

/// An element as a WebDriver script argument.
fn element_ref(el: &El) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(ELEMENT_KEY.to_string(), Value::String(el.0.clone()));
    Value::Object(m)
}

/// The numeric id at the end of a page address such as `http://host/organizations/12`.
fn id_from_url(url: &str, prefix: &str) -> i64 {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    path.strip_prefix(prefix)
        .and_then(|rest| rest.parse().ok())
        .unwrap_or_else(|| panic!("expected {prefix}<id>, the browser is at {url}"))
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organizations_and_partnership_lifecycle_in_a_real_browser() {
    let chromedriver = match find_chromedriver() {
        Ok(path) => path,
        Err(why) if browser_required() => panic!(
            "CONCORD_REQUIRE_BROWSER=1 but chromedriver was not found ({why}); install it \
             (`apt-get install chromium chromium-driver`), put it on PATH or set CONCORD_CHROMEDRIVER"
        ),
        Err(why) => {
            // Written to the process's stderr directly, so the test harness does not swallow it.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED browser tests: chromedriver not found (set CONCORD_REQUIRE_BROWSER=1 to require them) [{why}]"
            );
            return;
        }
    };
    let chromium = find_chromium();
    let started = Instant::now();

    let mut driver = ChromeDriver::start(&chromedriver);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    driver.wait_ready(&http).await;
    let b = Browser::open(http, &driver, chromium.as_deref()).await;

    let app = TestApp::spawn(Backend::Sqlite, "browser")
        .await
        .expect("sqlite app");

    // Sign in through the form; a page that needs an account sends us there first.
    b.goto(&app.url("/organizations/new")).await;
    b.wait_for_text("main h1", "Sign in to Concord").await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", "wrong password entirely").await;
    b.submit().await;
    b.wait_for_text("#sign-in-error", "Invalid credentials.")
        .await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // a. Create an organization through the form; it shows on its page and in the list.
    let org1_name = "Harbor Family Medicine";
    b.goto(&app.url("/organizations/new")).await;
    b.wait_for_text("main h1", "New organization").await;
    b.fill("#f-name", org1_name).await;
    b.choose("#f-kind", "physician_group").await;
    b.fill("#f-city", "New Haven").await;
    b.fill("#f-state", "CT").await;
    b.fill("#f-zip", "06510").await;
    b.tick("input[name=\"capabilities_offered\"][value=\"primary_care\"]")
        .await;
    b.tick("input[name=\"capabilities_sought\"][value=\"dental\"]")
        .await;
    b.submit().await;

    b.wait_for_text("main h1", org1_name).await;
    let org1 = id_from_url(&b.current_url().await, "/organizations/");
    // The eyebrow is upper-cased by CSS; its DOM text is the label.
    let eyebrow = b.wait_for("main .eyebrow").await;
    assert_eq!(
        b.prop(&eyebrow, "textContent").await.trim(),
        "Physician group"
    );
    assert!(
        b.text_of("main .page-head .lede")
            .await
            .contains("New Haven, CT 06510"),
        "location shown: {}",
        b.describe().await
    );
    let tags: Vec<String> = {
        let mut t = Vec::new();
        for el in b.find_all("ul.tags li.tag").await {
            t.push(b.text(&el).await);
        }
        t
    };
    assert!(
        tags.contains(&"Primary care".to_string()),
        "offers: {tags:?}"
    );
    assert!(tags.contains(&"Dental care".to_string()), "seeks: {tags:?}");
    let (status, saved) = app.get_json(&format!("/api/v1/organizations/{org1}")).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["name"], org1_name);
    assert_eq!(saved["kind"], "physician_group");
    assert_eq!(saved["capabilities_offered"], json!(["primary_care"]));
    assert_eq!(saved["capabilities_sought"], json!(["dental"]));

    b.goto(&app.url("/organizations")).await;
    let link = b
        .wait_for(&format!("table.data a[href=\"/organizations/{org1}\"]"))
        .await;
    assert_eq!(b.text(&link).await, org1_name);

    // b. An invalid NPI is refused with the error next to the NPI input; what was typed stays.
    let org2_name = "Shoreline Dental Group";
    b.goto(&app.url("/organizations/new")).await;
    b.wait_for_text("main h1", "New organization").await;
    assert!(
        b.find("#e-npi").await.is_err(),
        "a fresh form shows no NPI error"
    );
    b.fill("#f-name", org2_name).await;
    b.choose("#f-kind", "dental_group").await;
    b.fill("#f-npi", "1234567890").await;
    b.fill("#f-city", "Branford").await;
    b.fill("#f-state", "CT").await;
    b.tick("input[name=\"capabilities_offered\"][value=\"dental\"]")
        .await;
    b.submit().await;

    let npi_error = b.wait_for(".field.has-error #f-npi ~ #e-npi").await;
    assert!(
        b.text(&npi_error).await.contains("check digit"),
        "NPI error reads: {}",
        b.text(&npi_error).await
    );
    let npi_input = b.wait_for("#f-npi").await;
    assert_eq!(
        b.attr(&npi_input, "aria-invalid").await.as_deref(),
        Some("true")
    );
    assert_eq!(
        b.attr(&npi_input, "aria-describedby").await.as_deref(),
        Some("e-npi")
    );
    assert_eq!(b.prop(&npi_input, "value").await, "1234567890");
    assert_eq!(
        b.prop(&b.wait_for("#f-name").await, "value").await,
        org2_name
    );
    assert_eq!(
        b.prop(&b.wait_for("#f-kind").await, "value").await,
        "dental_group"
    );
    assert!(b
        .text_of("div.alert.error[role=\"alert\"]")
        .await
        .contains("NPI"));
    let (_, found) = app.get_json("/api/v1/organizations?q=Shoreline").await;
    assert_eq!(
        found["total"], 0,
        "nothing saved from a refused form: {found}"
    );

    // c. Correct the NPI and save the second organization, then propose a partnership.
    b.fill("#f-npi", "1234567893").await;
    b.submit().await;
    b.wait_for_text("main h1", org2_name).await;
    let org2 = id_from_url(&b.current_url().await, "/organizations/");
    assert_ne!(org1, org2);

    let p_name = "Harbor–Shoreline Dental Access";
    b.goto(&app.url("/partnerships/new")).await;
    b.wait_for_text("main h1", "New partnership").await;
    b.fill("#f-name", p_name).await;
    b.choose("#f-type", "horizontally_adjacent").await;
    b.fill("#f-purpose", "Dental care for primary-care patients.")
        .await;
    b.choose("#f-party_org_0", &app.home.to_string()).await;
    b.fill("#f-party_role_0", "health system").await;
    b.choose("#f-party_org_1", &org2.to_string()).await;
    b.fill("#f-party_role_1", "dental").await;
    b.submit().await;

    let stage = b.wait_for("#current-stage").await;
    assert_eq!(b.text(&stage).await, "Exploring");
    let pid = id_from_url(&b.current_url().await, "/partnerships/");
    assert_eq!(b.text_of("main h1").await, p_name);
    let parties = b.text_of("main .card table.data tbody").await;
    assert!(
        parties.contains("Home Health System") && parties.contains(org2_name),
        "parties: {parties}"
    );
    assert_eq!(b.offered_stages().await, ["assessing"]);
    let history = b.history().await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0][1], "Created in Exploring");

    // d. Move it to Assessing with the button.
    let button = b
        .wait_for("form.transition button[name=\"to\"][value=\"assessing\"]")
        .await;
    assert_eq!(b.text(&button).await, "Move to Assessing");
    b.fill("#note", "Charter draft circulated").await;
    b.click(&button).await;

    b.wait_for_text("div.alert.success", "Moved to Assessing.")
        .await;
    assert_eq!(b.text_of("#current-stage").await, "Assessing");
    let history = b.history().await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0][1], "Exploring → Assessing");
    assert_eq!(history[0][2], "Charter draft circulated");
    assert_eq!(b.offered_stages().await, ["negotiating"]);

    // e. A page that went stale offers a move that is no longer legal: it is refused, by name.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    b.wait_for_text("#current-stage", "Assessing").await;
    let stale = b
        .wait_for("form.transition button[name=\"to\"][value=\"negotiating\"]")
        .await;
    let (status, moved) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/transitions"),
            &json!({ "to": "negotiating", "note": "moved elsewhere" }),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    b.click(&stale).await;

    let refusal = b.wait_for("#transition-error").await;
    let refusal = b.text(&refusal).await;
    assert!(refusal.contains("That change was refused"), "{refusal}");
    assert!(
        refusal.contains("cannot move from negotiating to negotiating"),
        "{refusal}"
    );
    assert!(
        refusal.contains("allowed next stages: active"),
        "the refusal names the allowed next stages: {refusal}"
    );
    assert_eq!(b.text_of("#current-stage").await, "Negotiating");
    assert_eq!(b.offered_stages().await, ["active"]);
    let history = b.history().await;
    assert_eq!(
        history.len(),
        3,
        "no stage change was recorded: {history:?}"
    );
    assert_eq!(history[0][1], "Assessing → Negotiating");
    let (_, p) = app.get_json(&format!("/api/v1/partnerships/{pid}")).await;
    assert_eq!(p["stage"], "negotiating", "{p}");

    // The buttons follow the state machine at every stage the page can show. Going active needs
    // a charter every party has signed.
    app.effective_charter(pid, org2).await;
    let (_, p) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/transitions"),
            &json!({ "to": "active" }),
        )
        .await;
    assert_eq!(p["stage"], "active", "{p}");
    let (_, p) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/transitions"),
            &json!({ "to": "under_review" }),
        )
        .await;
    assert_eq!(p["stage"], "under_review", "{p}");
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    b.wait_for_text("#current-stage", "Under review").await;
    assert_eq!(
        b.offered_stages().await,
        ["active", "restructuring", "ending"]
    );

    b.close().await;
    drop(driver);
    eprintln!(
        "browser test finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Starts chromedriver and a browser session, or returns `None` (with a note) when chromedriver
/// is missing and the browser is not required.
async fn open_browser() -> Option<(ChromeDriver, Browser)> {
    let chromedriver = match find_chromedriver() {
        Ok(path) => path,
        Err(why) if browser_required() => panic!(
            "CONCORD_REQUIRE_BROWSER=1 but chromedriver was not found ({why}); install it \
             (`apt-get install chromium chromium-driver`), put it on PATH or set CONCORD_CHROMEDRIVER"
        ),
        Err(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED browser tests: chromedriver not found (set CONCORD_REQUIRE_BROWSER=1 to require them) [{why}]"
            );
            return None;
        }
    };
    let chromium = find_chromium();
    let mut driver = ChromeDriver::start(&chromedriver);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    driver.wait_ready(&http).await;
    let b = Browser::open(http, &driver, chromium.as_deref()).await;
    Some((driver, b))
}

/// Drafting a charter section by section with inline errors, acknowledging and signing it, the
/// verdict with its reasons and suggestions, the version history and the diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charter_drafting_signing_and_verdict_in_a_real_browser() {
    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_charter")
        .await
        .expect("sqlite app");
    let dental = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    let partner = app
        .member(
            "manager@bright-harbor.example",
            dental,
            Role::AllianceManager,
            TokenScope::ReadWrite,
        )
        .await;

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // The partnership page shows the verdict and links to the charter.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    b.wait_for_text("#detail-verdict", "Transactional").await;
    let link = b.wait_for("#charter-link").await;
    b.click(&link).await;
    b.wait_for_text("main h1", "Charter").await;
    b.wait_for_text("#verdict-kind", "Transactional").await;
    assert!(b
        .text_of("#test-coopetition_scoped")
        .await
        .contains("There is no charter yet."));

    // Metrics: a target on the wrong side of the baseline is refused next to the input.
    b.goto(&app.url(&format!("/partnerships/{pid}/charter/edit?section=metrics")))
        .await;
    b.wait_for_text("main h1", "Edit: Success metrics").await;
    b.fill("#f-metrics\\.0\\.name", "Dental visit within 60 days")
        .await;
    b.choose("#f-metrics\\.0\\.category", "access").await;
    b.fill("#f-metrics\\.0\\.unit", "%").await;
    b.choose("#f-metrics\\.0\\.direction", "higher").await;
    b.fill("#f-metrics\\.0\\.baseline", "40").await;
    b.fill("#f-metrics\\.0\\.target", "30").await;
    b.set_date("#f-metrics\\.0\\.target_date", "2027-06-30")
        .await;
    b.choose("#f-metrics\\.0\\.cadence", "quarterly").await;
    b.choose("#f-metrics\\.0\\.owner", &dental.to_string())
        .await;
    b.submit().await;
    let err = b.wait_for("#e-metrics\\.0\\.target").await;
    let msg = b.text(&err).await;
    assert!(
        msg.contains("must be above the baseline"),
        "error next to the target: {msg}"
    );
    assert_eq!(
        b.prop(&b.wait_for("#f-metrics\\.0\\.name").await, "value")
            .await,
        "Dental visit within 60 days",
        "what was typed stays"
    );
    let (_, charter) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/charter"))
        .await;
    assert!(charter["draft"].is_null(), "nothing saved: {charter}");

    b.fill("#f-metrics\\.0\\.target", "60").await;
    b.submit().await;
    b.wait_for_text("#charter-notice", "Draft saved.").await;
    b.wait_for_text("#version-status", "Version 1 · Draft")
        .await;
    assert!(b
        .text_of("#table-metrics")
        .await
        .contains("Dental visit within 60 days"));

    // The rest of the charter through the API, then sign-off in the page.
    let home_manager = app.user_id_of(&app.token).await;
    let other_manager = app.user_id_of(&partner.token).await;
    let full = app.strategic_charter(dental, home_manager, other_manager);
    let (status, draft) = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/partnerships/{pid}/charter/draft"),
            &full,
        )
        .await;
    assert_eq!(status, 200, "{draft}");
    b.goto(&app.url(&format!("/partnerships/{pid}/charter")))
        .await;
    let ack = b.wait_for("#acknowledge").await;
    b.click(&ack).await;
    b.wait_for_text("#charter-notice", "acknowledged").await;
    let sign = b.wait_for("#sign").await;
    b.click(&sign).await;
    b.wait_for_text("#charter-notice", "Signed for your organization.")
        .await;
    assert!(
        b.text_of("#frozen")
            .await
            .contains("can no longer be edited"),
        "a signed draft is frozen"
    );
    // The verdict on the draft: everything but the partner's acknowledgement passes.
    b.wait_for_text("#verdict-kind", "Partly strategic").await;
    let stakes = b.text_of("#test-stakes_on_the_table").await;
    assert!(
        stakes.contains("Bright Harbor Dental has not acknowledged"),
        "the failing test names the party: {stakes}"
    );
    assert!(
        stakes.contains("should read the stakes ledger and acknowledge it"),
        "with a suggestion: {stakes}"
    );

    for what in ["acknowledgements", "signatures"] {
        let (status, body) = app
            .send_json_as(
                &partner.token,
                Method::POST,
                &format!("/api/v1/partnerships/{pid}/charter/{what}"),
                &json!({ "version": 1 }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    b.goto(&app.url(&format!("/partnerships/{pid}/charter")))
        .await;
    b.wait_for_text("#version-status", "Version 1 · Effective")
        .await;
    b.wait_for_text("#verdict-kind", "Strategic").await;
    assert_eq!(b.find_all("li.test.fail").await.len(), 0);

    // Version 2: raise the target; the diff names the change.
    b.goto(&app.url(&format!("/partnerships/{pid}/charter/edit?section=metrics")))
        .await;
    b.wait_for_text("#base-note", "new draft from the effective version 1")
        .await;
    b.fill("#f-metrics\\.0\\.target", "70").await;
    b.submit().await;
    b.wait_for_text("#version-status", "Version 2 · Draft")
        .await;
    let show = b.wait_for("#diff-form button").await;
    b.click(&show).await;
    b.wait_for_text("main h1", "Changes from version 1 to version 2")
        .await;
    let diff = b.text_of("#diff").await;
    assert!(diff.contains("target"), "{diff}");
    assert!(diff.contains("60") && diff.contains("70"), "{diff}");
    let (_, v2) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/charter/versions/2"))
        .await;
    assert_eq!(v2["content"]["metrics"][0]["target"], 70.0, "{v2}");
    assert_eq!(
        v2["content"]["metrics"][0]["id"], draft["content"]["metrics"][0]["id"],
        "the metric keeps its id across versions"
    );

    b.goto(&app.url(&format!("/partnerships/{pid}/charter?version=2")))
        .await;
    b.wait_for("#sign").await;
    if std::env::var_os("CONCORD_SCREENSHOTS").is_some() {
        b.goto(&app.url(&format!("/partnerships/{pid}/charter?version=1")))
            .await;
        b.wait_for("#verdict").await;
        b.screenshot("docs/screenshot-charter.png").await;
        b.goto(&app.url(&format!("/partnerships/{pid}/charter/edit?section=metrics")))
            .await;
        b.wait_for("#save-draft").await;
        b.screenshot("docs/screenshot-charter-edit.png").await;
    }
    b.close().await;
    drop(driver);
}

/// A journey's swimlane map and gaps in the browser: one lane per party (and "Unowned"), a card
/// per stage; fixing an unowned stage inline removes its gap; adding, moving and removing a
/// stage; a refused edit shown next to its input; a trial run whose blocking finding becomes a
/// gap until it is marked addressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_map_inline_editing_and_trial_runs_in_a_real_browser() {
    /// Waits until exactly `n` elements match `css`.
    async fn wait_count(b: &Browser, css: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = b.find_all(css).await.len();
            if found == n {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css} matches {found} elements, not {n}, {}",
                    b.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_journey")
        .await
        .expect("sqlite app");
    let dental = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    let (status, journey) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/journeys"),
            &json!({
                "name": "Referral from primary care to dental",
                "end_user": "patient",
                "design": {
                    "stages": [
                        { "id": 1, "name": "Oral health check at the annual visit", "owner": app.home,
                          "touchpoints": [ { "channel": "in_person", "description": "The physician looks at teeth and gums" } ],
                          "know": "Why gum disease matters for their diabetes", "feel": "Cared for, not lectured",
                          "do": "Agree to a dental referral", "days_to_next": 3,
                          "next_step": "The referral goes to the dental group" },
                        { "id": 2, "name": "Referral received, call to book",
                          "touchpoints": [ { "channel": "phone", "description": "A scheduler calls to book" },
                                           { "channel": "text", "description": "Reminder two days before", "support": true } ],
                          "know": "When and where the visit is", "feel": "Expected", "do": "Book a visit",
                          "days_to_next": 14, "next_step": "First dental visit" },
                        { "id": 3, "name": "First dental visit", "owner": dental,
                          "touchpoints": [ { "channel": "in_person", "description": "Cleaning and exam" } ],
                          "know": "What the dentist found", "feel": "Relieved", "do": "Book the follow-up" }
                    ],
                    "handoffs": [
                        { "from_stage": 1, "to_stage": 2, "channel": "portal", "information": "Referral with the latest HbA1c" },
                        { "from_stage": 2, "to_stage": 3, "channel": "text", "information": "Appointment reminder" }
                    ]
                }
            }),
        )
        .await;
    assert_eq!(status, 201, "{journey}");
    let jid = journey["id"].as_i64().expect("journey id");

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // The partnership page lists the journey with its stage and gap counts.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    let row = b
        .wait_for_text(
            &format!("#journey-row-{jid}"),
            "Referral from primary care to dental",
        )
        .await;
    let cells = b.text(&row).await;
    assert!(cells.contains("Patient") && cells.contains('3'), "{cells}");
    let link = b.wait_for(&format!("#journey-row-{jid} a")).await;
    b.click(&link).await;
    b.wait_for_text("#journey-name", "Referral from primary care to dental")
        .await;

    // One lane per party plus "Unowned" (stage 2 has no owner yet), one card per stage.
    wait_count(&b, "#journey-map g.lane", 3).await;
    assert_eq!(b.find_all("#journey-map g.lane.unowned").await.len(), 1);
    assert_eq!(b.find_all("#journey-map g.stage-card").await.len(), 3);
    assert_eq!(b.find_all("#journey-map g.handoff").await.len(), 2);
    let map = b.wait_for("#journey-map").await;
    assert_eq!(b.attr(&map, "role").await.as_deref(), Some("img"));
    assert!(b
        .attr(&map, "viewBox")
        .await
        .is_some_and(|v| v.starts_with("0 0 ")));
    assert_eq!(
        b.find_all("#journey-map g.stage-card.has-gaps").await.len(),
        1
    );
    b.wait_for("#map-stage-2.has-gaps").await;
    let gap = b.text_of("#gap-1").await;
    assert!(
        gap.contains("Nobody owns this stage") && gap.contains("Referral received, call to book"),
        "the unowned stage is a gap: {gap}"
    );
    assert_eq!(b.find_all("ol.gap-list li").await.len(), 1);

    // Give the stage an owner inline: the gap and the "Unowned" lane go away.
    b.choose("#s2-owner", &dental.to_string()).await;
    let save = b.wait_for("#s2-save").await;
    b.click(&save).await;
    b.wait_for("#no-gaps").await;
    assert!(
        b.current_url()
            .await
            .ends_with(&format!("/journeys/{jid}#stage-2")),
        "back at the stage: {}",
        b.current_url().await
    );
    wait_count(&b, "#journey-map g.lane", 2).await;
    assert_eq!(
        b.find_all("#journey-map g.stage-card.has-gaps").await.len(),
        0
    );
    let (_, saved) = app.get_json(&format!("/api/v1/journeys/{jid}")).await;
    assert_eq!(
        saved["journey"]["design"]["stages"][1]["owner"],
        json!(dental)
    );
    assert_eq!(
        saved["journey"]["design"]["stages"][1]["touchpoints"][1]["support"],
        json!(true),
        "the touchpoints were kept: {saved}"
    );

    // Add a stage at the end, move it up, remove it.
    b.fill("#snew-name", "Reminder call the day before").await;
    b.choose("#snew-owner", &dental.to_string()).await;
    let add = b.wait_for("#snew-save").await;
    b.click(&add).await;
    wait_count(&b, "#journey-map g.stage-card", 4).await;
    assert!(
        b.current_url().await.ends_with("#stage-4"),
        "{}",
        b.current_url().await
    );
    b.wait_for_text("#stage-4 h3", "4. Reminder call the day before")
        .await;
    let up = b.wait_for("#s4-up").await;
    b.click(&up).await;
    b.wait_for_text("#stage-4 h3", "3. Reminder call the day before")
        .await;
    b.wait_for_text("#stage-3 h3", "4. First dental visit")
        .await;
    let remove = b.wait_for("#s4-remove").await;
    b.click(&remove).await;
    wait_count(&b, "#journey-map g.stage-card", 3).await;
    assert!(b.find_all("#stage-4").await.is_empty());
    b.wait_for("#no-gaps").await;

    // A refused edit: an empty name is shown next to the name input, and nothing is saved.
    b.fill("#s1-next_step", "Referral sent the same day").await;
    b.fill("#s1-name", "   ").await;
    let save = b.wait_for("#s1-save").await;
    b.click(&save).await;
    let err = b.wait_for_text("#e-s1-name", "must not be empty").await;
    assert!(b.text(&err).await.contains("must not be empty"));
    b.wait_for_text("#journey-error", "Name: must not be empty")
        .await;
    assert_eq!(
        b.prop(&b.wait_for("#s1-next_step").await, "value").await,
        "Referral sent the same day",
        "what was typed stays"
    );
    let (_, after) = app.get_json(&format!("/api/v1/journeys/{jid}")).await;
    assert_eq!(
        after["journey"]["design"]["stages"][0]["name"],
        json!("Oral health check at the annual visit")
    );
    let web = app.sign_in("admin@home.example").await;
    let r = web
        .post_form(&format!("/journeys/{jid}/stages/1"), &[("name", " ")])
        .await;
    assert_eq!(r.status(), 422, "a refused stage edit answers 422");

    // A trial run: a participant id that is not pseudonymous is refused next to the input…
    b.goto(&app.url(&format!("/journeys/{jid}#record-run")))
        .await;
    b.set_date("#run-run_on", "2026-11-03").await;
    b.fill("#run-participants", "P-01, Jane Doe").await;
    b.choose("#run-fb0_stage", "3").await;
    b.fill("#run-fb0_participant", "P-01").await;
    b.choose("#run-fb0_severity", "blocking").await;
    b.fill(
        "#run-fb0_what_happened",
        "Went to the old address on the referral letter and missed the visit",
    )
    .await;
    b.fill("#run-fb0_felt", "Embarrassed").await;
    let record = b.wait_for("#record-run-save").await;
    b.click(&record).await;
    let err = b.wait_for("#e-run-participants").await;
    let msg = b.text(&err).await;
    assert!(
        msg.contains("Jane Doe") && msg.contains("pseudonymous"),
        "{msg}"
    );
    // …then recorded: the blocking finding is a gap on its stage.
    b.fill("#run-participants", "P-01, P-02").await;
    let record = b.wait_for("#record-run-save").await;
    b.click(&record).await;
    b.wait_for_text("#gaps", "Severe trial feedback not addressed")
        .await;
    b.wait_for("#map-stage-3.has-gaps").await;
    assert!(b.text_of("#gap-1").await.contains("First dental visit"));
    let (_, runs) = app
        .get_json(&format!("/api/v1/journeys/{jid}/trial-runs"))
        .await;
    let fid = runs[0]["feedback"][0]["id"].as_i64().expect("feedback id");
    assert_eq!(runs[0]["participants"], json!(["P-01", "P-02"]));

    if std::env::var_os("CONCORD_SCREENSHOTS").is_some() {
        b.goto(&app.url(&format!("/journeys/{jid}#map"))).await;
        b.wait_for("#journey-map").await;
        b.screenshot("docs/screenshot-journey.png").await;
    }
    // Addressing it closes the gap.
    b.fill(
        &format!("#f{fid}-note"),
        "The letter template now carries the new address",
    )
    .await;
    let address = b.wait_for(&format!("#feedback-{fid}-address")).await;
    b.click(&address).await;
    b.wait_for_text(
        &format!("#feedback-{fid}-addressed"),
        "The letter template now carries the new address",
    )
    .await;
    b.wait_for("#no-gaps").await;
    assert_eq!(
        b.find_all("#journey-map g.stage-card.has-gaps").await.len(),
        0
    );

    // A handoff across parties with neither channel nor information is a gap until removed.
    b.choose("#hnew-from_stage", "1").await;
    b.choose("#hnew-to_stage", "3").await;
    let add = b.wait_for("#hnew-save").await;
    b.click(&add).await;
    b.wait_for_text("#gaps", "Handoff without a channel").await;
    assert!(b
        .text_of("#gaps")
        .await
        .contains("Handoff without information"));
    wait_count(&b, "#journey-map g.handoff", 3).await;
    assert_eq!(
        b.find_all("#journey-map g.handoff.incomplete").await.len(),
        1
    );
    let remove = b.wait_for("#handoff-3-remove").await;
    b.click(&remove).await;
    b.wait_for("#no-gaps").await;
    wait_count(&b, "#journey-map g.handoff", 2).await;

    // An assumption linked to a stage; invalidating it inline makes that stage a gap.
    b.fill(
        "#anew-statement",
        "Patients read text messages from the dental group",
    )
    .await;
    b.tick("#anew-stages-2").await;
    let add = b.wait_for("#anew-save").await;
    b.click(&add).await;
    b.wait_for_text("#assumption-1", "Untested").await;
    assert!(b
        .text_of("#assumption-1")
        .await
        .contains("2. Referral received, call to book"));
    b.choose("#a1-status", "invalidated").await;
    b.fill(
        "#a1-evidence",
        "Half of the trial participants never opened the reminder",
    )
    .await;
    let save = b.wait_for("#a1-save").await;
    b.click(&save).await;
    b.wait_for_text("#assumption-1", "Invalidated").await;
    b.wait_for_text("#gaps", "Invalidated assumption still in the design")
        .await;
    b.wait_for("#map-stage-2.has-gaps").await;

    // A viewer sees the map and the gaps, and no form to change anything.
    app.member(
        "viewer@home.example",
        app.home,
        Role::Viewer,
        TokenScope::Read,
    )
    .await;
    let viewer = app.sign_in("viewer@home.example").await;
    let html = viewer
        .get(&format!("/journeys/{jid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"journey-map\"") && html.contains("id=\"gap-1\""));
    assert!(
        !html.contains(&format!("action=\"/journeys/{jid}")),
        "a viewer gets no journey forms"
    );
    let r = viewer
        .post_form(&format!("/journeys/{jid}/stages/1/remove"), &[])
        .await;
    assert_eq!(r.status(), 403);

    b.close().await;
    drop(driver);
}

/// The metrics of a signed charter in the browser: a chart per metric, reporting a value through
/// the form (a value that is not a number refused next to its input first), the chart gaining a
/// point, and the ledger verifying its chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reporting_and_the_ledger_in_a_real_browser() {
    /// Waits until exactly `n` elements match `css`.
    async fn wait_count(b: &Browser, css: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let found = b.find_all(css).await.len();
            if found == n {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{css}: {found} elements, expected {n}, {}",
                    b.describe().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_metrics")
        .await
        .expect("sqlite app");
    let dental = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    app.effective_charter(pid, dental).await;
    let (_, overview) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/metrics"))
        .await;
    // Home reports "Cost per referred patient" (annual, USD, lower is better).
    let ours = overview["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"]["name"] == "Cost per referred patient")
        .expect("home's metric")["metric"]["id"]
        .as_i64()
        .expect("metric id");
    let (status, e) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/metrics/{ours}/values"),
            &json!({ "period_start": "2024-01-01", "value": 390.0 }),
        )
        .await;
    assert_eq!(status, 201, "{e}");

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // From the partnership page to its metrics.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    let link = b.wait_for("#metrics-link").await;
    b.click(&link).await;
    b.wait_for_text("main h1", "Metrics and ledger").await;
    let points = format!("#metric-{ours} svg.metric-chart circle.point");
    wait_count(&b, &points, 1).await;
    let status = b.text_of(&format!("#metric-{ours}-status")).await;
    assert!(
        ["On track", "At risk", "Off track"].contains(&status.as_str()),
        "a status: {status}"
    );

    // A value that is not a number is refused next to its input; the typed text stays.
    b.choose(&format!("#m{ours}-period"), "2025-01-01").await;
    b.fill(&format!("#m{ours}-value"), "three hundred").await;
    let save = b.wait_for(&format!("#report-{ours}-save")).await;
    b.click(&save).await;
    b.wait_for_text(&format!("#e-m{ours}-value"), "is not a number")
        .await;
    assert_eq!(
        b.prop(&b.wait_for(&format!("#m{ours}-value")).await, "value")
            .await,
        "three hundred"
    );
    wait_count(&b, &points, 1).await;

    // A good one is recorded: the chart gains a point and the table lists it.
    b.choose(&format!("#m{ours}-period"), "2025-01-01").await;
    b.fill(&format!("#m{ours}-value"), "350").await;
    b.fill(&format!("#m{ours}-note"), "Fiscal year 2025").await;
    let save = b.wait_for(&format!("#report-{ours}-save")).await;
    b.click(&save).await;
    b.wait_for_text("#metrics-notice", "Value recorded in the ledger as entry 2")
        .await;
    wait_count(&b, &points, 2).await;
    let table = b.text_of(&format!("#metric-{ours}-values")).await;
    assert!(
        table.contains("350 USD") && table.contains("Fiscal year 2025"),
        "{table}"
    );

    if std::env::var_os("CONCORD_SCREENSHOTS").is_some() {
        b.goto(&app.url(&format!("/partnerships/{pid}/metrics#metric-{ours}")))
            .await;
        b.wait_for(&points).await;
        b.screenshot("docs/screenshot-metrics.png").await;
    }

    // The ledger verifies its chain and lists both entries, newest first.
    let ledger = b.wait_for("#ledger-link").await;
    b.click(&ledger).await;
    b.wait_for_text("main h1", "Metric ledger").await;
    b.wait_for_text("#verify-status", "Chain valid").await;
    assert!(b.text_of("#verify-summary").await.contains("All 2 entries"));
    wait_count(&b, "#ledger-table tbody tr", 2).await;
    assert!(b.text_of("#entry-2").await.contains("350 USD"));

    b.close().await;
    drop(driver);
}

/// Running the partnership in a real browser: a meeting recorded through the form (first refused
/// with the error next to the attendee list of the party nobody came for), a review opened early,
/// its decision recorded and signed; the other party's signature closes it and the stage follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_and_review_decision_in_a_real_browser() {
    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_operations")
        .await
        .expect("sqlite app");
    let dental = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    let partner = app.effective_charter(pid, dental).await;
    for to in ["assessing", "negotiating", "active"] {
        let (status, body) = app
            .post_json(
                &format!("/api/v1/partnerships/{pid}/transitions"),
                &json!({ "to": to }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let home = app.home.to_string();
    let soon = (chrono::Utc::now().date_naive() + chrono::Days::new(14))
        .format("%Y-%m-%d")
        .to_string();

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // From the partnership page to the meeting log.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    b.wait_for_text("#ops-commitments", "1 late").await;
    let link = b.wait_for("#meetings-link").await;
    b.click(&link).await;
    b.wait_for_text("main h1", "Meetings").await;
    b.wait_for_text("#cadence-kind", "Monthly").await;

    // Nobody named for the dental group: refused next to its attendee list, the rest kept.
    b.choose("#kind", "steering").await;
    b.fill(&format!("#attendees_{home}"), "Ana Ruiz").await;
    b.fill("#decisions", "Start referrals in March").await;
    b.fill("#action_0_what", "Send the referral list").await;
    b.choose("#action_0_owner", &home).await;
    b.fill("#action_0_owner_name", "Ana Ruiz").await;
    b.set_date("#action_0_due_on", &soon).await;
    let save = b.wait_for("#record-meeting-save").await;
    b.click(&save).await;
    let err = b.text_of(&format!("#e-attendees_{dental}")).await;
    assert!(
        err.contains("Nobody attended for Bright Harbor Dental"),
        "error next to the party's attendees: {err}"
    );
    assert_eq!(
        b.prop(&b.wait_for("#action_0_what").await, "value").await,
        "Send the referral list",
        "what was typed stays"
    );
    let (_, log) = app
        .get_json(&format!("/api/v1/partnerships/{pid}/meetings"))
        .await;
    assert_eq!(log["meetings"], json!([]), "nothing recorded: {log}");

    b.fill(&format!("#attendees_{dental}"), "Dr. Sam Lee").await;
    let save = b.wait_for("#record-meeting-save").await;
    b.click(&save).await;
    b.wait_for_text("#ops-notice", "Meeting recorded.").await;
    b.wait_for_text("#meeting-log", "Dr. Sam Lee").await;
    assert!(b
        .text_of("#meeting-log")
        .await
        .contains("Send the referral list"));

    // A review opened early: the partnership is under review and the packet is there.
    b.goto(&app.url(&format!("/partnerships/{pid}/reviews")))
        .await;
    b.wait_for_text("main h1", "Reviews").await;
    b.fill("#reason", "Referrals below plan").await;
    let open = b.wait_for("#open-review-save").await;
    b.click(&open).await;
    b.wait_for_text("#ops-notice", "Review opened").await;
    b.wait_for_text("#current-stage", "Under review").await;
    let metrics = b.text_of("#packet-metrics").await;
    assert!(
        metrics.contains("Dental visit within 60 days of referral")
            && metrics.contains("Cost per referred patient"),
        "{metrics}"
    );
    assert!(b
        .text_of("#packet-actions")
        .await
        .contains("Send the referral list"));

    // The decision, then the home organization's signature.
    let cont = b.wait_for("#decision-continue").await;
    b.click(&cont).await;
    b.fill("#rationale", "Access is recovering; keep going")
        .await;
    let decide = b.wait_for("#decision-save").await;
    b.click(&decide).await;
    b.wait_for_text("#decision-value", "Continue").await;
    b.wait_for_text("#review-status", "awaiting signatures")
        .await;
    let sign = b.wait_for("#sign-review-save").await;
    assert!(b.text(&sign).await.contains("Sign for Home Health System"));
    b.click(&sign).await;
    b.wait_for_text("#ops-notice", "Signed for your organization.")
        .await;
    assert!(b.find_all("#sign-review-save").await.is_empty());

    // The dental group's alliance manager signs too: closed, and the partnership is active again.
    let (status, body) = app
        .send_json_as(
            &partner.token,
            Method::POST,
            &format!("/api/v1/partnerships/{pid}/reviews/1/signatures"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    b.goto(&app.url(&format!("/partnerships/{pid}/reviews/1")))
        .await;
    b.wait_for_text("#review-status", "Closed").await;
    b.wait_for_text("#current-stage", "Active").await;
    assert!(b
        .text_of("#review-signatures")
        .await
        .contains("Bright Harbor Dental"));
    if std::env::var_os("CONCORD_SCREENSHOTS").is_some() {
        b.screenshot("docs/screenshot-review.png").await;
    }
    b.close().await;
    drop(driver);
}

/// Partner discovery in a real browser, over the real sample data shipped in `data/market/`: from
/// an organization's page to a market scan for dental care (a scan for nothing refused next to the
/// capability first), the plot and the ranked table, "evaluate" on the best candidate, the private
/// fit scorecard (price named as deliberately not a criterion), a judgement, and promotion to a
/// partnership in `exploring`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_scan_scorecard_and_promotion_in_a_real_browser() {
    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_discovery")
        .await
        .expect("sqlite app");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/market");
    concord_storage::market_import::import_shipped_samples(&app.store, &dir)
        .await
        .expect("shipped samples");
    let (status, org) = app
        .post_json(
            "/api/v1/organizations",
            &json!({ "name": "Hartford Primary Care", "kind": "physician_group",
                     "address": { "city": "Hartford", "state": "CT", "zip": "06106" } }),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    let id = org["id"].as_i64().expect("org id");

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // From the organization's page to the scan around it.
    b.goto(&app.url(&format!("/organizations/{id}"))).await;
    let scan = b.wait_for(&format!("a[href=\"/market?org={id}\"]")).await;
    b.click(&scan).await;
    b.wait_for_text("main h1", "Market scan").await;

    // Scanning for nothing (no capability, no partnership type) is refused next to the input.
    let go = b.wait_for("form.market-form button[type=\"submit\"]").await;
    b.click(&go).await;
    b.wait_for("#e-capability").await;
    assert!(b.find_all("svg.chart").await.is_empty());

    // Dental care within 25 miles: the plot and the ranked table, with reasons.
    b.choose("#capability", "dental").await;
    b.fill("#radius_miles", "25").await;
    let go = b.wait_for("form.market-form button[type=\"submit\"]").await;
    b.click(&go).await;
    b.wait_for_text(
        "#scan-summary",
        "candidates offering Dental care within 25 miles",
    )
    .await;
    assert!(
        !b.find_all("svg.chart circle.plot-dot").await.is_empty(),
        "dots on the plot: {}",
        b.describe().await
    );
    let table = b.text_of("main table").await;
    assert!(table.contains("miles"), "{table}");

    // Evaluate the best-ranked candidate: a private scorecard.
    let evaluate = b.wait_for("a[href^=\"/scorecards/new?\"]").await;
    b.click(&evaluate).await;
    b.submit().await;
    b.wait_for("#sc-total").await;
    let page = b.text_of("main").await;
    assert!(page.to_lowercase().contains("price"), "{page}");
    assert!(page.contains("Strategic alignment") && page.contains("Geographic fit"));
    let before = b.text_of("#sc-total").await;

    // A judgement with its evidence raises the total.
    b.choose("#j_strategic_alignment", "5").await;
    b.fill(
        "#e_strategic_alignment",
        "Both want diabetic patients seen by a dentist every year",
    )
    .await;
    let save = b
        .wait_for("form[action$=\"/judgements\"] button[type=\"submit\"]")
        .await;
    b.click(&save).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let now = b.text_of("#sc-total").await;
        if now != before && !now.is_empty() {
            let (x, y): (f64, f64) = (
                before.trim().parse().unwrap_or(0.0),
                now.trim().parse().unwrap_or(0.0),
            );
            assert!(y > x, "total {before} -> {now}");
            break;
        }
        assert!(Instant::now() < deadline, "total stayed {before}");
        tokio::time::sleep(POLL).await;
    }

    // Promotion: the candidate joins the ecosystem and a partnership starts in `exploring`.
    b.choose("#promote-type", "horizontally_adjacent").await;
    let promote = b
        .wait_for("form[action$=\"/promote\"] button[type=\"submit\"]")
        .await;
    b.click(&promote).await;
    b.wait_for_text("main", "Exploring").await;
    assert!(b.current_url().await.contains("/partnerships/"));

    b.close().await;
    drop(driver);
}

/// Sustaining a partnership in a real browser: a survey round opened and answered on the 1–5
/// scale (first refused with the unanswered statement named next to it, the other choices kept),
/// the results; the health page with its score and drivers; an early warning acknowledged after
/// a refusal for a missing note; and the portfolio home page listing the partnership with its
/// health.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survey_health_and_portfolio_in_a_real_browser() {
    let Some((driver, b)) = open_browser().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, "browser_health")
        .await
        .expect("sqlite app");
    let dental = app.org("Bright Harbor Dental", "dental_group").await;
    let pid = app
        .partnership("Smiles in primary care", app.home, dental)
        .await;
    app.effective_charter(pid, dental).await;
    // A shared high risk without mitigation: an early warning to acknowledge.
    let (status, risk) = app
        .post_json(
            &format!("/api/v1/partnerships/{pid}/risks"),
            &json!({ "category": "data_sharing", "title": "Referral data still sent by fax",
                     "likelihood": 4, "impact": 4 }),
        )
        .await;
    assert_eq!(status, 201, "{risk}");

    b.goto(&app.url("/sign-in")).await;
    b.fill("#f-email", "admin@home.example").await;
    b.fill("#f-password", common::PASSWORD).await;
    b.submit().await;
    b.wait_for_text("#who-org", "Home Health System").await;

    // The portfolio is the home page: the partnership is listed with a health score.
    b.goto(&app.url("/")).await;
    b.wait_for_text(&format!("#pf-row-{pid}"), "Smiles in primary care")
        .await;
    assert!(b.text_of("#pf-total").await.contains('1'));

    // Open a survey round from the partnership page.
    b.goto(&app.url(&format!("/partnerships/{pid}"))).await;
    let link = b.wait_for("#survey-link").await;
    b.click(&link).await;
    b.wait_for_text("main h1", "Joint health survey").await;
    b.fill("#title", "Autumn pulse").await;
    let open = b.wait_for("#survey-open-save").await;
    b.click(&open).await;
    b.wait_for("#survey-answer").await;

    // Every statement but one: refused, the missing one named, the others kept.
    let dims = [
        "trust",
        "communication",
        "shared_vision",
        "culture_fit",
        "governance",
        "value_realised",
        "fairness",
        "transparency",
    ];
    for d in dims {
        let choice = b.wait_for(&format!("#{d}-4")).await;
        b.click(&choice).await;
    }
    let send = b.wait_for("#survey-submit").await;
    b.click(&send).await;
    b.wait_for("#survey-errors").await;
    b.wait_for("#e-innovation").await;
    assert!(!b.text_of("#e-innovation").await.is_empty());
    assert_eq!(
        b.prop(&b.wait_for("#trust-4").await, "checked").await,
        "true",
        "the other answers are kept"
    );
    let choice = b.wait_for("#innovation-5").await;
    b.click(&choice).await;
    let send = b.wait_for("#survey-submit").await;
    b.click(&send).await;
    b.wait_for("#survey-answered").await;
    let results = b.wait_for("#survey-open-results").await;
    b.click(&results).await;
    b.wait_for_text("#survey-respondents", "1").await;

    // The health page: a score, the survey driver with data, and the risk's warning.
    b.goto(&app.url(&format!("/partnerships/{pid}/health")))
        .await;
    b.wait_for("#health-score").await;
    let score = b.text_of("#health-score").await;
    assert!(
        score.chars().any(|c| c.is_ascii_digit()),
        "a score: {score}"
    );
    let survey = b.text_of("#driver-survey_level").await;
    assert!(survey.contains("Survey"), "the survey driver: {survey}");
    let warnings = b.find_all("#warning-list form").await;
    assert!(!warnings.is_empty(), "{}", b.describe().await);
    // Acknowledging needs a note.
    let ack = b
        .wait_for("#warning-list form button[type=\"submit\"]")
        .await;
    b.click(&ack).await;
    b.wait_for("#warning-list .error").await;
    b.fill(
        "#warning-list textarea, #warning-list input[name=\"note\"]",
        "Fax replaced by Direct messaging next month.",
    )
    .await;
    let ack = b
        .wait_for("#warning-list form button[type=\"submit\"]")
        .await;
    b.click(&ack).await;
    b.wait_for_text("#warnings", "Fax replaced by Direct messaging")
        .await;

    b.close().await;
    drop(driver);
}
