//! `google-emulator`: runs the emulator for development.
//!
//! ```text
//! google-emulator [--listen 127.0.0.1:9900] [--service-account EMAIL --write FILE]
//! ```
//! With `--service-account`, registers that account and writes its key file, ready for a
//! `[[credentials]]` entry; point `[google]` URLs at the printed base URL.

use std::net::SocketAddr;

fn usage() -> ! {
    eprintln!("usage: google-emulator [--listen ADDR] [--service-account EMAIL --write FILE]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let mut listen: SocketAddr = "127.0.0.1:9900".parse().expect("valid default");
    let (mut account, mut write) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--service-account" => account = Some(args.next().unwrap_or_else(|| usage())),
            "--write" => write = Some(args.next().unwrap_or_else(|| usage())),
            "--help" | "-h" => usage(),
            _ => usage(),
        }
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("google-emulator: cannot listen on {listen}: {e}");
            std::process::exit(1)
        }
    };
    let handle = google_emulator::serve(listener).await.expect("listener is bound");
    println!("google-emulator listening on {}", handle.base_url());
    if let (Some(email), Some(path)) = (account, write) {
        let key = handle.create_service_account(&email);
        if let Err(e) = std::fs::write(&path, serde_json::to_string_pretty(&key).expect("json")) {
            eprintln!("google-emulator: cannot write {path}: {e}");
            std::process::exit(1)
        }
        println!("service account {email}: key file written to {path}");
    }
    let _ = tokio::signal::ctrl_c().await;
}
