//! The command line. `concord --help` documents every command and setting.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use concord_domain::account::{check_password, Email, Role, TokenScope};
use concord_domain::csv_io::{parse_organizations, write_organizations};
use concord_domain::OrgId;
use concord_storage::{Actor, ImportError, Store};

use crate::config::{redact, Config, LogFormat, Overrides};
use concord_web::error::error_chain;

/// Concord — the system of record for strategic partnerships between healthcare organizations.
///
/// Settings come from, in rising order of precedence: built-in defaults, a TOML file (--config,
/// or ./concord.toml when present), CONCORD_* environment variables, and flags.
#[derive(Debug, Parser)]
#[command(name = "concord", version, about, long_about)]
pub struct Cli {
    /// TOML configuration file (keys: bind, database_url, max_connections, log_format,
    /// request_timeout_secs, pool_timeout_ms).
    #[arg(long, global = true, env = "CONCORD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Database: sqlite://PATH (default sqlite://concord.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "CONCORD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,

    /// Database connections in the pool (1–200, default 8).
    #[arg(long, global = true, env = "CONCORD_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<u32>,

    /// Log format: text (default) or json. Levels follow RUST_LOG (default info).
    #[arg(long, global = true, env = "CONCORD_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,

    /// Seconds a request may take before it is answered 503 (1–3600, default 30).
    #[arg(
        long,
        global = true,
        env = "CONCORD_REQUEST_TIMEOUT_SECS",
        value_name = "SECS"
    )]
    pub request_timeout_secs: Option<u64>,

    /// Milliseconds a query waits for a free database connection before the request is answered
    /// 503 with Retry-After (10–60000, default 2000).
    #[arg(
        long,
        global = true,
        env = "CONCORD_POOL_TIMEOUT_MS",
        value_name = "MS"
    )]
    pub pool_timeout_ms: Option<u64>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the web UI and the JSON API.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a fresh demo database (default sqlite://concord-demo.db), then serve it.
    Demo(ServeArgs),
    /// Import records from a file (all or nothing; errors name the line and column).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export records.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Recompute metric-ledger hash chains: every partnership's (or one's) in the database, or a
    /// downloaded ledger CSV with --file. Exits non-zero when a chain does not verify.
    Verify {
        /// Only this partnership.
        #[arg(long)]
        partnership: Option<i64>,
        /// A ledger CSV downloaded from `GET /api/v1/partnerships/{id}/ledger?format=csv`;
        /// checked on its own, without a database.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Scheduled reviews.
    #[command(subcommand)]
    Reviews(ReviewsCommand),
    /// Public reference data for partner discovery (NPPES, NUCC, CMS, Census ZIP centroids).
    #[command(subcommand)]
    Market(crate::market_cli::MarketCommand),
    /// Invite someone to an organization: prints a one-time link (there is no mail server).
    Invite {
        /// The invitee's e-mail address.
        #[arg(long)]
        email: String,
        /// The organization, by id or exact name.
        #[arg(long)]
        org: String,
        /// admin, alliance_manager, contributor or viewer.
        #[arg(long, default_value = "contributor")]
        role: String,
    },
    /// Check the installation and say what to fix: configuration, database reachability,
    /// migrations, disk space, database integrity and every ledger chain. Exits non-zero when a
    /// check fails.
    Doctor {
        /// Print the checks as a JSON array of {check, status, message}.
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent copy of the database to FILE while the server keeps serving.
    Backup {
        /// Where to write the backup (refused if it exists).
        file: PathBuf,
    },
    /// Replace the database's contents with a backup written by `concord backup` (a SQLite copy
    /// or a pg_dump archive, onto the same kind of database; a portable export, into an empty
    /// one), then verify every ledger. Stop the server first.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReviewsCommand {
    /// Open every review that has fallen due (the server also does this every hour).
    OpenDue,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a role in an organization (e.g. the first admin). Prints a generated
    /// password unless one is given on standard input with --password-stdin.
    Add {
        #[arg(long)]
        email: String,
        /// The person's name as shown to others.
        #[arg(long)]
        name: String,
        /// The organization, by id or exact name.
        #[arg(long)]
        org: String,
        /// admin, alliance_manager, contributor or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users with their organizations and roles.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint an API token for a user's membership in an organization; prints it once.
    Create {
        #[arg(long)]
        email: String,
        /// The organization, by id or exact name.
        #[arg(long)]
        org: String,
        /// read or read-write.
        #[arg(long)]
        scope: String,
        /// What the token is for.
        #[arg(long, default_value = "created with concord token create")]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "CONCORD_BIND", value_name = "ADDR")]
    pub bind: Option<String>,
    /// Mark the session cookie Secure (serve behind HTTPS).
    #[arg(long, env = "CONCORD_SECURE_COOKIES")]
    pub secure_cookies: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import organizations from CSV. Columns: name, kind (required), npi, ccn, address_line1,
    /// city, state, zip, latitude, longitude, providers, beds, covered_lives, revenue_band,
    /// mission, values, capabilities_offered, capabilities_sought, revenue_model, payer_mix,
    /// decision_making, enterprise_objectives, constraints. Lists are separated by `;`;
    /// payer_mix looks like `medicare:40;commercial:60`.
    Organizations {
        /// The CSV file.
        #[arg(long, value_name = "FILE")]
        csv: PathBuf,
    },
    /// Import a portable export (JSON lines of every record, written by `concord export all`) into
    /// an empty database, all or nothing.
    All {
        /// The JSON-lines file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export every organization as CSV (the format `import organizations` reads).
    Organizations {
        /// Write CSV to FILE, or to standard output when FILE is `-` or omitted.
        #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
        csv: Option<String>,
    },
    /// Export every record of the installation as JSON lines, portable between SQLite and
    /// PostgreSQL (`concord import all` reads it).
    All {
        /// The JSON-lines file to write.
        file: PathBuf,
    },
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn overrides(cli: &Cli, bind: Option<String>) -> Overrides {
    Overrides {
        bind,
        database_url: cli.database_url.clone(),
        max_connections: cli.max_connections,
        log_format: cli.log_format.clone(),
        request_timeout_secs: cli.request_timeout_secs,
        pool_timeout_ms: cli.pool_timeout_ms,
    }
}

pub(crate) fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub(crate) async fn connect(config: &Config) -> Result<Store, String> {
    let store = Store::connect(&config.database_url, &config.connect_options())
        .await
        .map_err(|e| {
            format!(
                "cannot open the database {}: {}",
                redact(&config.database_url),
                error_chain(&e)
            )
        })?;
    store
        .migrate()
        .await
        .map_err(|e| format!("migrations failed: {}", error_chain(&e)))?;
    Ok(store)
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Command::Serve(args) => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, args.bind.clone()))?;
            init_logging(config.log_format);
            let store = connect(&config).await?;
            serve(&config, store, args.secure_cookies).await
        }
        Command::Migrate => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            connect(&config).await?.close().await;
            println!("Migrations applied to {}.", redact(&config.database_url));
            Ok(())
        }
        Command::Demo(args) => {
            let mut o = overrides(&cli, args.bind.clone());
            if o.database_url.is_none() {
                o.database_url = Some(crate::demo::DEFAULT_DEMO_DATABASE_URL.to_string());
            }
            let config = Config::load(cli.config.as_deref(), &o)?;
            init_logging(config.log_format);
            crate::demo::reset_sqlite_file(&config.database_url)?;
            let store = connect(&config).await?;
            let summary = crate::demo::load(&store).await?;
            println!("{summary}");
            serve(&config, store, args.secure_cookies).await
        }
        Command::Import(ImportCommand::Organizations { csv }) => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            let file = std::fs::File::open(csv)
                .map_err(|e| format!("cannot open {}: {e}", csv.display()))?;
            let rows = parse_organizations(std::io::BufReader::new(file))
                .map_err(|errs| format_row_errors(csv, &errs))?;
            let store = connect(&config).await?;
            let result = store.import_organizations(&Actor::new("cli"), &rows).await;
            store.close().await;
            match result {
                Ok(n) => {
                    println!("Imported {n} organizations from {}.", csv.display());
                    Ok(())
                }
                Err(ImportError::Rows(errs)) => Err(format_row_errors(csv, &errs)),
                Err(ImportError::Store(e)) => Err(format!("import failed: {}", error_chain(&e))),
            }
        }
        Command::User(_) | Command::Token(_) | Command::Invite { .. } => accounts(&cli).await,
        Command::Doctor { .. } => crate::doctor::run(&cli).await,
        Command::Backup { .. }
        | Command::Restore { .. }
        | Command::Export(ExportCommand::All { .. })
        | Command::Import(ImportCommand::All { .. }) => crate::maintenance::run(&cli).await,
        Command::Market(command) => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            let store = connect(&config).await?;
            let result = crate::market_cli::run(&store, command).await;
            store.close().await;
            result
        }
        Command::Verify {
            partnership,
            file: Some(path),
        } => {
            if partnership.is_some() {
                return Err("give either --file or --partnership, not both".into());
            }
            verify_file(path)
        }
        Command::Verify {
            partnership,
            file: None,
        } => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            let store = connect(&config).await?;
            let result = verify_database(&store, *partnership).await;
            store.close().await;
            result
        }
        Command::Reviews(ReviewsCommand::OpenDue) => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            let store = connect(&config).await?;
            let opened = store
                .open_due_reviews(chrono::Utc::now().date_naive())
                .await
                .map_err(|e| format!("cannot open due reviews: {}", error_chain(&e)));
            store.close().await;
            let opened = opened?;
            for (p, n) in &opened {
                println!("Opened review {n} of partnership {p}.");
            }
            println!("{} review(s) opened.", opened.len());
            Ok(())
        }
        Command::Export(ExportCommand::Organizations { csv }) => {
            let config = Config::load(cli.config.as_deref(), &overrides(&cli, None))?;
            let store = connect(&config).await?;
            let orgs = store
                .all_organizations()
                .await
                .map_err(|e| format!("export failed: {}", error_chain(&e)))?;
            store.close().await;
            let profiles: Vec<_> = orgs.into_iter().map(|o| o.profile).collect();
            match csv.as_deref() {
                None | Some("-") => write_organizations(std::io::stdout().lock(), &profiles)
                    .map_err(|e| format!("cannot write CSV: {e}")),
                Some(path) => {
                    let file = std::fs::File::create(path)
                        .map_err(|e| format!("cannot create {path}: {e}"))?;
                    write_organizations(std::io::BufWriter::new(file), &profiles)
                        .map_err(|e| format!("cannot write {path}: {e}"))?;
                    eprintln!("Exported {} organizations to {path}.", profiles.len());
                    Ok(())
                }
            }
        }
    }
}

