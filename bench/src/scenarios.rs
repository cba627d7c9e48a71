//! The scenarios: the data each one needs, what each connection sends, and one measured run.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::StatusCode;
use serde_json::json;

use crate::cli::{Args, Scenario};
use crate::client::Req;
use crate::loadgen::{self, Group, Window, Workload};
use crate::procstat::Meter;
use crate::report::RunFigures;
use crate::seed::{Account, Org, Seeder};
use crate::server::Target;

/// Workspaces of the organization `list` and `mixed` read (each with 3 members).
pub const SMALL_ORG: usize = 50;
/// Workspaces of the organization `get`, `list-page-100` and `reads-during-logins` read.
pub const MID_ORG: usize = 100;
/// Page size of `list-page`.
const PAGE: usize = 50;

pub fn describe(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Create => "POST /workspace, unique names, in a fresh organization per run",
        Scenario::Get => "GET /workspace/{id} (3 members), organization of 100 workspaces",
        Scenario::List => "GET /workspace: 50 workspaces x 3 members",
        Scenario::ListPage100 => {
            "GET /workspace?limit=50 following nextCursor, organization of 100 workspaces"
        }
        Scenario::Login => "POST /user/login (Argon2id)",
        Scenario::Mixed => "45% get, 45% list (50 x 3), 10% create (fresh organization)",
        Scenario::ReadsDuringLogins => "get (as `get`) while more connections log in continuously",
        Scenario::ListPage => {
            "GET /workspace?limit=50 following nextCursor, organization of 100k workspaces"
        }
        Scenario::Get100k => "GET /workspace/{id} (3 members), organization of 100k workspaces",
        Scenario::Create100k => "POST /workspace, unique names, organization of 100k workspaces",
        Scenario::CeilingHttp => "bare axum handler verifying an HS256 JWT, in-process",
        Scenario::CeilingFsync => "pwrite 4 KiB + fdatasync in a loop, one thread",
    }
}

/// Data seeded once, before the first scenario; each part only when a selected scenario reads it.
#[derive(Default)]
pub struct Fixtures {
    /// The receiver of `--webhooks`.
    pub receiver: Option<crate::receiver::Receiver>,
    pub small: Option<Org>,
    pub mid: Option<Org>,
    pub big: Option<Org>,
    pub login: Option<Account>,
}

/// What was seeded and how long it took, for the report.
#[derive(serde::Serialize)]
pub struct SeedFigures {
    pub organization: &'static str,
    pub workspaces: usize,
    pub api_requests: usize,
    pub seconds: f64,
}

impl Fixtures {
    pub async fn prepare(
        args: &Args,
        seeder: &Seeder<'_>,
    ) -> anyhow::Result<(Fixtures, Vec<SeedFigures>)> {
        use Scenario::*;
        let wants = |set: &[Scenario]| args.scenarios.iter().any(|s| set.contains(s));
        let mut fixtures = Fixtures::default();
        let mut figures = Vec::new();
        let mut seed = |name: &'static str, org: &Org| {
            let workspaces = org.workspace_ids.len();
            eprintln!(
                "seeded organization {name}: {workspaces} workspaces x 3 members in {:.1} s",
                org.seconds_to_seed
            );
            figures.push(SeedFigures {
                organization: name,
                workspaces,
                api_requests: 3 * workspaces,
                seconds: org.seconds_to_seed,
            });
        };
        if args.webhooks > 0 {
            fixtures.receiver = Some(crate::receiver::Receiver::start().await?);
        }
        if wants(&[List, Mixed]) {
            let org = seeder.org("small", SMALL_ORG).await?;
            seed("small", &org);
            fixtures.small = Some(org);
        }
        if wants(&[Get, ListPage100, ReadsDuringLogins]) {
            let org = seeder.org("mid", MID_ORG).await?;
            seed("mid", &org);
            fixtures.mid = Some(org);
        }
        if wants(&[Login, ReadsDuringLogins]) {
            fixtures.login = Some(seeder.owner("login").await?);
        }
        if wants(&[ListPage, Get100k, Create100k]) {
            eprintln!(
                "seeding the large organization: {} workspaces x 3 members over {} connections",
                args.big_workspaces, args.seed_connections
            );
            let org = seeder.org("big", args.big_workspaces).await?;
            seed("big", &org);
            fixtures.big = Some(org);
        }
        Ok((fixtures, figures))
    }
}

fn need<T>(part: &Option<T>, scenario: Scenario) -> anyhow::Result<&T> {
    part.as_ref()
        .ok_or_else(|| anyhow::anyhow!("{scenario}: its data was not seeded"))
}

