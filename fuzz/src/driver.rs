//! Running a target over seeded inputs: in process (the bounded run in
//! `cargo test`, reproducing one seed) or as a campaign of worker
//! processes (`scripts/fuzz.sh`).
//!
//! A campaign runs one worker process per job, each running inputs one at
//! a time on a thread with a large stack ([`crate::STACK_SIZE`]). The
//! parent hands out seeds and collects verdicts; a worker that dies (a
//! crash: a signal kiln did not claim, an abort) or takes longer than
//! [`INPUT_TIMEOUT`] on one input fails that input and is replaced, so a
//! campaign survives the bugs it finds. Failing inputs are saved (the
//! input bytes, and for the differential target the module) under the
//! artifacts directory, named by seed.

use crate::seeds;
use crate::smith::FuzzModule;
use crate::target::{Target, TargetName, Verdict};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest a worker may spend on one input before it is killed and the
/// input counted as a failure (a hang).
pub const INPUT_TIMEOUT: Duration = Duration::from_secs(120);

/// Prefix of the lines a worker writes for its parent.
const RESULT: &str = "kiln-fuzz-result";

/// What a run found.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Inputs that passed.
    pub passed: u64,
    /// Inputs that failed.
    pub failed: u64,
    /// Inputs that could not be used.
    pub skipped: u64,
    /// Calls compared (differential) or compiles / loads done.
    pub calls: u64,
    /// Of those, trapped or rejected ones.
    pub traps: u64,
    /// Failures by class (the message's first word).
    pub classes: BTreeMap<String, u64>,
    /// Each failing seed with its message.
    pub failures: Vec<(u64, String)>,
}

impl Summary {
    /// Counts one verdict.
    pub fn record(&mut self, seed: u64, verdict: &Verdict) {
        match verdict {
            Verdict::Pass(p) => {
                self.passed += 1;
                self.calls += p.calls;
                self.traps += p.traps;
            }
            Verdict::Skip(_) => self.skipped += 1,
            Verdict::Fail(message) => {
                self.failed += 1;
                let class = message.split(':').next().unwrap_or(message).to_string();
                *self.classes.entry(class).or_default() += 1;
                self.failures.push((seed, message.clone()));
            }
        }
    }

