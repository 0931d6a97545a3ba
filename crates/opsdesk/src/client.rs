//! Client commands that talk to a running server over its REST API.

use clap::{Args, Subcommand};

#[derive(Args, Clone)]
pub struct Connection {
    /// Server base URL.
    #[arg(long, env = "OPSDESK_SERVER", default_value = "http://127.0.0.1:8080", global = true)]
    pub server: String,
    /// API token (see `opsdesk admin create-token`).
    #[arg(long, env = "OPSDESK_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum TicketCommand {
    /// List tickets.
    List,
}

pub async fn run(_conn: Connection, _command: TicketCommand) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("ticket commands are being written")
}