/// The groups of connections of one run of `scenario` (run numbers keep names unique).
pub async fn groups(
    scenario: Scenario,
    args: &Args,
    fixtures: &Fixtures,
    seeder: &Seeder<'_>,
    run: usize,
) -> anyhow::Result<Vec<Group>> {
    let connections = args.connections;
    let one = |label, factory: loadgen::Factory| {
        vec![Group {
            label,
            connections,
            factory,
        }]
    };
    Ok(match scenario {
        Scenario::Create => {
            let owner = seeder.owner("create").await?;
            if let Some(receiver) = &fixtures.receiver {
                for _ in 0..args.webhooks {
                    seeder.webhook(&owner, &receiver.url()).await?;
                }
                receiver.reset();
            }
            one("create", create_factory(owner.token, run))
        }
        Scenario::Create100k => {
            let owner = &need(&fixtures.big, scenario)?.owner;
            one("create", create_factory(owner.token.clone(), run))
        }
        Scenario::Get => one("get", get_factory(need(&fixtures.mid, scenario)?)),
        Scenario::Get100k => one("get", get_factory(need(&fixtures.big, scenario)?)),
        Scenario::List => {
            let req = Req::get("/workspace", &need(&fixtures.small, scenario)?.owner.token);
            one("list", Box::new(move |_| Box::new(Fixed(req.clone()))))
        }
        Scenario::ListPage100 => one("list-page", page_factory(need(&fixtures.mid, scenario)?)),
        Scenario::ListPage => one("list-page", page_factory(need(&fixtures.big, scenario)?)),
        Scenario::Login => one("login", login_factory(need(&fixtures.login, scenario)?)),
        Scenario::Mixed => {
            let small = need(&fixtures.small, scenario)?;
            let creator = seeder.owner("mixed").await?;
            let list = Req::get("/workspace", &small.owner.token);
            let (token, ids) = (small.owner.token.clone(), small.workspace_ids.clone());
            let creator_token = creator.token;
            one(
                "mixed",
                Box::new(move |n| {
                    Box::new(Mixed {
                        get: Get::new(token.clone(), ids.clone(), n),
                        list: list.clone(),
                        create: Create::new(creator_token.clone(), run, n),
                        seq: n as u64,
                        reads: n as u64,
                    })
                }),
            )
        }
        Scenario::ReadsDuringLogins => vec![
            Group {
                label: "reads",
                connections,
                factory: get_factory(need(&fixtures.mid, scenario)?),
            },
            Group {
                label: "logins",
                connections: args.login_connections,
                factory: login_factory(need(&fixtures.login, scenario)?),
            },
        ],
        Scenario::CeilingHttp | Scenario::CeilingFsync => {
            anyhow::bail!("{scenario} does not load the server")
        }
    })
}

/// One measured run: warm-up, then `duration` with the server's CPU and peak RSS measured.
pub async fn measure(
    target: &Target,
    groups: Vec<Group>,
    args: &Args,
) -> anyhow::Result<RunFigures> {
    let mut window = Window::starting_now(args.warmup, args.duration);
    if let Some(rate) = args.rate.filter(|r| *r > 0.0) {
        let connections: usize = groups.iter().map(|g| g.connections).sum();
        window.pace = Some(Duration::from_secs_f64(connections as f64 / rate));
    }
    let load = tokio::spawn(loadgen::run(target.addr, groups, window));
    tokio::time::sleep_until(window.measure_from.into()).await;
    let meter = target.pid.map(Meter::start);
    let outcomes = load.await;
    let usage = match meter {
        Some(meter) => Some(meter.finish().await),
        None => None,
    };
    let outcomes = outcomes?;
    Ok(RunFigures::new(&outcomes, window.measured(), usage))
}

fn create_factory(token: Arc<str>, run: usize) -> loadgen::Factory {
    Box::new(move |n| Box::new(Create::new(token.clone(), run, n)))
}

fn get_factory(org: &Org) -> loadgen::Factory {
    let (token, ids) = (org.owner.token.clone(), org.workspace_ids.clone());
    Box::new(move |n| Box::new(Get::new(token.clone(), ids.clone(), n)))
}

fn page_factory(org: &Org) -> loadgen::Factory {
    let token = org.owner.token.clone();
    Box::new(move |_| {
        Box::new(Page {
            token: token.clone(),
            cursor: None,
        })
    })
}