    /// The closing line: `N passed, M failed`.
    pub fn totals_line(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// The input for `seed` of `target`.
pub fn input(target: TargetName, seed: u64) -> Vec<u8> {
    seeds::bytes(seed, seeds::len(seed, target.max_input_len()))
}

/// Runs `target` on one input, turning a panic into a failure.
pub fn run_one(target: &Target, data: &[u8]) -> Verdict {
    match catch_unwind(AssertUnwindSafe(|| target.run(data))) {
        Ok(verdict) => verdict,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Verdict::Fail(format!("panic: {message}"))
        }
    }
}

/// Runs `f` on a thread with a stack of [`crate::STACK_SIZE`] (kiln's
/// stack limit for the differential target is far above the default).
pub fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .name("kiln-fuzz".into())
        .stack_size(crate::STACK_SIZE)
        .spawn(f)
        .expect("spawning a thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `target` in this process on `seeds`, one after another.
pub fn run_seeds(target: &Target, name: TargetName, seeds: impl IntoIterator<Item = u64>) -> Summary {
    let mut summary = Summary::default();
    for seed in seeds {
        let verdict = run_one(target, &input(name, seed));
        summary.record(seed, &verdict);
    }
    summary
}

/// How a campaign runs.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// The target.
    pub target: TargetName,
    /// Extra arguments for the workers (the target's options).
    pub worker_args: Vec<String>,
    /// Stop handing out inputs after this long.
    pub duration: Option<Duration>,
    /// Stop after this many inputs.
    pub inputs: Option<u64>,
    /// The first seed; inputs use consecutive seeds.
    pub first_seed: u64,
    /// Worker processes.
    pub jobs: usize,
    /// Where failing inputs are saved.
    pub artifacts: PathBuf,
}

struct Worker {
    /// Which spawn of its slot this is; events of an earlier one (killed
    /// for a timeout) are ignored.
    generation: u64,
    child: Child,
    stdin: ChildStdin,
    /// The seed it is running and since when.
    busy: Option<(u64, Instant)>,
}

enum Event {
    Line(usize, u64, String),
    Exited(usize, u64),
}

impl Campaign {
    fn spawn(&self, id: usize, generation: u64, events: &mpsc::Sender<Event>) -> std::io::Result<Worker> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(self.target.as_str())
            .arg("--worker")
            .args(&self.worker_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let events = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if events.send(Event::Line(id, generation, line)).is_err() {
                    return;
                }
            }
            let _ = events.send(Event::Exited(id, generation));
        });
        Ok(Worker { generation, child, stdin, busy: None })
    }

    /// Runs the campaign, printing progress and a summary that ends with
    /// the totals line.
    pub fn run(&self) -> std::io::Result<Summary> {
        let start = Instant::now();
        let (tx, rx) = mpsc::channel();
        let mut workers: Vec<Option<Worker>> = Vec::new();
        let mut generation = 0;
        for id in 0..self.jobs {
            workers.push(Some(self.spawn(id, generation, &tx)?));
        }
        let mut summary = Summary::default();
        let mut next_seed = self.first_seed;
        let mut handed_out = 0u64;
        let mut last_report = Instant::now();
        let out_of_time = |now: Instant| self.duration.is_some_and(|d| now.duration_since(start) >= d);
        loop {
            let now = Instant::now();
            let more = !out_of_time(now) && self.inputs.is_none_or(|n| handed_out < n);
            for worker in workers.iter_mut().flatten() {
                if worker.busy.is_none() && more && self.inputs.is_none_or(|n| handed_out < n) {
                    writeln!(worker.stdin, "{next_seed}")?;
                    worker.stdin.flush()?;
                    worker.busy = Some((next_seed, Instant::now()));
                    next_seed += 1;
                    handed_out += 1;
                }
            }
            if !more && workers.iter().flatten().all(|w| w.busy.is_none()) {
                break;
            }
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(Event::Line(id, g, line)) => {
                    let Some(rest) = line.strip_prefix(RESULT) else { continue };
                    let Some(worker) = workers[id].as_mut().filter(|w| w.generation == g) else { continue };
                    let Some((seed, _)) = worker.busy.take() else { continue };
                    let verdict = parse_verdict(rest.trim_start());
                    self.record(&mut summary, seed, &verdict);
                }
                Ok(Event::Exited(id, g)) => {
                    if workers[id].as_ref().is_some_and(|w| w.generation == g) {
                        let mut worker = workers[id].take().expect("checked");
                        let status = worker.child.wait()?;
                        if let Some((seed, _)) = worker.busy {
                            let verdict = Verdict::Fail(format!("crash: the worker died ({status}) on this input"));
                            self.record(&mut summary, seed, &verdict);
                        }
                        generation += 1;
                        workers[id] = Some(self.spawn(id, generation, &tx)?);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            for (id, slot) in workers.iter_mut().enumerate() {
                let hung = slot.as_ref().and_then(|w| w.busy).filter(|(_, since)| since.elapsed() > INPUT_TIMEOUT);
                if let Some((seed, _)) = hung {
                    let mut worker = slot.take().expect("a busy worker");
                    let _ = worker.child.kill();
                    let _ = worker.child.wait();
                    let verdict = Verdict::Fail(format!("timeout: no verdict after {} s", INPUT_TIMEOUT.as_secs()));
                    self.record(&mut summary, seed, &verdict);
                    // Its reader thread's report of the exit names the old
                    // generation and is ignored.
                    generation += 1;
                    *slot = Some(self.spawn(id, generation, &tx)?);
                }
            }
            if last_report.elapsed() >= Duration::from_secs(30) {
                last_report = Instant::now();
                eprintln!("{}", self.progress(&summary, start.elapsed()));
            }
        }
        for mut worker in workers.into_iter().flatten() {
            drop(worker.stdin);
            let _ = worker.child.wait();
        }
        eprintln!("{}", self.progress(&summary, start.elapsed()));
        Ok(summary)
    }

    fn progress(&self, s: &Summary, elapsed: Duration) -> String {
        let done = s.passed + s.failed + s.skipped;
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
        let classes: Vec<String> = s.classes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        format!(
            "{}: {done} inputs in {:.0} s ({rate:.2}/s): {} passed, {} failed, {} skipped; {} calls, {} trapped{}",
            self.target,
            elapsed.as_secs_f64(),
            s.passed,
            s.failed,
            s.skipped,
            s.calls,
            s.traps,
            if classes.is_empty() { String::new() } else { format!("; failures: {}", classes.join(", ")) }
        )
    }

    fn record(&self, summary: &mut Summary, seed: u64, verdict: &Verdict) {
        summary.record(seed, verdict);
        if let Verdict::Fail(message) = verdict {
            eprintln!("FAIL seed {seed}: {message}");
            if let Err(e) = save(self.target, seed, message, &self.artifacts) {
                eprintln!("cannot save seed {seed} under {}: {e}", self.artifacts.display());
            }
        }
    }
}

/// Saves a failing input: `seed-N.bin`, `seed-N.txt` (the message) and,
/// for the differential target, the module as `seed-N.wasm` and `.wat`;
/// for the loader target, the mutant library as `seed-N.so` with the
/// ranges where it differs from its base in `seed-N.txt`.
pub fn save(target: TargetName, seed: u64, message: &str, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let data = input(target, seed);
    std::fs::write(dir.join(format!("seed-{seed}.bin")), &data)?;
    std::fs::write(dir.join(format!("seed-{seed}.txt")), format!("{message}\n"))?;
    if target == TargetName::Differential
        && let Ok(module) = FuzzModule::generate(&mut arbitrary::Unstructured::new(&data))
    {
        if let Ok(text) = wasmprinter::print_bytes(&module.wasm) {
            std::fs::write(dir.join(format!("seed-{seed}.wat")), text)?;
        }
        std::fs::write(dir.join(format!("seed-{seed}.wasm")), module.wasm)?;
    }
    if target == TargetName::Loader
        && let Ok(loader) = crate::loader::LoaderTarget::new()
        && let Ok((base, bytes, _)) = loader.mutant(&data)
    {
        std::fs::write(dir.join(format!("seed-{seed}.so")), &bytes)?;
        let note = format!("{message}\nbase {base}; {}\n", loader.describe_mutant(base, &bytes));
        std::fs::write(dir.join(format!("seed-{seed}.txt")), note)?;
    }
    Ok(())
}

/// A worker: reads seeds from standard input, one per line, and answers
/// each with a result line.
pub fn worker(target: Target, name: TargetName) -> std::io::Result<()> {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let line = line?;
        let Ok(seed) = line.trim().parse::<u64>() else { continue };
        let verdict = run_one(&target, &input(name, seed));
        writeln!(stdout, "{RESULT} {}", format_verdict(&verdict))?;
        stdout.flush()?;
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.replace('\n', " | ")
}

fn format_verdict(v: &Verdict) -> String {
    match v {
        Verdict::Pass(p) => format!("pass {} {}", p.calls, p.traps),
        Verdict::Skip(reason) => format!("skip {}", one_line(reason)),
        Verdict::Fail(message) => format!("fail {}", one_line(message)),
    }
}

fn parse_verdict(s: &str) -> Verdict {
    let (word, rest) = s.split_once(' ').unwrap_or((s, ""));
    match word {
        "pass" => {
            let mut numbers = rest.split(' ').map(|n| n.parse().unwrap_or(0));
            let calls = numbers.next().unwrap_or(0);
            let traps = numbers.next().unwrap_or(0);
            Verdict::Pass(crate::target::Pass { calls, traps })
        }
        "skip" => Verdict::Skip(rest.to_string()),
        "fail" => Verdict::Fail(rest.to_string()),
        other => Verdict::Fail(format!("protocol: the worker answered `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Pass;

    #[test]
    fn verdicts_survive_the_worker_protocol() {
        for v in [
            Verdict::Pass(Pass { calls: 12, traps: 3 }),
            Verdict::Skip("too short".into()),
            Verdict::Fail("missing-trap: call 3: f()".into()),
        ] {
            assert_eq!(parse_verdict(&format_verdict(&v)), v);
        }
        assert_eq!(parse_verdict("fail a\nb"), Verdict::Fail("a\nb".into()));
        assert!(matches!(parse_verdict("bogus"), Verdict::Fail(m) if m.starts_with("protocol")));
    }

    #[test]
    fn failures_are_counted_by_class_and_fail_the_totals() {
        let mut s = Summary::default();
        s.record(1, &Verdict::Pass(Pass { calls: 4, traps: 1 }));
        s.record(2, &Verdict::Fail("missing-trap: call 0".into()));
        s.record(3, &Verdict::Fail("missing-trap: call 2".into()));
        s.record(4, &Verdict::Skip("short".into()));
        assert_eq!(s.totals_line(), "1 passed, 2 failed");
        assert_eq!(s.classes.get("missing-trap"), Some(&2));
        assert_eq!(s.failures.iter().map(|f| f.0).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((s.calls, s.traps, s.skipped), (4, 1, 1));
    }
}
