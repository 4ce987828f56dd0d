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
