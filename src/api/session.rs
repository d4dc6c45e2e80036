//! A connection split in two for interactive clients (the TUI): requests go out through
//! [`Session`], replies and events come in on a channel filled by a reader task of their own, so
//! that waiting for the screen's input never cuts a line in half.

use super::client::ClientError;
use super::{Event, EventLine, Hello, HelloLine, PROTOCOL, ReplyLine, Request, RequestLine};
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;

/// What the daemon sent.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// The answer to the request with this id.
    Reply(ReplyLine),
    /// A pushed event.
    Event(Event),
    /// The connection ended (the daemon stopped or restarted).
    Closed,
}

/// The sending half.
pub struct Session {
    writer: OwnedWriteHalf,
    next_id: u64,
}

impl Session {
    /// Connects, says hello, and starts the reader. Returns the daemon's hello too.
    pub async fn open(
        path: &Path,
        client: &str,
        actor: Option<&str>,
    ) -> Result<(Session, Hello, mpsc::Receiver<Incoming>), ClientError> {
        Session::open_at(path, client, actor, None).await
    }

    /// [`Session::open`] from a station: the documents this screen's changes cause print on
    /// that station's printers.
    pub async fn open_at(
        path: &Path,
        client: &str,
        actor: Option<&str>,
        station: Option<&str>,
    ) -> Result<(Session, Hello, mpsc::Receiver<Incoming>), ClientError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
                    path: path.to_path_buf(),
                },
                _ => ClientError::NotRunning {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                },
            })?;
        let (r, mut w) = stream.into_split();
        let hello = HelloLine {
            hello: Hello {
                protocol: PROTOCOL,
                client: Some(client.to_string()),
                actor: actor.map(str::to_string),
                station: station.map(str::to_string),
                server: None,
                store_id: None,
            },
        };
        let mut line = serde_json::to_string(&hello).expect("hello serialises");
        line.push('\n');
        w.write_all(line.as_bytes()).await?;
        let mut reader = BufReader::new(r);
        let mut answer = String::new();
        if reader.read_line(&mut answer).await? == 0 {
            return Err(ClientError::Closed);
        }
        let server = serde_json::from_str::<HelloLine>(&answer)
            .map_err(|_| ClientError::Protocol(format!("unexpected greeting: {}", answer.trim())))?
            .hello;
        // Bounded: a screen that stops reading stops the reader, not the daemon's memory.
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let incoming = if let Ok(ev) = serde_json::from_str::<EventLine>(&line) {
                    Incoming::Event(ev.event)
                } else if let Ok(reply) = serde_json::from_str::<ReplyLine>(&line) {
                    Incoming::Reply(reply)
                } else {
                    continue;
                };
                if tx.send(incoming).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Incoming::Closed).await;
        });
        Ok((
            Session {
                writer: w,
                next_id: 1,
            },
            server,
            rx,
        ))
    }

    /// Sends a request; its reply arrives on the channel with the returned id.
    pub async fn send(&mut self, req: Request) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let mut line = serde_json::to_string(&RequestLine { id, req }).expect("requests serialise");
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        Ok(id)
    }
}
