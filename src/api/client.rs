//! The client side of the socket protocol, for the CLI and the TUI.

use super::{Event, EventLine, Hello, HelloLine, PROTOCOL, ReplyLine, Request, RequestLine};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

/// Talking to the daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens on the socket.
    #[error(
        "flashpick is not running: no daemon answers at {path} ({reason}). Start it with `systemctl start flashpick` or `flashpick serve`, or point --config at the right store"
    )]
    NotRunning {
        /// The socket path.
        path: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// The socket exists but we may not use it.
    #[error(
        "permission denied on {path}: add your user to the `flashpick` group (then log in again)"
    )]
    PermissionDenied {
        /// The socket path.
        path: PathBuf,
    },
    /// The daemon went away mid-conversation.
    #[error("the daemon closed the connection")]
    Closed,
    /// Reading or writing failed.
    #[error("socket error: {0}")]
    Io(#[from] std::io::Error),
    /// The daemon said something we do not understand, or speaks another version.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The daemon refused the request.
    #[error("{message}")]
    Refused {
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

/// A connection to the daemon.
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    pending_events: VecDeque<Event>,
    /// The daemon's hello.
    pub server: Hello,
}

impl Client {
    /// Connects and says hello.
    pub async fn connect(
        path: &Path,
        client: &str,
        actor: Option<&str>,
    ) -> Result<Client, ClientError> {
        Client::connect_at(path, client, actor, None).await
    }

    /// [`Client::connect`] from a station: the documents this client's changes cause print on
    /// that station's printers.
    pub async fn connect_at(
        path: &Path,
        client: &str,
        actor: Option<&str>,
        station: Option<&str>,
    ) -> Result<Client, ClientError> {
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
        let (r, w) = stream.into_split();
        let mut c = Client {
            reader: BufReader::new(r),
            writer: w,
            next_id: 1,
            pending_events: VecDeque::new(),
            server: Hello {
                protocol: 0,
                client: None,
                actor: None,
                station: None,
                server: None,
                store_id: None,
            },
        };
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
        c.send_line(&serde_json::to_string(&hello).expect("hello serialises"))
            .await?;
        let line = c.read_line().await?;
        if let Ok(h) = serde_json::from_str::<HelloLine>(&line) {
            c.server = h.hello;
            return Ok(c);
        }
        match serde_json::from_str::<ReplyLine>(&line) {
            Ok(ReplyLine { error: Some(e), .. }) => Err(ClientError::Protocol(e.message)),
            _ => Err(ClientError::Protocol(format!(
                "unexpected greeting: {line}"
            ))),
        }
    }

    /// Sends a request and waits for its reply; events that arrive meanwhile are kept for
    /// [`Client::next_event`].
    pub async fn request(&mut self, req: Request) -> Result<serde_json::Value, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = serde_json::to_string(&RequestLine { id, req }).expect("requests serialise");
        self.send_line(&line).await?;
        loop {
            let line = self.read_line().await?;
            if let Ok(ev) = serde_json::from_str::<EventLine>(&line) {
                self.pending_events.push_back(ev.event);
                continue;
            }
            let reply: ReplyLine = serde_json::from_str(&line)
                .map_err(|e| ClientError::Protocol(format!("{e}: {line}")))?;
            // An error without an id answers a line the daemon could not read: ours.
            if reply.id != Some(id) && !(reply.id.is_none() && reply.error.is_some()) {
                continue;
            }
            return match (reply.ok, reply.error) {
                (Some(v), _) => Ok(v),
                (None, Some(e)) => Err(ClientError::Refused {
                    code: e.code,
                    message: e.message,
                }),
                (None, None) => Ok(serde_json::Value::Null),
            };
        }
    }

    /// Sends a request and reads its reply as the kind that request gets: a reply of another
    /// shape is [`ClientError::Protocol`], never a default.
    pub async fn call(&mut self, req: Request) -> Result<super::Response, ClientError> {
        let kind = req.reply_kind();
        let ok = self.request(req).await?;
        super::Response::read(kind, ok).map_err(|e| {
            ClientError::Protocol(format!(
                "the daemon's reply is not a {kind:?} reply ({e}); is it another release?"
            ))
        })
    }

    /// Sends a raw line: every request goes out through it (tests also send garbage with it).
    pub async fn send_line(&mut self, line: &str) -> Result<(), ClientError> {
        // One write per line, so the daemon never sees a line without its end.
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Reads one raw line: every reply and event comes in through it.
    pub async fn read_line(&mut self) -> Result<String, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Err(ClientError::Closed);
        }
        Ok(line.trim_end().to_string())
    }

    /// The next pushed event (after `subscribe`).
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        if let Some(e) = self.pending_events.pop_front() {
            return Ok(e);
        }
        loop {
            let line = self.read_line().await?;
            if let Ok(ev) = serde_json::from_str::<EventLine>(&line) {
                return Ok(ev.event);
            }
        }
    }
}
