//! The chain's shared journal on PostgreSQL (tokio-postgres, with deadpool's pool).
//!
//! The journal's callers are synchronous (the worker's journal thread, the screens' reads,
//! the commands), some of them inside a tokio runtime; so the connection lives on a thread
//! of its own with its own runtime, and each statement is a message to it. A transaction
//! keeps its one connection from `BEGIN` to `COMMIT`; between transactions the connection
//! goes back to the pool, which replaces one the server dropped (a restart) instead of
//! handing it out again. A statement on a lost connection fails: what it wrote is unknown,
//! and the caller treats it as it treats a crash (nothing is sent unless its row committed).

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::JournalError;
use super::db::{Row, Value, to_postgres};

/// The advisory lock every write transaction of the journal takes (`kassa` in ASCII): the
/// one-writer rule of SQLite, across the chain.
pub(super) const WRITE_LOCK: i64 = 0x006b_6173_7361;

/// How long a connection is waited for before the journal says the server cannot be
/// reached.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Reply<T> = std_mpsc::Sender<Result<T, JournalError>>;

enum Job {
    Execute(String, Vec<Value>, Reply<usize>),
    Query(String, Vec<Value>, Reply<Vec<Row>>),
    Batch(String, Reply<()>),
    Begin(bool, Reply<()>),
    End(bool, Reply<()>),
    /// Takes the chain-wide lock named by the text if it is free (`true`), on a connection
    /// kept until `Unlock`: the lock ends with that connection, however it ends.
    TryLock(String, Reply<bool>),
    Unlock(String, Reply<()>),
}

/// A connection to the chain's journal, driven by its own thread.
pub(super) struct Pg {
    jobs: mpsc::UnboundedSender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pg")
    }
}

fn server(e: impl std::fmt::Display) -> JournalError {
    JournalError::Server(e.to_string())
}

/// A connection the pool could not hand out: the server's words where it gave some.
fn pool_err(e: deadpool_postgres::PoolError) -> JournalError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => db(e),
        e => server(e),
    }
}

/// The server's own words where it gave some ("db error" alone says nothing).
fn db(e: tokio_postgres::Error) -> JournalError {
    match e.as_db_error() {
        Some(d) => JournalError::Server(format!("{}: {}", d.code().code(), d.message())),
        None => server(e),
    }
}

