//! A loopback web server for documents a client publishes (its JWKS, its metadata document):
//! plain HTTP/1.1, one response per connection. Dev mode lets the provider fetch loopback http.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves JSON `documents` (path → body) and 404 elsewhere; returns the base URL. `documents`
/// gets that base URL, so a document can name its own address.
pub async fn serve_documents(
    documents: impl FnOnce(&str) -> Vec<(&'static str, String)>,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let documents = Arc::new(documents(&base));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let documents = Arc::clone(&documents);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let read = stream.read(&mut request).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&request[..read]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                let response = match documents.iter().find(|(known, _)| *known == path) {
                    Some((_, body)) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: max-age=60\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => {
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_owned()
                    }
                };
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    base
}

/// A receiver of form POSTs (a client's `backchannel_logout_uri`): records each body and
/// answers with the statuses in `statuses` in turn (the last one from then on).
pub struct Receiver {
    /// `http://127.0.0.1:PORT/logout`.
    pub url: String,
    bodies: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Receiver {
    /// Starts one on a free port.
    pub async fn start(statuses: Vec<u16>) -> Receiver {
        Receiver::start_on(0, statuses).await
    }

    /// Starts one on `port` (0: a free one).
    pub async fn start_on(port: u16, statuses: Vec<u16>) -> Receiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let url = format!("http://{}/logout", listener.local_addr().expect("address"));
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = Arc::clone(&bodies);
        tokio::spawn(async move {
            let mut answered = 0usize;
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buffer = [0u8; 8192];
                // Read the head, then the body as long as Content-Length says.
                let body = loop {
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    if read == 0 {
                        break None;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break Some(text[end + 4..end + 4 + length].to_owned());
                        }
                    }
                };
                let Some(body) = body else { continue };
                recorded.lock().expect("lock").push(body);
                let status = statuses
                    .get(answered)
                    .or(statuses.last())
                    .copied()
                    .unwrap_or(200);
                answered += 1;
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                let _ = stream.write_all(response.as_bytes()).await;
            }
        });
        Receiver { url, bodies }
    }

    /// The `logout_token`s received so far.
    pub fn tokens(&self) -> Vec<String> {
        self.bodies
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|body| {
                url::form_urlencoded::parse(body.as_bytes())
                    .find(|(name, _)| name == "logout_token")
                    .map(|(_, value)| value.into_owned())
            })
            .collect()
    }

    /// Waits (up to `seconds`) until `count` tokens arrived; returns them.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<String> {
        for _ in 0..seconds * 10 {
            let tokens = self.tokens();
            if tokens.len() >= count {
                return tokens;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.tokens()
    }
}
