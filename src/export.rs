//! `workspaces events export`: the audit trail as JSON lines, oldest first (by id), read in
//! keyset batches so that memory stays constant whatever the table holds.

use std::io::{ErrorKind, Write};

use crate::domain::OrgId;
use crate::http::EventFields;
use crate::store::Store;

/// Events per batch: one statement each, a few hundred kilobytes in memory at most.
const BATCH: i64 = 1000;

/// Writes the events of `org` (or every organization) created at `since` or later to `out`,
/// one JSON object per line, and answers how many. A reader that goes away (`| head`) ends the
/// export without an error.
pub async fn export_events(
    store: &Store,
    org: Option<OrgId>,
    since: Option<i64>,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut after = 0;
    let mut written = 0;
    loop {
        let batch = store.events_after(after, BATCH, org, since).await?;
        let Some(last) = batch.last() else {
            out.flush().or_else(broken_pipe_is_the_end)?;
            return Ok(written);
        };
        after = last.id;
        let full = batch.len() as i64 == BATCH;
        for event in batch {
            let line = serde_json::to_string(&EventFields::from(event))?;
            if let Err(error) = writeln!(out, "{line}") {
                broken_pipe_is_the_end(error)?;
                return Ok(written);
            }
            written += 1;
        }
        if !full {
            out.flush().or_else(broken_pipe_is_the_end)?;
            return Ok(written);
        }
    }
}

fn broken_pipe_is_the_end(error: std::io::Error) -> std::io::Result<()> {
    if error.kind() == ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(error)
    }
}