impl Pg {
    /// Connects to the journal `url` names (a `postgresql://` URL or key=value pairs) and
    /// checks that the server answers. The URL's password is never part of an error.
    pub(super) fn connect(url: &str) -> Result<Pg, JournalError> {
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|_| server("the journal's url is not a PostgreSQL connection string"))?;
        // A commit that returned is on the server's disk, whatever the server's default;
        // a lock is waited for as long as SQLite's busy timeout, then the statement fails.
        let options = format!(
            "{} -c synchronous_commit=on -c lock_timeout={}",
            cfg.get_options().unwrap_or(""),
            super::BUSY_TIMEOUT.as_millis()
        );
        cfg.options(options.trim())
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("kassa");
        let manager = Manager::from_config(
            cfg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(4)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(super::BUSY_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(server)?;
        let (jobs, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("kassa-journal-pg".into())
            .spawn(move || run(pool, rx))
            .map_err(server)?;
        let pg = Pg {
            jobs,
            thread: Some(thread),
        };
        pg.query("SELECT 1", &[])?;
        Ok(pg)
    }

    fn ask<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, JournalError> {
        let (tx, rx) = std_mpsc::channel();
        self.jobs
            .send(job(tx))
            .map_err(|_| server("the journal's connection thread is gone"))?;
        rx.recv()
            .map_err(|_| server("the journal's connection thread is gone"))?
    }

    pub(super) fn execute(&self, sql: &str, args: &[Value]) -> Result<usize, JournalError> {
        self.ask(|r| Job::Execute(to_postgres(sql), args.to_vec(), r))
    }

    pub(super) fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, JournalError> {
        self.ask(|r| Job::Query(to_postgres(sql), args.to_vec(), r))
    }

    pub(super) fn batch(&self, sql: &str) -> Result<(), JournalError> {
        self.ask(|r| Job::Batch(sql.to_string(), r))
    }

    pub(super) fn begin(&self, exclusive: bool) -> Result<(), JournalError> {
        self.ask(|r| Job::Begin(exclusive, r))
    }

    pub(super) fn end(&self, commit: bool) -> Result<(), JournalError> {
        self.ask(|r| Job::End(commit, r))
    }

    pub(super) fn try_lock(&self, name: &str) -> Result<bool, JournalError> {
        self.ask(|r| Job::TryLock(name.to_string(), r))
    }

    pub(super) fn unlock(&self, name: &str) -> Result<(), JournalError> {
        self.ask(|r| Job::Unlock(name.to_string(), r))
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // The thread ends when its queue closes; its connections close with the pool.
        let (closed, _) = mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(pool: Pool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        // The connection of the transaction under way, if one is.
        let mut tx: Option<Object> = None;
        // The connections that hold a named lock.
        let mut locks: std::collections::HashMap<String, Object> = Default::default();
        while let Some(job) = jobs.recv().await {
            let mut slot = None;
            match job {
                Job::Execute(sql, args, reply) => {
                    let r = async {
                        let c = client(&pool, &tx, &mut slot).await?;
                        let stmt = c.prepare_cached(&sql).await.map_err(db)?;
                        let n = c.execute(&stmt, &params(&args)).await.map_err(db)?;
                        Ok(usize::try_from(n).unwrap_or(usize::MAX))
                    }
                    .await;
                    let _ = reply.send(r);
                }
                Job::Query(sql, args, reply) => {
                    let r = async {
                        let c = client(&pool, &tx, &mut slot).await?;
                        let stmt = c.prepare_cached(&sql).await.map_err(db)?;
                        let rows = c.query(&stmt, &params(&args)).await.map_err(db)?;
                        rows.iter().map(read_row).collect()
                    }
                    .await;
                    let _ = reply.send(r);
                }
                Job::Batch(sql, reply) => {
                    let r = async {
                        let c = client(&pool, &tx, &mut slot).await?;
                        c.batch_execute(&sql).await.map_err(db)
                    }
                    .await;
                    let _ = reply.send(r);
                }
                Job::Begin(exclusive, reply) => {
                    let r = async {
                        let c = pool.get().await.map_err(pool_err)?;
                        let sql = if exclusive {
                            format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                        } else {
                            "BEGIN".to_string()
                        };
                        c.batch_execute(&sql).await.map_err(db)?;
                        Ok(c)
                    }
                    .await;
                    let _ = reply.send(r.map(|c| {
                        tx = Some(c);
                    }));
                }
                Job::TryLock(name, reply) => {
                    let r = async {
                        if locks.contains_key(&name) {
                            return Ok(false);
                        }
                        let c = pool.get().await.map_err(pool_err)?;
                        // Two int4 keys: a key space apart from the journal's write lock.
                        let got: bool = c
                            .query_one(
                                "SELECT pg_try_advisory_lock(1, hashtext($1))",
                                &[&name.as_str()],
                            )
                            .await
                            .map_err(db)?
                            .try_get(0)
                            .map_err(db)?;
                        if got {
                            locks.insert(name, c);
                        }
                        Ok(got)
                    }
                    .await;
                    let _ = reply.send(r);
                }
                Job::Unlock(name, reply) => {
                    let r = match locks.remove(&name) {
                        Some(c) => c
                            .execute(
                                "SELECT pg_advisory_unlock(1, hashtext($1))",
                                &[&name.as_str()],
                            )
                            .await
                            .map(|_| ())
                            .map_err(db),
                        None => Ok(()),
                    };
                    let _ = reply.send(r);
                }
                Job::End(commit, reply) => {
                    let r = match tx.take() {
                        Some(c) => c
                            .batch_execute(if commit { "COMMIT" } else { "ROLLBACK" })
                            .await
                            .map_err(db),
                        None => Err(server("no transaction is open")),
                    };
                    let _ = reply.send(r);
                }
            }
        }
    });
}

/// The transaction's connection, or one from the pool kept in `slot` for one statement.
async fn client<'a>(
    pool: &Pool,
    tx: &'a Option<Object>,
    slot: &'a mut Option<Object>,
) -> Result<&'a deadpool_postgres::ClientWrapper, JournalError> {
    if let Some(c) = tx {
        return Ok(c);
    }
    let c = pool.get().await.map_err(pool_err)?;
    Ok(&**slot.insert(c))
}

fn params(args: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

fn read_row(row: &tokio_postgres::Row) -> Result<Row, JournalError> {
    let mut out = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)
                .map(|v| v.map(|v| Value::Int(i64::from(v))))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)
                .map(|v| v.map(|v| Value::Int(i64::from(v))))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)
                .map(|v| v.map(|v| Value::Int(i64::from(v))))
        } else if matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME) {
            row.try_get::<_, Option<String>>(i)
                .map(|v| v.map(Value::Text))
        } else {
            return Err(JournalError::Corrupt(format!(
                "column {}: type {ty} is not the journal's",
                col.name()
            )));
        };
        out.push(v.map_err(server)?.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT8 {
                    i.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*i != 0).to_sql(ty, out)
                } else {
                    Err(format!("an integer where the journal wants {ty}").into())
                }
            }
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
