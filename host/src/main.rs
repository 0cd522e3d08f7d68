//! The `scimd` binary: `serve`, and offline commands on a data directory.

use std::path::PathBuf;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small buffers on
/// two worker threads, and glibc's arenas spent a tenth of a PATCH's CPU time consolidating
/// and unlinking free chunks (measured with perf under the benchmark's load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin_client;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use scimd::auth::{ROLES, generate_token, hash_token};
use scimd::store::Store;
use scimd::{AppState, Settings};

#[derive(Parser)]
#[command(name = "scimd", version, about = "SCIM 2.0 provisioning server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct DataDir {
    /// Where the SQLite database lives.
    #[arg(long, env = "SCIMD_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SCIMD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        data: DataDir,
        /// Largest accepted request body, in bytes.
        #[arg(long, env = "SCIMD_MAX_BODY", default_value_t = 1 << 20)]
        max_body: u64,
        /// Largest SCIM engine component that can be deployed, in MiB.
        #[arg(long, env = "SCIMD_MAX_COMPONENT_MB", default_value_t = 64)]
        max_component_mb: u64,
        /// Largest page of results (also the default `count`).
        #[arg(long, env = "SCIMD_MAX_RESULTS", default_value_t = 1000)]
        max_results: u32,
        /// Most operations in one PATCH or bulk request (`bulk.maxOperations`).
        #[arg(long, env = "SCIMD_MAX_OPERATIONS", default_value_t = 1000)]
        max_operations: u32,
        /// How long one call into a SCIM engine may run, in milliseconds.
        #[arg(long, env = "SCIMD_GUEST_DEADLINE_MS", default_value_t = 2000)]
        guest_deadline_ms: u64,
        /// Memory cap of one SCIM engine instance, in MiB.
        #[arg(long, env = "SCIMD_GUEST_MEMORY_MB", default_value_t = 64)]
        guest_memory_mb: usize,
        /// The public base URL (token issuers, resource locations); default: the request's Host.
        #[arg(long, env = "SCIMD_PUBLIC_URL")]
        public_url: Option<String>,
        /// Honour a reverse proxy's forwarding headers: `forwarded` (RFC 7239) or `xforwarded`
        /// (X-Forwarded-Host/-Proto). Unset, they are ignored.
        #[arg(long, env = "SCIMD_PROXY_HEADERS")]
        proxy_headers: Option<scimd::settings::ProxyHeaders>,
        /// The only directory trusted issuers' `jwksFile`s may be in; unset, none is read.
        #[arg(long, env = "SCIMD_TRUSTED_JWKS_DIR")]
        trusted_jwks_dir: Option<PathBuf>,
        /// Seconds a client may take to send a request's headers.
        #[arg(long, env = "SCIMD_HEADER_READ_TIMEOUT", default_value_t = 10)]
        header_read_timeout: u64,
        /// Seconds a request may take, body included.
        #[arg(long, env = "SCIMD_REQUEST_TIMEOUT", default_value_t = 60)]
        request_timeout: u64,
        /// Seconds a pagination cursor (RFC 9865) stays valid.
        #[arg(long, env = "SCIMD_CURSOR_TIMEOUT", default_value_t = 3600)]
        cursor_timeout: u64,
    },
    /// Recover a server whose administrators are lost, offline (as Keycloak's
    /// `bootstrap-admin`): makes (or re-enables, with a new password) a master-realm user with
    /// the admin role. The password is read from the environment variable `--password-env`
    /// names, or from standard input.
    BootstrapAdmin {
        #[arg(long)]
        username: String,
        /// The environment variable holding the password (default: read standard input).
        #[arg(long)]
        password_env: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Manage realms.
    Realm {
        #[command(subcommand)]
        command: RealmCommand,
    },
    /// A client of the admin API with kcadm.sh's verbs and flags.
    Admin(admin_client::Admin),
    /// Manage secret tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Load users into a realm offline: SCIM User documents (as a `POST /Users` body), one a
    /// line, from a file or standard input. Each goes through the realm's engine; refused lines
    /// are reported and nothing else is lost. Best run while the server is stopped.
    Import {
        /// The realm to load into.
        #[arg(long)]
        realm: String,
        /// The file to read (default: standard input).
        file: Option<PathBuf>,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum RealmCommand {
    /// Create a realm.
    Create {
        name: String,
        /// How literally the realm's SCIM engine reads the RFCs: `entra` (tolerant) or `strict`.
        #[arg(long, default_value = "entra")]
        compatibility: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Change a realm's settings.
    Set {
        name: String,
        #[arg(long)]
        compatibility: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// List realms.
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a secret token and print it, alone, on stdout (it is shown only once).
    Create {
        #[arg(long)]
        realm: String,
        /// A realm-management role to grant: manage-users (read and write), view-users (read),
        /// query-users, query-groups (list and search), view-realm (discovery). Repeatable.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
}

fn open(data: &DataDir) -> anyhow::Result<Store> {
    Store::open(&Settings::new(data.data_dir.clone()).database_path())
        .with_context(|| format!("opening the store in {}", data.data_dir.display()))
}

/// On first start with `SCIMD_ADMIN` / `SCIMD_ADMIN_PASSWORD`, the master realm gets that
/// administrator. Without them nothing is created: no default password, no open door.
fn bootstrap(state: &AppState) -> anyhow::Result<()> {
    let user = std::env::var("SCIMD_ADMIN").ok().filter(|s| !s.is_empty());
    let password = std::env::var("SCIMD_ADMIN_PASSWORD").ok().filter(|s| !s.is_empty());
    match (user, password) {
        (Some(user), Some(password)) => {
            if scimd::bootstrap_admin(state, &user, &password)? {
                tracing::info!(user = %user, "created the administrator of the master realm");
            }
        }
        (Some(_), None) | (None, Some(_)) => {
            anyhow::bail!("set both SCIMD_ADMIN and SCIMD_ADMIN_PASSWORD to create the first administrator")
        }
        (None, None) => {}
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what systemd, Docker and Kubernetes send).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // A sentence for the operator, not a backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            data,
            max_body,
            max_component_mb,
            max_results,
            max_operations,
            guest_deadline_ms,
            guest_memory_mb,
            public_url,
            proxy_headers,
            trusted_jwks_dir,
            header_read_timeout,
            request_timeout,
            cursor_timeout,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("SCIMD_LOG").unwrap_or_else(|_| "info".into()),
                )
                .with_writer(std::io::stderr)
                .init();
            let mut settings = Settings::new(data.data_dir);
            settings.max_body = max_body.max(1);
            settings.max_component = max_component_mb.max(1) << 20;
            settings.max_results = max_results.max(1);
            settings.max_operations = max_operations.max(1);
            settings.guest_deadline = std::time::Duration::from_millis(guest_deadline_ms.max(1));
            settings.guest_memory = guest_memory_mb.max(1) << 20;
            settings.public_url = public_url;
            settings.proxy_headers = proxy_headers.unwrap_or_default();
            settings.trusted_jwks_dir = trusted_jwks_dir;
            settings.header_read_timeout = std::time::Duration::from_secs(header_read_timeout.max(1));
            settings.request_timeout = std::time::Duration::from_secs(request_timeout.max(1));
            settings.cursor_timeout = std::time::Duration::from_secs(cursor_timeout.max(1));
            let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
            runtime.block_on(async move {
                let state = AppState::new(settings).context("starting scimd")?;
                bootstrap(&state)?;
                let listener =
                    tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("binding {listen}"))?;
                let addr = listener.local_addr()?;
                tracing::info!(address = %addr, "scimd listening");
                // A stable line for scripts and tests that start scimd on port 0.
                eprintln!("scimd listening on http://{addr}");
                scimd::serve(listener, state.clone(), shutdown_signal()).await.context("serving")?;
                // The requests are answered: commit what is queued, fold the WAL into the
                // database and remove it, so that a restart has nothing to replay.
                state.store.close().context("closing the store")?;
                tracing::info!("scimd stopped");
                Ok(())
            })
        }
        Command::Realm { command } => match command {
            RealmCommand::Create { name, compatibility, data } => {
                let realm = open(&data)?.create_realm(&name, &compatibility)?;
                eprintln!("created realm '{}'", realm.name);
                Ok(())
            }
            RealmCommand::Set { name, compatibility, data } => {
                open(&data)?.set_realm_compatibility(&name, &compatibility)?;
                eprintln!("realm '{name}': compatibility {compatibility}");
                Ok(())
            }
            RealmCommand::List { data } => {
                for r in open(&data)?.realms()? {
                    println!("{}\tcompatibility={}\tscim={}", r.name, r.compatibility, r.scim_enabled);
                }
                Ok(())
            }
        },
        Command::Admin(admin) => admin_client::run(admin),
        Command::BootstrapAdmin { username, password_env, data } => {
            let password = match password_env {
                Some(var) => std::env::var(&var).with_context(|| format!("reading the password from ${var}"))?,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            if password.is_empty() {
                bail!("the password is empty");
            }
            let hash = scimd::auth::password::hash(&password)?;
            let created = open(&data)?.recover_admin(&username, hash)?;
            eprintln!(
                "{} '{username}' in the master realm with the admin role; log in with admin-cli",
                if created { "created" } else { "re-enabled" }
            );
            Ok(())
        }
        Command::Import { realm, file, data } => {
            let state = scimd::AppState::new(Settings::new(data.data_dir)).context("opening the data directory")?;
            let started = std::time::Instant::now();
            let progress = |n: u64| eprintln!("{n} users imported ({:.0} s)", started.elapsed().as_secs_f64());
            let report = match file {
                Some(path) => {
                    let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
                    scimd::import::users(&state, &realm, std::io::BufReader::with_capacity(1 << 20, f), progress)
                }
                None => scimd::import::users(&state, &realm, std::io::stdin().lock(), progress),
            }?;
            state.store.close().context("closing the store")?;
            for (line, why) in &report.refusals {
                eprintln!("line {line}: {why}");
            }
            eprintln!(
                "{} users imported, {} refused, in {:.1} s",
                report.imported,
                report.refused,
                started.elapsed().as_secs_f64()
            );
            if report.refused > 0 {
                bail!("{} lines were refused", report.refused);
            }
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { realm, roles, description, data } } => {
            for r in &roles {
                if !ROLES.contains(&r.as_str()) {
                    bail!("unknown role '{r}': use one of {}", ROLES.join(", "));
                }
            }
            let store = open(&data)?;
            let Some(realm) = store.realm(&realm)? else {
                bail!("realm '{realm}' does not exist (create it with `scimd realm create {realm}`)");
            };
            let token = generate_token();
            store.create_token(realm.id, &hash_token(&token), &roles, description.as_deref())?;
            println!("{token}");
            Ok(())
        }
    }
}
