//! Accounts and data, prepared through the public API: register, `workspaces user verify`, log
//! in; organization users; workspaces with members, created over many connections at once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use crate::client::{Conn, Req};
use crate::server::Target;

const PASSWORD: &str = "Bench-Passw0rd";
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A verified, logged-in account.
#[derive(Clone)]
pub struct Account {
    pub email: String,
    pub user_id: String,
    pub token: Arc<str>,
}

impl Account {
    /// The body of `POST /user/login` for this account.
    pub fn login_body(&self) -> Value {
        json!({ "email": self.email, "password": PASSWORD })
    }
}

/// An organization: its OWNER and its workspaces (each with the owner as ADMIN and two more
/// members).
pub struct Org {
    pub owner: Account,
    pub workspace_ids: Arc<Vec<String>>,
    pub seconds_to_seed: f64,
}

pub struct Seeder<'a> {
    target: &'a Target,
    /// Makes e-mails and organization names unique across benchmark invocations.
    tag: String,
    accounts: AtomicUsize,
    connections: usize,
}

fn text<'v>(value: &'v Value, pointer: &str) -> anyhow::Result<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no {pointer} in the answer {value}"))
}

impl<'a> Seeder<'a> {
    pub fn new(target: &'a Target, connections: usize) -> Seeder<'a> {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        Seeder {
            target,
            tag: format!("{millis:x}"),
            accounts: AtomicUsize::new(0),
            connections: connections.max(1),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.target.addr
    }

    fn email(&self, label: &str) -> String {
        let n = self.accounts.fetch_add(1, Ordering::Relaxed);
        format!("{label}-{n}-{}@bench.example.com", self.tag)
    }

    async fn login(
        &self,
        conn: &mut Conn,
        email: String,
        user_id: String,
    ) -> anyhow::Result<Account> {
        let body = json!({ "email": email, "password": PASSWORD });
        let answer = conn
            .call(&Req::post("/user/login", None, &body), CALL_TIMEOUT)
            .await?;
        Ok(Account {
            token: text(&answer, "/accessToken")?.into(),
            email,
            user_id,
        })
    }

    /// Registers a new organization and its OWNER, verifies the e-mail, logs in.
    pub async fn owner(&self, label: &str) -> anyhow::Result<Account> {
        let mut conn = Conn::connect(self.addr()).await?;
        let email = self.email(label);
        let body = json!({
            "email": email, "password": PASSWORD, "firstName": "Bench", "lastName": label,
            "companyName": format!("Bench {label} {}", self.tag), "isBusiness": true,
        });
        let answer = conn
            .call(&Req::post("/user/register", None, &body), CALL_TIMEOUT)
            .await
            .context("registering")?;
        let user_id = text(&answer, "/user/id")?.to_owned();
        self.target.verify(&email).await?;
        self.login(&mut conn, email, user_id).await
    }

    /// A webhook of the owner's organization to `url`, every event.
    pub async fn webhook(&self, owner: &Account, url: &str) -> anyhow::Result<()> {
        let mut conn = Conn::connect(self.addr()).await?;
        conn.call(
            &Req::post("/webhooks", Some(&owner.token), &json!({ "url": url })),
            CALL_TIMEOUT,
        )
        .await
        .context("creating a webhook")?;
        Ok(())
    }

    /// A USER (orgRole 0) of the owner's organization, created with a password and verified.
    async fn org_user(&self, owner: &Account, label: &str) -> anyhow::Result<Account> {
        let mut conn = Conn::connect(self.addr()).await?;
        let email = self.email(label);
        let body = json!({
            "email": email, "password": PASSWORD, "firstName": "Member", "lastName": label,
            "orgRole": 0, "sendInvite": false,
        });
        let answer = conn
            .call(
                &Req::post("/organization/users", Some(&owner.token), &body),
                CALL_TIMEOUT,
            )
            .await
            .context("creating an organization user")?;
        let user_id = text(&answer, "/data/id")?.to_owned();
        self.target.verify(&email).await?;
        self.login(&mut conn, email, user_id).await
    }

    /// A new organization with `count` workspaces of 3 members each (the owner as ADMIN, two
    /// users as WRITE and READ). Checks one workspace's members afterwards.
    pub async fn org(&self, label: &str, count: usize) -> anyhow::Result<Org> {
        let started = Instant::now();
        let owner = self.owner(label).await?;
        let members = vec![
            (self.org_user(&owner, label).await?.user_id, "WRITE"),
            (self.org_user(&owner, label).await?.user_id, "READ"),
        ];
        let ids = self.workspaces(&owner, Arc::new(members), count).await?;
        self.target.analyze().await?;
        if let Some(first) = ids.first() {
            let mut conn = Conn::connect(self.addr()).await?;
            let answer = conn
                .call(
                    &Req::get(format!("/workspace/{first}"), &owner.token),
                    CALL_TIMEOUT,
                )
                .await?;
            let users = answer
                .pointer("/workspace/users")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if users != 3 {
                bail!("a seeded workspace has {users} members instead of 3: {answer}");
            }
        }
        Ok(Org {
            owner,
            workspace_ids: Arc::new(ids),
            seconds_to_seed: started.elapsed().as_secs_f64(),
        })
    }

    /// Creates `count` workspaces named `ws-000000`... and adds `members` to each, over
    /// `self.connections` connections at once. Prints progress for large counts.
    async fn workspaces(
        &self,
        owner: &Account,
        members: Arc<Vec<(String, &'static str)>>,
        count: usize,
    ) -> anyhow::Result<Vec<String>> {
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        // Progress every 10 s for large counts, with statistics refreshed as the tables grow.
        let progress = async {
            let started = Instant::now();
            let mut next_report = started + Duration::from_secs(10);
            while count >= 10_000 && !finished.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if Instant::now() < next_report {
                    continue;
                }
                next_report += Duration::from_secs(10);
                let n = done.load(Ordering::Relaxed);
                eprintln!(
                    "  seeded {n}/{count} workspaces ({:.0} s)",
                    started.elapsed().as_secs_f64()
                );
                if let Err(error) = self.target.analyze().await {
                    eprintln!("  ANALYZE failed: {error:#}");
                }
            }
        };
        let mut tasks = Vec::new();
        for _ in 0..self.connections.min(count) {
            let (next, done, members) = (next.clone(), done.clone(), members.clone());
            let token = owner.token.clone();
            let addr = self.addr();
            tasks.push(tokio::spawn(async move {
                let mut conn = Conn::connect(addr).await?;
                let mut created = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return anyhow::Ok(created);
                    }
                    let body = json!({ "name": format!("ws-{i:06}") });
                    let answer = conn
                        .call(&Req::post("/workspace", Some(&token), &body), CALL_TIMEOUT)
                        .await?;
                    let id = text(&answer, "/workspace/id")?.to_owned();
                    for (user_id, role) in members.iter() {
                        let body = json!({ "userId": user_id, "role": role });
                        let path = format!("/workspace/{id}/users");
                        conn.call(&Req::post(path, Some(&token), &body), CALL_TIMEOUT)
                            .await?;
                    }
                    created.push((i, id));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let collect = async {
            let mut all = Vec::with_capacity(count);
            let mut failure = None;
            for task in tasks {
                match task.await {
                    Ok(Ok(created)) => all.extend(created),
                    Ok(Err(error)) => failure = failure.or(Some(error)),
                    Err(error) => failure = failure.or(Some(error.into())),
                }
            }
            finished.store(true, Ordering::Relaxed);
            (all, failure)
        };
        // The progress loop stops at its next tick once `finished` is set.
        let ((mut all, failure), ()) = tokio::join!(collect, progress);
        if let Some(error) = failure {
            return Err(error.context("seeding workspaces"));
        }
        all.sort_unstable_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, id)| id).collect())
    }
}
