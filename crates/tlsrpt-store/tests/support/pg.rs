//! A throwaway PostgreSQL cluster for tests: the Debian server binaries
//! (`/usr/lib/postgresql/<version>/bin`), a data directory under the system temp dir, a
//! loopback port picked here, trust authentication for the `postgres` superuser.
//! Included by path from the store tests and the CLI tests.
//!
//! * `initdb` runs once per build tree (a template under `CARGO_TARGET_TMPDIR`); each cluster
//!   starts from a copy, which takes a fifth of a second instead of two.
//! * initdb and postgres refuse to run as root; as root, they run as the `postgres` user the
//!   Debian package creates.
//! * A small shell watchdog owns the server. It stops it and deletes the directory as soon as
//!   its stdin closes, which the OS does when the test process exits for any reason (end,
//!   panic, SIGKILL), so no server outlives its tests, including the shared one in a static.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The watchdog: `$1` is the cluster directory, the rest the server command. Reads `stop` and
/// `start` lines (answering `stopped`/`started`); at end of input stops the server and
/// deletes the directory.
const WATCHDOG: &str = r#"
dir=$1; shift
up() { "$@" >>"$dir/log" 2>&1 & }
down() {
  pid=$(head -n1 "$dir/data/postmaster.pid" 2>/dev/null) && kill -INT "$pid" 2>/dev/null
  wait
}
up "$@"
while read -r cmd; do
  case $cmd in
    stop) down; echo stopped ;;
    start) up "$@"; echo started ;;
  esac
done
down
rm -rf "$dir"
"#;

pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    control: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

impl Cluster {
    /// One cluster for the whole test process, started on first use.
    pub fn shared() -> &'static Cluster {
        static SHARED: OnceLock<Cluster> = OnceLock::new();
        SHARED.get_or_init(Cluster::start)
    }

    /// A cluster of one's own (to stop and start it).
    pub fn start() -> Cluster {
        Cluster::start_with(|_| Vec::new())
    }

    /// A cluster of one's own; `configure` may write files into the cluster directory (it
    /// gets the path) and returns more server arguments (`-c name=value`, ...).
    pub fn start_with(configure: impl FnOnce(&Path) -> Vec<String>) -> Cluster {
        let bin = server_bin();
        let template = template(&bin);
        let dir = tempfile::Builder::new()
            .prefix("tlsrpt-pg-")
            .tempdir()
            .unwrap()
            .keep();
        copy_dir(&template, &dir.join("data"));
        let extra = configure(&dir);
        chown_for_server(&dir);
        let port = free_port();
        let mut server = as_server_user(&bin.join("postgres"));
        server.args(["-D"]).arg(dir.join("data")).args([
            "-k",
            dir.to_str().unwrap(),
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-c",
            "fsync=off",
            "-c",
            "max_connections=200",
        ]);
        server.args(extra);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("watchdog")
            .arg(&dir)
            .arg(server.get_program())
            .args(server.get_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Not the test's stderr: the test harness would wait for the server to close it.
            .stderr(Stdio::null())
            .spawn()
            .expect("sh");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let cluster = Cluster {
            dir,
            port,
            bin,
            control: Mutex::new((child, stdin, stdout)),
        };
        cluster.wait_ready();
        cluster
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id (benchmarks read its CPU time, which includes that of
    /// the backends it has reaped).
    pub fn server_pid(&self) -> u32 {
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap();
        pid.lines().next().unwrap().trim().parse().unwrap()
    }

    /// A URL of a new, empty database.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let status = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg(&name)
            .status()
            .unwrap();
        assert!(status.success(), "createdb {name}: {}", self.log());
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Fast shutdown (clients are disconnected, committed work is durable).
    pub fn stop(&self) {
        self.command("stop", "stopped");
    }

    /// Starts the server again after [`Cluster::stop`], on the same port and data.
    pub fn restart(&self) {
        self.command("start", "started");
        self.wait_ready();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    fn command(&self, command: &str, answer: &str) {
        let mut control = self.control.lock().unwrap();
        writeln!(control.1, "{command}").unwrap();
        control.1.flush().unwrap();
        let mut line = String::new();
        control.2.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), answer, "watchdog: {}", self.log());
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .unwrap()
                .success();
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "PostgreSQL did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The newest installed server's binary directory.
fn server_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (Debian package postgresql)")
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no /usr/lib/postgresql/*/bin/initdb")
        .1
}

/// An initialised data directory to copy, made once per build tree.
fn template(bin: &Path) -> PathBuf {
    let version = bin.parent().unwrap().file_name().unwrap().to_str().unwrap();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let template = root.join(format!("pg{version}-template"));
    if template.join("PG_VERSION").exists() {
        return template;
    }
    // initdb writes under the system temp dir: the server user may not reach the build tree.
    let work = tempfile::Builder::new()
        .prefix("tlsrpt-initdb-")
        .tempdir()
        .unwrap();
    chown_for_server(work.path());
    let output = as_server_user(&bin.join("initdb"))
        .arg("-D")
        .arg(work.path().join("data"))
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ])
        .arg("--no-sync")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::create_dir_all(&root).unwrap();
    let scratch = root.join(format!("pg{version}-template.{}", std::process::id()));
    copy_dir(&work.path().join("data"), &scratch);
    // Another test process may have won the race; either template is as good.
    if std::fs::rename(&scratch, &template).is_err() {
        std::fs::remove_dir_all(&scratch).unwrap();
    }
    template
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn chown_for_server(dir: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a {}", from.display());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
