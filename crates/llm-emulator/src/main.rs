//! `llm-emulator`: runs the LLM emulator for development and the demo.
//!
//! ```text
//! llm-emulator [--listen 127.0.0.1:9910] [--key KEY] [--script FILE]...
//! ```
//! Anthropic clients use the printed base URL; OpenAI-compatible ones add `/v1`.

use std::net::SocketAddr;

fn usage() -> ! {
    eprintln!("usage: llm-emulator [--listen ADDR] [--key KEY] [--script FILE]...");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_writer(std::io::stderr).init();
    let mut listen: SocketAddr = "127.0.0.1:9910".parse().expect("valid default");
    let (mut key, mut scripts) = (None, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--key" => key = Some(args.next().unwrap_or_else(|| usage())),
            "--script" => scripts.push(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("llm-emulator: cannot listen on {listen}: {e}");
            std::process::exit(1)
        }
    };
    let handle = llm_emulator::serve(listener).await.expect("listener is bound");
    if let Some(k) = key {
        handle.set_key(&k);
    }
    for path in scripts {
        let script = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()));
        match script {
            Ok(s) => handle.add_script(s),
            Err(e) => {
                eprintln!("llm-emulator: {path}: {e}");
                std::process::exit(2)
            }
        }
    }
    println!("llm-emulator listening on {}", handle.base_url());
    let _ = tokio::signal::ctrl_c().await;
}