fn print_verification(what: &str, v: &concord_domain::ledger::Verification) -> bool {
    match &v.first_mismatch {
        None => {
            println!(
                "{what}: valid, {} entries, head {}",
                v.entries,
                v.head.as_deref().unwrap_or("(empty)")
            );
            true
        }
        Some(m) => {
            println!(
                "{what}: NOT VALID at entry {} ({}): {}\n  expected {}\n  found    {}",
                m.seq, m.code, m.message, m.expected, m.found
            );
            false
        }
    }
}

/// `concord verify --file`: a downloaded ledger CSV, checked without a database.
fn verify_file(path: &std::path::Path) -> Result<(), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let entries =
        concord_domain::ledger::read_ledger_csv(std::io::BufReader::new(file)).map_err(|errs| {
            format!(
                "{} cannot be read: {}",
                path.display(),
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
    let v = concord_domain::ledger::verify_chain(&entries);
    if print_verification(&path.display().to_string(), &v) {
        Ok(())
    } else {
        Err("the ledger does not verify".into())
    }
}

/// `concord verify`: every ledger in the database, or one partnership's.
pub(crate) async fn verify_database(store: &Store, partnership: Option<i64>) -> Result<(), String> {
    let ids = match partnership {
        Some(id) => vec![concord_domain::PartnershipId(id)],
        None => store
            .ledger_partnerships()
            .await
            .map_err(|e| error_chain(&e))?,
    };
    let mut bad = 0;
    for id in &ids {
        let v = store.verify_ledger_unscoped(*id).await.map_err(|e| {
            format!(
                "cannot read the ledger of partnership {id}: {}",
                error_chain(&e)
            )
        })?;
        if !print_verification(&format!("partnership {id}"), &v) {
            bad += 1;
        }
    }
    println!("{} ledger(s) checked, {bad} not valid.", ids.len());
    if bad > 0 {
        Err(format!("{bad} ledger(s) do not verify"))
    } else {
        Ok(())
    }
}

/// Resolves an organization given by id or exact name.
async fn resolve_org(store: &Store, org: &str) -> Result<(OrgId, String), String> {
    let choices = store
        .organization_choices()
        .await
        .map_err(|e| error_chain(&e))?;
    let by_id = org.parse::<i64>().ok();
    choices
        .into_iter()
        .find(|(id, name)| Some(id.0) == by_id || name == org)
        .ok_or_else(|| format!("no organization with id or exact name `{org}`"))
}

fn parse_role(role: &str) -> Result<Role, String> {
    role.parse::<Role>().map_err(|e| format!("--role: {e}"))
}

async fn accounts(cli: &Cli) -> Result<(), String> {
    let config = Config::load(cli.config.as_deref(), &overrides(cli, None))?;
    let store = connect(&config).await?;
    let actor = Actor::new("cli");
    let result = match &cli.command {
        Command::User(UserCommand::Add {
            email,
            name,
            org,
            role,
            password_stdin,
        }) => {
            let email = Email::parse(email).map_err(|m| format!("--email: {m}"))?;
            let role = parse_role(role)?;
            let (org_id, org_name) = resolve_org(&store, org).await?;
            let (password, generated) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password: {e}"))?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (concord_web::auth::secret::new_secret(""), true)
            };
            check_password(&password, Some(&email))
                .map_err(|e| format!("password: {}", e.message))?;
            let hash = concord_web::auth::password::hash(password.clone()).await?;
            let user = store
                .create_user(&actor, &email, name, &hash, org_id, role)
                .await
                .map_err(|e| error_chain(&e))?;
            println!(
                "Created {} ({}) as {} of {org_name}.",
                user.display_name,
                user.email,
                role.as_str()
            );
            if generated {
                println!("Password (shown once): {password}");
            }
            Ok(())
        }
        Command::User(UserCommand::List) => {
            let users = store.all_users().await.map_err(|e| error_chain(&e))?;
            if users.is_empty() {
                println!("No users yet. Create the first admin with `concord user add`.");
            }
            for (u, memberships) in users {
                let orgs = memberships
                    .iter()
                    .map(|m| format!("{} ({})", m.organization_name, m.role.as_str()))
                    .collect::<Vec<_>>()
                    .join("; ");
                println!("{}\t{}\t{}", u.email, u.display_name, orgs);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            email,
            org,
            scope,
            name,
        }) => {
            let email = Email::parse(email).map_err(|m| format!("--email: {m}"))?;
            let scope: TokenScope = scope.parse().map_err(|e| format!("--scope: {e}"))?;
            let (org_id, org_name) = resolve_org(&store, org).await?;
            let user = store
                .user_by_email(&email)
                .await
                .map_err(|e| error_chain(&e))?
                .ok_or_else(|| format!("no user with e-mail {email}"))?;
            let acting = store
                .acting(user.id, org_id)
                .await
                .map_err(|e| error_chain(&e))?
                .ok_or_else(|| format!("{email} is not a member of {org_name}"))?;
            let token =
                concord_web::auth::secret::new_secret(concord_web::auth::secret::TOKEN_PREFIX);
            let prefix: String = token.chars().take(10).collect();
            store
                .create_token(
                    &actor,
                    &acting,
                    name,
                    scope,
                    &concord_web::auth::secret::hash_secret(&token),
                    &prefix,
                )
                .await
                .map_err(|e| error_chain(&e))?;
            println!("{token}");
            eprintln!(
                "API token for {email} acting for {org_name}, scope {}. It is shown only now.",
                scope.as_str()
            );
            Ok(())
        }
        Command::Invite { email, org, role } => {
            let role = parse_role(role)?;
            let (org_id, org_name) = resolve_org(&store, org).await?;
            let inv = concord_web::api::account::invite(&store, &actor, org_id, email, role)
                .await
                .map_err(|e| error_chain(&e))?;
            println!("{}", inv.link);
            eprintln!(
                "Invitation for {} to join {org_name} as {}; open the link on this server within {} days.",
                inv.invitation.email,
                role.as_str(),
                concord_web::api::account::INVITATION_DAYS
            );
            Ok(())
        }
        _ => Ok(()),
    };
    store.close().await;
    result
}

fn format_row_errors(path: &std::path::Path, errs: &[concord_domain::csv_io::RowError]) -> String {
    let mut s = format!(
        "{} was not imported; nothing was written. {} problem(s):",
        path.display(),
        errs.len()
    );
    for e in errs {
        s.push_str(&format!("\n  {e}"));
    }
    s
}

async fn serve(config: &Config, store: Store, secure_cookies: bool) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(
        address = %addr,
        database = %redact(&config.database_url),
        backend = store.backend().name(),
        "Concord is serving"
    );
    println!(
        "Concord is serving http://{addr} ({})",
        store.backend().name()
    );
    let state = concord_web::AppState {
        secure_cookies,
        request_timeout: config.request_timeout,
        ..concord_web::AppState::new(store.clone())
    };
    tokio::spawn(review_scheduler(store.clone()));
    concord_web::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    store.close().await;
    tracing::info!("Concord stopped");
    Ok(())
}

/// Opens reviews as they fall due and recomputes stale partnership health: at start, then every
/// hour.
async fn review_scheduler(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store
            .open_due_reviews(chrono::Utc::now().date_naive())
            .await
        {
            Ok(opened) if !opened.is_empty() => {
                tracing::info!(count = opened.len(), "opened due reviews")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %error_chain(&e), "could not open due reviews"),
        }
        // Lateness and overdue reviews move with the calendar: recompute the health that went
        // stale, so the first dashboard of the day does not pay for it.
        match store.refresh_stale_health().await {
            Ok(n) if n > 0 => tracing::info!(count = n, "recomputed stale partnership health"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %error_chain(&e), "could not recompute partnership health")
            }
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