fn login_factory(account: &Account) -> loadgen::Factory {
    let req = Req::post("/user/login", None, &account.login_body());
    Box::new(move |_| Box::new(Fixed(req.clone())))
}

/// The same request again and again.
struct Fixed(Req);

impl Workload for Fixed {
    fn next_request(&mut self) -> Req {
        self.0.clone()
    }
}

/// POST /workspace with names unique per run and connection.
struct Create {
    token: Arc<str>,
    prefix: String,
    seq: u64,
}

impl Create {
    fn new(token: Arc<str>, run: usize, worker: usize) -> Create {
        Create {
            token,
            prefix: format!("bench-r{run}-c{worker}"),
            seq: 0,
        }
    }
}

impl Workload for Create {
    fn next_request(&mut self) -> Req {
        self.seq += 1;
        let body = json!({ "name": format!("{}-{}", self.prefix, self.seq) });
        Req::post("/workspace", Some(&self.token), &body)
    }
}

/// GET /workspace/{id}, walking the organization's workspaces with a prime stride from a
/// different start per connection.
struct Get {
    token: Arc<str>,
    ids: Arc<Vec<String>>,
    at: usize,
}

impl Get {
    const STRIDE: usize = 7919;

    fn new(token: Arc<str>, ids: Arc<Vec<String>>, worker: usize) -> Get {
        let at = worker.wrapping_mul(104_729) % ids.len().max(1);
        Get { token, ids, at }
    }
}

impl Workload for Get {
    fn next_request(&mut self) -> Req {
        self.at = (self.at + Self::STRIDE) % self.ids.len().max(1);
        let id = self.ids.get(self.at).map_or("", String::as_str);
        Req::get(format!("/workspace/{id}"), &self.token)
    }
}

/// GET /workspace?limit=50, then the next pages through `nextCursor`, starting over after the
/// last page.
struct Page {
    token: Arc<str>,
    cursor: Option<String>,
}

impl Workload for Page {
    fn next_request(&mut self) -> Req {
        let path = match &self.cursor {
            Some(cursor) => format!("/workspace?limit={PAGE}&cursor={cursor}"),
            None => format!("/workspace?limit={PAGE}"),
        };
        Req::get(path, &self.token)
    }

    fn on_response(&mut self, status: StatusCode, body: &Bytes) {
        self.cursor = if status.is_success() {
            next_cursor(body)
        } else {
            None
        };
    }
}

/// The `nextCursor` of a page, found without parsing the whole answer (cursors are URL-safe
/// base64, so they need no escaping in JSON or in a query).
fn next_cursor(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"nextCursor\":\"";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(body[start..start + len].to_vec()).ok()
}

/// One create in ten; the rest alternate get and list.
struct Mixed {
    get: Get,
    list: Req,
    create: Create,
    seq: u64,
    reads: u64,
}

impl Workload for Mixed {
    fn next_request(&mut self) -> Req {
        self.seq += 1;
        if self.seq.is_multiple_of(10) {
            return self.create.next_request();
        }
        self.reads += 1;
        if self.reads.is_multiple_of(2) {
            self.get.next_request()
        } else {
            self.list.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{next_cursor, Get, Mixed, Workload};
    use crate::client::Req;
    use std::sync::Arc;

    #[test]
    fn finds_the_next_cursor() {
        let body = br#"{"success":true,"workspaces":[],"nextCursor":"AbC-_9"}"#;
        assert_eq!(next_cursor(body).as_deref(), Some("AbC-_9"));
        assert_eq!(next_cursor(br#"{"success":true,"workspaces":[]}"#), None);
    }

    #[test]
    fn get_visits_every_workspace() {
        let ids: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let mut get = Get::new("t".into(), Arc::new(ids), 3);
        let mut seen: Vec<String> = (0..100).map(|_| get.next_request().path).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }

    #[test]
    fn mixed_is_ten_percent_creates() {
        let token: Arc<str> = "t".into();
        let mut mixed = Mixed {
            get: Get::new(token.clone(), Arc::new(vec!["a".into()]), 0),
            list: Req::get("/workspace", &token),
            create: super::Create::new(token, 0, 0),
            seq: 0,
            reads: 0,
        };
        let requests: Vec<Req> = (0..1000).map(|_| mixed.next_request()).collect();
        let creates = requests.iter().filter(|r| r.method == "POST").count();
        let lists = requests
            .iter()
            .filter(|r| r.path == "/workspace" && r.method == "GET")
            .count();
        assert_eq!(creates, 100);
        assert_eq!(lists, 450);
    }
}
