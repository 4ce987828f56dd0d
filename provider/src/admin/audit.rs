//! `provider audit tail [--follow]`.

use std::time::Duration;

use crate::admin::{Admin, AdminError, Console, timestamp};
use crate::store::AuditEvent;

fn line(event: &AuditEvent) -> String {
    format!(
        "{}\t{}\tclient={}\tsub={}\t{}",
        timestamp(event.at),
        event.kind,
        event.client_id.as_deref().unwrap_or("-"),
        event.subject.as_deref().unwrap_or("-"),
        event.detail
    )
}

/// Prints the newest `lines` events; with `follow`, then polls for new ones every second until
/// `stop` resolves.
pub async fn tail(
    admin: &Admin,
    lines: u32,
    follow: bool,
    stop: impl Future<Output = ()>,
    console: &mut Console<'_>,
) -> Result<(), AdminError> {
    let audit = &admin.stores.audit;
    let last = audit.last_audit_id().await?;
    let mut after = last.saturating_sub(i64::from(lines));
    let mut stop = std::pin::pin!(stop);
    loop {
        let events = audit.audit_events(after, 1000).await?;
        for event in &events {
            (console.print)(&line(event));
        }
        after = events.last().map_or(after, |event| event.id);
        if !follow {
            return Ok(());
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
