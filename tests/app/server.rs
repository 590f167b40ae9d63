//! The real binary as a server on a free loopback port, and a minimal
//! HTTP/1.1 client for it (the tests need nothing more than this).

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running `memsess` binary, killed on drop. Its folder is removed at
/// the end of the test (see [`empty_dir`]).
pub struct Server {
    child: Child,
    pub port: u16,
    /// Its working folder, for tests that look at the files it wrote.
    #[allow(dead_code, reason = "not every test binary looks at the files")]
    pub dir: PathBuf,
    /// Everything it printed so far, stdout and stderr.
    log: Arc<Mutex<String>>,
}

/// A response: status, headers (lower-case names) and body.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The session cookie this response sets, as `name=value`.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .find_map(|(_, v)| {
                v.split(';')
                    .next()
                    .filter(|c| c.starts_with("gsid=") && c.len() > 5)
            })
            .map(str::to_owned)
    }
}

thread_local! {
    /// The folders made by the test running on this thread. libtest runs
    /// each test on a thread of its own (even with `--test-threads=1`), so
    /// they are dropped, and removed, when the test ends: when it passes
    /// and when it fails, after the unwinding has dropped (and so stopped)
    /// the servers and clients that used them.
    static TEST_DIRS: RefCell<Vec<TempDir>> = const { RefCell::new(Vec::new()) };
}

/// A fresh, empty folder under the temp directory that lives until the end
/// of the test that asked for it, so a binary can run with nothing beside
/// it and an app's files never land in the repository's `data/`.
///
/// It is a path, not a guard, so that it can be shared (two servers in
/// one folder, a server started again in the same folder) without
/// thinking about who removes it.
pub fn empty_dir() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("memsess-test-")
        .tempdir()
        .expect("a folder in the temp directory");
    let path = dir.path().to_owned();
    TEST_DIRS.with_borrow_mut(|dirs| dirs.push(dir));
    path
}

/// The binary, run in `dir` with `env` on top of a quiet, port-0 setup.
pub fn command(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memsess"));
    cmd.current_dir(dir)
        .env_remove("ROCKET_PROFILE")
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", "0")
        .env("ROCKET_LOG_LEVEL", "normal")
        .env("ROCKET_CLI_COLORS", "false")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary in `dir` with `env` until it exits (a launch that
/// should fail); whether it succeeded, and what it printed. A binary that
/// is still running after 30 s launched: it is stopped, and this reports
/// a success, so that a test of a refused launch fails rather than hangs.
#[allow(dead_code, reason = "not every test binary checks launches")]
pub fn launch_output(dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String) {
    let mut child = command(dir, env).spawn().expect("the memsess binary runs");
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|mut out| {
        std::thread::spawn(move || {
            let mut said = String::new();
            let _ = out.read_to_string(&mut said);
            said
        })
    })
    .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exited = loop {
        if let Some(status) = child.try_wait().expect("the binary can be waited for") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let said: String = readers.into_iter().map(|r| r.join().unwrap()).collect();
    (exited.is_none_or(|status| status.success()), said)
}

impl Server {
    /// Starts the binary and waits until it listens.
    pub fn start(env: &[(&str, &str)]) -> Server {
        Self::start_in(empty_dir(), env)
    }

    /// Starts the binary in `dir` (to keep files across restarts, or share
    /// them between servers).
    pub fn start_in(dir: PathBuf, env: &[(&str, &str)]) -> Server {
        let mut child = command(&dir, env).spawn().expect("the memsess binary runs");
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for out in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            let log = log.clone();
            // Keep draining the pipe for the server's whole life.
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let mut said = log.lock().unwrap();
                    said.push_str(&line);
                    said.push('\n');
                    drop(said);
                    if let Some(rest) = line.split("launched from http://127.0.0.1:").nth(1) {
                        let port = rest
                            .trim_end_matches(|c: char| !c.is_ascii_digit())
                            .parse::<u16>()
                            .ok();
                        let _ = tx.send(port);
                    }
                }
            });
        }
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("the server reports its port within 30 s");
        Server {
            child,
            port,
            dir,
            log,
        }
    }

    /// What the server printed, once it has printed `text` (waiting up to
    /// 10 s for it: stdout and stderr are read by separate threads).
    #[allow(dead_code, reason = "not every test binary reads the log")]
    pub fn log_with(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let said = self.log.lock().unwrap().clone();
            if said.contains(text) || Instant::now() > deadline {
                return said;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one request and reads the whole response.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n",
            self.port
        );
        for (name, value) in headers {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        if method == "POST" {
            // A form unless the caller named another type.
            if !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
            {
                req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            }
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        stream.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        parse(&raw)
    }

    /// A GET with an optional `Cookie` header.
    pub fn get(&self, path: &str, cookie: Option<&str>) -> HttpResponse {
        let headers: Vec<_> = cookie.map(|c| ("Cookie", c)).into_iter().collect();
        self.request("GET", path, &headers, "")
    }
}

fn parse(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let body = if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// The body of a chunked response, joined.
pub fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

impl Server {
    /// Stops the server with `signal` (`TERM` for a graceful stop, `KILL`
    /// for a crash), waits for it to exit, and hands back its folder so
    /// that another server can start in it.
    pub fn stop(mut self, signal: &str) -> PathBuf {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
        let status = self.child.wait().expect("the server exits");
        if signal == "TERM" {
            assert!(status.success(), "a graceful stop exits cleanly: {status}");
        }
        self.dir.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
