//! Threads for `kiln run` (wasi-threads), built for wasm32-wasip1-threads
//! and natively: the output must be the same.
//!
//! `threads`: four threads add to a counter under a mutex and to an
//! atomic counter, hand results back through `join` and a channel, and
//! wait on a condition variable; the totals are exact whatever the
//! interleaving. `threads exit`: a spawned thread ends the process with
//! status 7 while the main thread waits for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

const THREADS: u64 = 4;
const EACH: u64 = 20_000;

fn main() {
    if std::env::args().nth(1).as_deref() == Some("exit") {
        let child = thread::spawn(|| {
            println!("exiting from a thread");
            std::process::exit(7);
        });
        let _ = child.join();
        unreachable!("the process ended in the thread");
    }
    let locked = Arc::new(Mutex::new(0u64));
    let atomic = Arc::new(AtomicU64::new(0));
    let ready = Arc::new((Mutex::new(0u64), Condvar::new()));
    let (send, receive) = mpsc::channel();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (locked, atomic, ready, send) = (locked.clone(), atomic.clone(), ready.clone(), send.clone());
            thread::spawn(move || {
                for _ in 0..EACH {
                    *locked.lock().unwrap() += 1;
                    atomic.fetch_add(1, Ordering::SeqCst);
                }
                send.send(t * 100).unwrap();
                let (count, done) = &*ready;
                *count.lock().unwrap() += 1;
                done.notify_all();
                t + 1
            })
        })
        .collect();
    drop(send);
    {
        let (count, done) = &*ready;
        let mut finished = count.lock().unwrap();
        while *finished < THREADS {
            finished = done.wait(finished).unwrap();
        }
    }
    let joined: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let mut sent: Vec<u64> = receive.iter().collect();
    sent.sort();
    println!("mutex total: {}", *locked.lock().unwrap());
    println!("atomic total: {}", atomic.load(Ordering::SeqCst));
    println!("joined: {joined}");
    println!("sent: {sent:?}");
}
