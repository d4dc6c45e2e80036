//! `flashpick tui`: the pick-and-pack screen. A client of the daemon's socket only — never the
//! database. The core (`app`: state and update, `view`: rendering) has no I/O; this file is the
//! thin shell around it: the terminal, the keyboard, the connection, the clock.

pub mod app;
pub mod i18n;
pub mod text;
pub mod view;
pub mod wedge;

use crate::api::client::ClientError;
use crate::api::session::{Incoming, Session};
use crate::api::{ApiError, ReplyKind, ReplyLine, Response};
use crate::model::Timestamp;
use anyhow::Context;
use app::{App, Cmd, Key, Msg, Tag};
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind, KeyModifiers};
use i18n::Lang;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often the countdowns and the flashing move.
const TICK: Duration = Duration::from_millis(500);
/// How long to wait between reconnection attempts.
const RETRY: Duration = Duration::from_secs(1);

/// Who works at this screen: the picker, and the station it stands at (its printers print the
/// documents this screen's changes cause).
#[derive(Debug, Clone)]
pub struct Who {
    /// The picker (the connection's actor).
    pub picker: String,
    /// The station, if the screen was started with one.
    pub station: Option<String>,
}

/// Runs the TUI until the user quits. Fails before touching the terminal when no daemon answers.
pub async fn run(
    socket: PathBuf,
    who: Who,
    lang: Lang,
    hint: Option<String>,
) -> anyhow::Result<()> {
    let name = format!("flashpick-tui {}", env!("CARGO_PKG_VERSION"));
    // First contact outside raw mode, so that "not running" is a plain message and the terminal
    // is never left in raw mode.
    let first = Session::open_at(&socket, &name, Some(&who.picker), who.station.as_deref()).await;
    let first = match first {
        Ok(c) => c,
        Err(e @ (ClientError::NotRunning { .. } | ClientError::PermissionDenied { .. })) => {
            return Err(e.into());
        }
        Err(e) => return Err(e).context("cannot talk to the daemon"),
    };
    // `try_init`: a terminal that cannot be set up is an error to report, not a panic; it also
    // installs a panic hook that restores the terminal.
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let result = event_loop(&mut terminal, socket, name, who, lang, hint, first).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    socket: PathBuf,
    name: String,
    who: Who,
    lang: Lang,
    hint: Option<String>,
    first: (Session, crate::api::Hello, mpsc::Receiver<Incoming>),
) -> anyhow::Result<()> {
    let (keys_tx, mut keys) = mpsc::channel(256);
    let stop = Arc::new(AtomicBool::new(false));
    let key_thread = spawn_keys(keys_tx, stop.clone());
    let (to_conn, from_app) = mpsc::channel(256);
    let (to_app, mut from_conn) = mpsc::channel(1024);
    let conn = tokio::spawn(connection(
        socket,
        name,
        who.clone(),
        first,
        from_app,
        to_app,
    ));
    let mut app = App::new(lang, &who.picker, Timestamp::now(), Instant::now());
    app.hint = hint;
    let mut tick = tokio::time::interval(TICK);
    let outcome = loop {
        terminal
            .draw(|f| view::render(&app, f))
            .context("drawing")?;
        let held = app.deadline();
        let msg = tokio::select! {
            k = keys.recv() => match k { Some(k) => Msg::Key(k, Instant::now()), None => break Ok(()) },
            m = from_conn.recv() => match m { Some(m) => m, None => break Ok(()) },
            _ = tick.tick() => Msg::Tick(Instant::now(), Timestamp::now()),
            _ = sleep_until(held) => Msg::Tick(Instant::now(), Timestamp::now()),
        };
        let mut quit = false;
        for cmd in app.update(msg) {
            match cmd {
                Cmd::Send(tag, req) => {
                    let _ = to_conn.send((tag, req)).await;
                }
                Cmd::Bell => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(b"\x07").and_then(|()| out.flush());
                }
                Cmd::Quit => quit = true,
            }
        }
        if quit {
            break Ok(());
        }
    };
    // The keyboard thread notices within its poll interval; it is not joined, because a read
    // blocked on a terminal that went away would hold the exit for ever.
    stop.store(true, Ordering::Relaxed);
    drop(key_thread);
    conn.abort();
    outcome
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

/// The keyboard, on a thread of its own (crossterm's reads block).
fn spawn_keys(tx: mpsc::Sender<Key>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
                continue;
            }
            let Ok(TermEvent::Key(k)) = event::read() else {
                continue;
            };
            if k.kind == KeyEventKind::Release {
                continue;
            }
            let key = match k.code {
                KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Interrupt,
                KeyCode::Char(c) => Key::Char(c),
                KeyCode::Enter => Key::Enter,
                KeyCode::Esc => Key::Esc,
                KeyCode::Up => Key::Up,
                KeyCode::Down => Key::Down,
                KeyCode::Backspace => Key::Backspace,
                _ => continue,
            };
            if tx.blocking_send(key).is_err() {
                return;
            }
        }
    })
}

/// Owns the connection: sends what the app asks, hands back replies and events, and reconnects
/// by itself when the daemon restarts.
async fn connection(
    socket: PathBuf,
    name: String,
    who: Who,
    first: (Session, crate::api::Hello, mpsc::Receiver<Incoming>),
    mut requests: mpsc::Receiver<(Tag, crate::api::Request)>,
    to_app: mpsc::Sender<Msg>,
) {
    let mut current = Some(first);
    loop {
        let (mut session, hello, mut incoming) = match current.take() {
            Some(c) => c,
            None => {
                match Session::open_at(&socket, &name, Some(&who.picker), who.station.as_deref())
                    .await
                {
                    Ok(c) => c,
                    Err(_) => {
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                }
            }
        };
        let store = hello.store_id.unwrap_or_default();
        if to_app.send(Msg::Connected(store)).await.is_err() {
            return;
        }
        let mut tags: HashMap<u64, (Tag, ReplyKind)> = HashMap::new();
        loop {
            tokio::select! {
                r = requests.recv() => {
                    let Some((tag, req)) = r else { return };
                    let kind = req.reply_kind();
                    match session.send(req).await {
                        Ok(id) => { tags.insert(id, (tag, kind)); }
                        Err(_) => break,
                    }
                }
                m = incoming.recv() => match m {
                    Some(Incoming::Reply(reply)) => {
                        let Some((tag, kind)) = reply.id.and_then(|id| tags.remove(&id)) else { continue };
                        let result = read_reply(kind, reply);
                        let _ = to_app.send(Msg::Reply(tag, result)).await;
                    }
                    Some(Incoming::Event(e)) => { let _ = to_app.send(Msg::Event(Box::new(e))).await; }
                    Some(Incoming::Closed) | None => break,
                },
            }
        }
        if to_app.send(Msg::Disconnected).await.is_err() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// A reply read as the kind its request gets; one that is not (another release of the daemon)
/// is an error the screen shows, never an empty list.
pub fn read_reply(kind: ReplyKind, reply: ReplyLine) -> Result<Response, ApiError> {
    let protocol = |message: String| ApiError {
        code: "protocol".into(),
        message,
    };
    match (reply.ok, reply.error) {
        (_, Some(e)) => Err(e),
        (Some(ok), None) => Response::read(kind, ok).map_err(|e| {
            protocol(format!(
                "the daemon's reply does not fit this screen ({e}): update flashpick on this PC"
            ))
        }),
        (None, None) => Err(protocol("the daemon sent an empty reply".into())),
    }
}
