//! The demo data set behind `opsdesk serve --demo`.
//!
//! A mid-size company's IT department after two months of work: five teams,
//! forty people, nine services and three hundred tickets of every kind in
//! every state, with the replies, work notes, holds, escalations, approvals,
//! reopenings, links and merges a real desk accumulates.
//!
//! Everything goes through the real store API, so every change has its
//! events. The whole history is planned first and then applied in time
//! order, so the hash-chained event log reads as a chronological story and
//! the KPIs computed from it (MTTA, MTTR, reopen rate, change failure rate)
//! mean something. The plan comes from a seeded generator: every demo tells
//! the same story, only its dates move with `now`.

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use opsdesk_domain::priority::priority_from;
use opsdesk_domain::ticket::{ChangeOutcome, OnHoldReason};
use opsdesk_domain::transition::ReopenPolicy;
use opsdesk_domain::{
    Actor, Impact, LinkKind, Priority, Role, ServiceId, TeamId, TicketId, TicketKind, TicketState,
    Transition, Urgency, UserId,
};
use opsdesk_store::directory::{ServiceInput, TeamInput};
use opsdesk_store::tickets::{NewTicket, PriorityOverride, TicketPatch};
use opsdesk_store::{NewUser, Store, Visibility};
use std::collections::HashMap;

/// What [`load_demo`] created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub teams: usize,
    pub services: usize,
    pub tickets: usize,
    pub comments: usize,
}

/// Loads a realistic demo data set into an EMPTY service desk (only the admin
/// user exists). `password_hash` is an argon2 PHC string to give every demo
/// user (the caller hashes "demo" once and passes it). `now` is the current
/// time; history is spread over the 60 days before it.
pub async fn load_demo(
    store: &Store,
    admin: UserId,
    password_hash: &str,
    now: Timestamp,
) -> Result<DemoSummary> {
    if store.count_users().await? > 1 || !store.list_teams().await?.is_empty() {
        bail!(
            "the demo data set loads only into an empty service desk (just the admin user and no teams)"
        );
    }
    let now_s = now.as_second();
    let plans = plan_all(now_s);

    // The directory exists a little before the first ticket.
    let mut clock = now_s - HISTORY - 2 * HOUR;
    let mut tick = || {
        clock += 5;
        ts(clock)
    };
    let mut teams = Vec::with_capacity(TEAMS.len());
    for t in TEAMS {
        let input = TeamInput {
            name: t.name.into(),
            description: t.description.into(),
            round_robin: t.round_robin,
        };
        let team = store
            .create_team(input, admin, tick()?)
            .await
            .with_context(|| format!("demo team {}", t.name))?;
        teams.push(team.id);
    }
    let mut users = Vec::with_capacity(PEOPLE.len());
    for p in PEOPLE {
        let new = NewUser {
            username: p.username.into(),
            display_name: p.name.into(),
            email: Some(format!("{}@example.com", p.username)),
            role: p.role,
            organization: Some(p.org.into()),
            password_hash: Some(password_hash.into()),
        };
        let user = store
            .create_user(new, Some(admin), tick()?)
            .await
            .with_context(|| format!("demo user {}", p.username))?;
        users.push(Actor {
            user_id: user.id,
            role: user.role,
        });
    }
    for (i, p) in PEOPLE.iter().enumerate() {
        for &team in p.teams {
            store
                .add_team_member(teams[team], users[i].user_id, admin, tick()?)
                .await?;
        }
    }
    let mut services = Vec::with_capacity(SERVICES.len());
    for s in SERVICES {
        let input = ServiceInput {
            name: s.name.into(),
            description: s.description.into(),
            owner_team_id: Some(teams[s.owner]),
            tier: s.tier,
        };
        let service = store
            .create_service(input, admin, tick()?)
            .await
            .with_context(|| format!("demo service {}", s.name))?;
        services.push(service.id);
    }

    let mut run = Runtime {
        store,
        roles: users.iter().map(|a| (a.user_id, a.role)).collect(),
        users,
        teams,
        services,
        ids: vec![None; plans.len()],
        assignees: vec![None; plans.len()],
        comments: 0,
    };
    let mut order: Vec<(i64, usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.steps.iter().enumerate().map(move |(j, s)| (s.at, i, j)))
        .collect();
    order.sort_unstable();
    for (_, i, j) in order {
        let plan = &plans[i];
        run.apply(plan, i, &plan.steps[j]).await.with_context(|| {
            format!(
                "demo ticket '{}' ({}), step {j}: {:?}",
                plan.title, plan.kind, plan.steps[j].op
            )
        })?;
    }
    Ok(DemoSummary {
        users: PEOPLE.len(),
        teams: TEAMS.len(),
        services: SERVICES.len(),
        tickets: run.ids.iter().flatten().count(),
        comments: run.comments,
    })
}

// ---------------------------------------------------------------------------
// Applying the plan
// ---------------------------------------------------------------------------

struct Runtime<'a> {
    store: &'a Store,
    /// Aligned with [`PEOPLE`].
    users: Vec<Actor>,
    roles: HashMap<UserId, Role>,
    /// Aligned with [`TEAMS`] and [`SERVICES`].
    teams: Vec<TeamId>,
    services: Vec<ServiceId>,
    /// Per plan: the ticket once created, and who it is assigned to now.
    ids: Vec<Option<TicketId>>,
    assignees: Vec<Option<UserId>>,
    comments: usize,
}

impl Runtime<'_> {
    fn actor(&self, plan: &Plan, i: usize, who: &Who) -> Actor {
        match who {
            Who::Requester => self.users[plan.requester],
            Who::Person(p) => self.users[*p],
            // Whoever holds the ticket now (round-robin and escalations decide
            // that at run time); the planned worker while nobody does.
            Who::Worker => match self.assignees[i] {
                Some(user_id) => Actor {
                    user_id,
                    role: self.roles.get(&user_id).copied().unwrap_or(Role::Agent),
                },
                None => self.users[plan.worker],
            },
        }
    }

    async fn apply(&mut self, plan: &Plan, i: usize, step: &Step) -> Result<()> {
        let at = ts(step.at)?;
        let actor = self.actor(plan, i, &step.who);
        let store = self.store;
        if let Op::Create = step.op {
            let new = NewTicket {
                kind: plan.kind,
                title: plan.title.clone(),
                description: plan.description.clone(),
                requester_id: self.users[plan.requester].user_id,
                team_id: Some(self.teams[plan.team]),
                assignee_id: plan.assignee.map(|p| self.users[p].user_id),
                service_id: plan.service.map(|s| self.services[s]),
                category: plan.category.map(str::to_string),
                tags: plan.tags.clone(),
                impact: plan.impact,
                urgency: plan.urgency,
                priority_override: plan.bump.map(|(priority, reason)| PriorityOverride {
                    priority,
                    reason: reason.into(),
                }),
            };
            let t = store.create_ticket(new, at, actor.user_id, None).await?;
            self.ids[i] = Some(t.id);
            self.assignees[i] = t.assignee_id;
            return Ok(());
        }
        let id = self.ids[i].context("step before the ticket exists")?;
        match &step.op {
            Op::Create => {}
            Op::Do(transition) => {
                let t = store
                    .transition_ticket(id, transition, ReopenPolicy::default(), at, actor, None)
                    .await?;
                self.assignees[i] = t.assignee_id;
            }
            Op::Say(visibility, body) => {
                store
                    .add_comment(id, *visibility, body, at, actor, None)
                    .await?;
                self.comments += 1;
            }
            Op::Assign { team, person } => {
                let patch = TicketPatch {
                    team_id: Some(Some(self.teams[*team])),
                    assignee_id: Some(Some(self.users[*person].user_id)),
                    ..TicketPatch::default()
                };
                let t = store
                    .update_ticket(id, patch, at, actor.user_id, None)
                    .await?;
                self.assignees[i] = t.assignee_id;
            }
            Op::Claim => {
                let patch = TicketPatch {
                    assignee_id: Some(Some(actor.user_id)),
                    ..TicketPatch::default()
                };
                let t = store
                    .update_ticket(id, patch, at, actor.user_id, None)
                    .await?;
                self.assignees[i] = t.assignee_id;
            }
            Op::Link(kind, target) => {
                // A target that falls outside the window was never created.
                if let Some(target) = self.ids[*target] {
                    store
                        .link_tickets(id, *kind, target, at, actor.user_id, None)
                        .await?;
                }
            }
            Op::Merge(survivor) => {
                if let Some(survivor) = self.ids[*survivor] {
                    store
                        .merge_tickets(id, survivor, at, actor.user_id, None)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

fn ts(second: i64) -> Result<Timestamp> {
    Ok(Timestamp::from_second(second)?)
}

// ---------------------------------------------------------------------------
// The plan: tickets and their stories, in seconds since the epoch
// ---------------------------------------------------------------------------

const MIN: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// How far back the ticket history goes.
const HISTORY: i64 = 60 * DAY;

/// Who takes a step.
#[derive(Debug, Clone, PartialEq)]
enum Who {
    Requester,
    /// The ticket's assignee at that moment.
    Worker,
    /// An index into [`PEOPLE`].
    Person(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Create,
    Do(Transition),
    Say(Visibility, String),
    /// Hand the ticket to another team and person (an escalation).
    Assign {
        team: usize,
        person: usize,
    },
    /// The acting agent takes the ticket.
    Claim,
    /// Link this ticket to the plan with that index.
    Link(LinkKind, usize),
    /// Merge this ticket, a duplicate, into the plan with that index.
    Merge(usize),
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    at: i64,
    who: Who,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
struct Plan {
    kind: TicketKind,
    title: String,
    description: String,
    requester: usize,
    team: usize,
    assignee: Option<usize>,
    /// Works the ticket until somebody is assigned; a member of `team`.
    worker: usize,
    service: Option<usize>,
    category: Option<&'static str>,
    tags: Vec<String>,
    impact: Impact,
    urgency: Urgency,
    bump: Option<(Priority, &'static str)>,
    /// The first step creates the ticket.
    steps: Vec<Step>,
}

impl Plan {
    fn created(&self) -> i64 {
        self.steps.first().map_or(i64::MAX, |s| s.at)
    }
}

/// SplitMix64: tiny, fast, and the same sequence on every platform and
/// every version of every crate.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// Stream `n` of the demo's generator; streams do not overlap.
    fn stream(n: u64) -> Rng {
        let mut seeder = Rng(0x0D5D_E5C0_FFEE_2026 ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng(seeder.next())
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`; `lo` when the range is empty.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next() % (hi - lo).unsigned_abs()) as i64
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Day of the week, 0 = Monday (1970-01-01 was a Thursday).
fn weekday_of_day(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// A stable pseudo-random offset in `0..span` derived from `t`, so snapping
/// a time never consumes the generator (a story keeps its choices when it
/// is moved in time).
fn jitter(t: i64, span: i64) -> i64 {
    (t.wrapping_mul(2_654_435_761) >> 7).rem_euclid(span)
}

/// `t` if it is in office hours (Monday to Friday, 08:00 to 18:00 UTC),
/// otherwise shortly after the next opening.
fn office(t: i64) -> i64 {
    let mut day = t.div_euclid(DAY);
    let hour = t.rem_euclid(DAY) / HOUR;
    if weekday_of_day(day) < 5 && (8..18).contains(&hour) {
        return t;
    }
    if hour >= 18 {
        day += 1;
    }
    while weekday_of_day(day) >= 5 {
        day += 1;
    }
    day * DAY + 8 * HOUR + jitter(t, 100 * MIN)
}

/// `t` if it is in office hours, otherwise some time during the next
/// working day: what people report out of hours, they report the next day.
fn next_working_day(t: i64) -> i64 {
    let opening = office(t);
    if opening == t {
        t
    } else {
        opening - opening.rem_euclid(DAY) + 8 * HOUR + jitter(t, 10 * HOUR)
    }
}

/// The next change advisory board after `t`: Tuesdays and Thursdays at 14:00.
fn cab(t: i64) -> i64 {
    let mut day = t.div_euclid(DAY);
    loop {
        let at = day * DAY + 14 * HOUR + jitter(t, 40 * MIN);
        if matches!(weekday_of_day(day), 1 | 3) && at > t {
            return at;
        }
        day += 1;
    }
}

/// The next evening maintenance window after `t`: Monday to Thursday from 19:00.
fn window(t: i64) -> i64 {
    let mut day = t.div_euclid(DAY);
    loop {
        let at = day * DAY + 19 * HOUR + jitter(t, 90 * MIN);
        if weekday_of_day(day) < 4 && at > t {
            return at;
        }
        day += 1;
    }
}

/// One ticket's history being written, step by step.
struct Story {
    t: i64,
    /// Agents work office hours (false for P1 incidents: on call).
    snap: bool,
    steps: Vec<Step>,
}

impl Story {
    fn start(t0: i64, snap: bool, creator: usize) -> Story {
        let t = if snap { next_working_day(t0) } else { t0 };
        Story {
            t: t + 1,
            snap,
            steps: vec![Step {
                at: t,
                who: Who::Person(creator),
                op: Op::Create,
            }],
        }
    }

    /// An agent acts some time later.
    fn agent(&mut self, rng: &mut Rng, lo: i64, hi: i64) {
        self.t += rng.range(lo, hi);
        if self.snap {
            self.t = office(self.t);
        }
    }

    /// Someone acts some time later, in office hours.
    fn person(&mut self, rng: &mut Rng, lo: i64, hi: i64) {
        self.t = office(self.t + rng.range(lo, hi));
    }

    /// A minute or a few later.
    fn soon(&mut self, rng: &mut Rng) {
        self.t += rng.range(MIN, 5 * MIN);
    }

    fn push(&mut self, who: Who, op: Op) {
        self.steps.push(Step {
            at: self.t,
            who,
            op,
        });
        self.t += 1;
    }

    fn say(&mut self, who: Who, visibility: Visibility, body: String) {
        self.push(who, Op::Say(visibility, body));
    }

    fn step(&mut self, who: Who, transition: Transition) {
        self.push(who, Op::Do(transition));
    }
}

/// Per-ticket choices for the placeholders in the texts, so a title and the
/// replies that follow it talk about the same site, room and vendor.
struct Ctx {
    requester: String,
    org: &'static str,
    site: usize,
    room: &'static str,
    app: &'static str,
    person: &'static str,
    vendor: &'static str,
    case: i64,
    num: i64,
    mins: i64,
    floor: i64,
}

impl Ctx {
    fn new(rng: &mut Rng, requester: usize, vendor: &'static str) -> Ctx {
        let p = &PEOPLE[requester];
        let org = if BUSINESS_ORGS.contains(&p.org) {
            p.org
        } else {
            rng.pick(BUSINESS_ORGS)
        };
        Ctx {
            requester: p.name.split(' ').next().unwrap_or(p.name).to_string(),
            org,
            site: rng.below(SITES.len()),
            room: rng.pick(ROOMS),
            app: rng.pick(APPS),
            person: rng.pick(OUTSIDERS),
            vendor,
            case: rng.range(4_100_000, 4_900_000),
            num: rng.range(100, 1000),
            mins: rng.pick(&[5, 10, 15, 20]),
            floor: rng.range(1, 7),
        }
    }

    fn fill(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        text.replace("{requester}", &self.requester)
            .replace("{org}", self.org)
            .replace("{site}", SITES[self.site].0)
            .replace("{room}", self.room)
            .replace("{app}", self.app)
            .replace("{person}", self.person)
            .replace("{vendor}", self.vendor)
            .replace("{case}", &self.case.to_string())
            .replace("{num}", &self.num.to_string())
            .replace("{mins}", &self.mins.to_string())
            .replace("{floor}", &self.floor.to_string())
    }

    /// Tags the template implies: the site it names, a VIP requester.
    fn tags(&self, base: &[&str], texts: &[&str], requester: usize) -> Vec<String> {
        let mut tags: Vec<String> = base.iter().map(|t| t.to_string()).collect();
        if texts.iter().any(|t| t.contains("{site}")) {
            tags.push(SITES[self.site].1.to_string());
        }
        if PEOPLE[requester].vip {
            tags.push("vip".into());
        }
        tags
    }

    fn pick(&self, rng: &mut Rng, texts: &[&str]) -> String {
        self.fill(rng.pick(texts))
    }
}

fn incident_template(title_start: &str) -> &'static IncidentTpl {
    INCIDENTS
        .iter()
        .find(|t| t.title.starts_with(title_start))
        .unwrap_or_else(|| panic!("no incident template '{title_start}'"))
}

fn members(team: usize) -> Vec<usize> {
    (0..PEOPLE.len())
        .filter(|&i| PEOPLE[i].teams.contains(&team))
        .collect()
}

fn person(username: &str) -> usize {
    PEOPLE
        .iter()
        .position(|p| p.username == username)
        .unwrap_or_else(|| panic!("no demo person {username}"))
}

/// A requester, usually from one of `orgs` (any when empty).
fn pick_requester(rng: &mut Rng, orgs: &[&str]) -> usize {
    let all: Vec<usize> = (0..PEOPLE.len())
        .filter(|&i| PEOPLE[i].role == Role::Requester)
        .collect();
    let fitting: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&i| orgs.contains(&PEOPLE[i].org))
        .collect();
    if fitting.is_empty() || rng.chance(0.15) {
        rng.pick(&all)
    } else {
        rng.pick(&fitting)
    }
}

fn nudge_impact(rng: &mut Rng, i: Impact) -> Impact {
    if !rng.chance(0.25) {
        return i;
    }
    match i {
        Impact::High => Impact::Medium,
        Impact::Medium => rng.pick(&[Impact::High, Impact::Low]),
        Impact::Low => Impact::Medium,
    }
}

fn nudge_urgency(rng: &mut Rng, u: Urgency) -> Urgency {
    if !rng.chance(0.25) {
        return u;
    }
    match u {
        Urgency::High => Urgency::Medium,
        Urgency::Medium => rng.pick(&[Urgency::High, Urgency::Low]),
        Urgency::Low => Urgency::Medium,
    }
}

/// How long after its last step a ticket may have sat in `target` by now.
fn max_age(kind: TicketKind, target: TicketState) -> i64 {
    use TicketState as S;
    match (kind, target) {
        (_, S::Closed | S::Cancelled) => HISTORY,
        (_, S::New) => 4 * DAY,
        // Past the reopen window the server would close them.
        (_, S::Resolved | S::Fulfilled) => 6 * DAY + 12 * HOUR,
        (_, S::Rejected | S::Approved) => 8 * DAY,
        (_, S::InProgress) => 21 * DAY,
        (_, S::OnHold) => 30 * DAY,
        (_, S::Investigating) => 40 * DAY,
        (_, S::KnownError) => 50 * DAY,
        (TicketKind::Change, S::Draft) => 30 * DAY,
        (_, S::Assessment) => 20 * DAY,
        (_, S::Scheduled | S::AwaitingApproval) => 12 * DAY,
        (_, S::Implementing) => 4 * DAY,
        // Implemented in an evening window, Monday to Thursday.
        (_, S::Review) => 7 * DAY,
        _ => 5 * DAY,
    }
}

/// Finds a start time for a story so that it ends before `now`, no older
/// than the target state allows, and starts within the history window.
/// The story is rebuilt from a saved generator at each start time, so only
/// its position moves; after a few misses other choices are tried. `None`
/// when nothing fits.
fn place(
    rng: &mut Rng,
    now: i64,
    kind: TicketKind,
    target: TicketState,
    build: &dyn Fn(&mut Rng, i64) -> Vec<Step>,
) -> Option<Vec<Step>> {
    let earliest = now - HISTORY;
    let terminal = target.is_terminal();
    let (min_age, max_age) = (5 * MIN, max_age(kind, target));
    for _ in 0..8 {
        let saved = rng.clone();
        let mut t0 = if terminal {
            now - finished_age(rng)
        } else {
            now - rng.range(min_age, max_age)
        };
        for _ in 0..12 {
            let mut r = saved.clone();
            let steps = build(&mut r, t0);
            let (start, end) = (steps[0].at, steps[steps.len() - 1].at);
            let age = now - end;
            if age < min_age {
                // Ends in the future: start earlier.
                let length = end - t0;
                t0 = if terminal {
                    rng.range(earliest, now - length - min_age)
                } else {
                    t0 - (min_age - age) - 30 * MIN
                };
            } else if age > max_age {
                t0 += age - max_age + 30 * MIN;
            } else if start < earliest {
                break;
            } else {
                *rng = r;
                return Some(steps);
            }
        }
    }
    None
}

/// How long ago a finished ticket started. The open backlog is recent, so
/// finished work thins out towards `now`; together they make a steady intake.
fn finished_age(rng: &mut Rng) -> i64 {
    loop {
        let age = rng.range(DAY, HISTORY);
        if rng.range(0, 25 * DAY) < age {
            return age;
        }
    }
}

/// Builds a hand-placed story from `t0`, moved back a day at a time until it
/// ends before `now` (a weekend can push its steps later).
fn fit(
    rng: &mut Rng,
    now: i64,
    mut t0: i64,
    build: &dyn Fn(&mut Rng, i64) -> Vec<Step>,
) -> Vec<Step> {
    loop {
        let mut r = rng.clone();
        let steps = build(&mut r, t0);
        if steps[steps.len() - 1].at < now - HOUR || t0 < now - HISTORY {
            *rng = r;
            return steps;
        }
        t0 -= DAY;
    }
}

/// A ticket that never got beyond being reported, for when no story fits.
fn fallback(rng: &mut Rng, now: i64, creator: usize) -> Vec<Step> {
    vec![Step {
        at: now - rng.range(HOUR, DAY),
        who: Who::Person(creator),
        op: Op::Create,
    }]
}

// ---------------------------------------------------------------------------
// Stories per kind
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum HoldChoice {
    Random,
    Never,
    Always(OnHoldReason),
}

struct IncidentArgs {
    creator: usize,
    /// Reported by phone: the service desk agent opened the ticket.
    by_phone: bool,
    target: TicketState,
    priority: Priority,
    first_line: bool,
    /// Escalate to this team and person after acknowledging.
    escalate: Option<(usize, usize)>,
    hold: HoldChoice,
    code: &'static str,
    fix: String,
}

fn incident_story(rng: &mut Rng, c: &Ctx, a: &IncidentArgs, t0: i64) -> Vec<Step> {
    use TicketState as S;
    use Visibility::{Internal, Public};
    // P1s are worked around the clock by whoever is on call.
    let on_call = a.priority == Priority::P1;
    let mut s = Story::start(t0, !on_call, a.creator);
    if a.target == S::New {
        if rng.chance(0.3) {
            s.person(rng, 30 * MIN, 6 * HOUR);
            s.say(Who::Requester, Public, c.pick(rng, NEW_FOLLOW_UPS));
        }
        return s.steps;
    }
    let (ack_lo, ack_hi) = match a.priority {
        Priority::P1 => (2 * MIN, 12 * MIN),
        Priority::P2 => (8 * MIN, HOUR),
        Priority::P3 => (20 * MIN, 5 * HOUR),
        _ => (HOUR, 2 * DAY),
    };
    let (fix_lo, fix_hi) = match a.priority {
        Priority::P1 => (40 * MIN, 4 * HOUR),
        Priority::P2 => (2 * HOUR, DAY),
        Priority::P3 => (4 * HOUR, 3 * DAY),
        _ => (DAY, 6 * DAY),
    };
    let resolve = |code: &str, note: &str| Transition::Resolve {
        resolution_code: code.into(),
        resolution_note: note.into(),
    };
    let finishing = matches!(a.target, S::Resolved | S::Closed);
    let first_contact = finishing
        && a.first_line
        && a.escalate.is_none()
        && a.hold == HoldChoice::Random
        && a.priority >= Priority::P3
        && rng.chance(0.2);
    if first_contact {
        s.agent(rng, 5 * MIN, 40 * MIN);
        let opening = if a.by_phone {
            "as discussed on the phone"
        } else {
            "this was a quick one"
        };
        s.say(
            Who::Worker,
            Public,
            format!("Hi {}, {opening}: {} Marking this resolved; just reply if anything is still wrong.", c.requester, a.fix),
        );
        s.soon(rng);
        s.step(Who::Worker, resolve(a.code, &a.fix));
    } else {
        s.agent(rng, ack_lo, ack_hi);
        s.step(Who::Worker, Transition::Acknowledge {});
        s.soon(rng);
        s.say(Who::Worker, Public, c.pick(rng, INCIDENT_ACKS));
        if let Some((team, person)) = a.escalate {
            s.agent(rng, 20 * MIN, 4 * HOUR);
            let note = format!(
                "{} Escalating to {}.",
                rng.pick(ESCALATIONS),
                TEAMS[team].name
            );
            s.say(Who::Worker, Internal, note);
            s.soon(rng);
            s.push(Who::Worker, Op::Assign { team, person });
            s.agent(rng, 10 * MIN, 3 * HOUR);
            s.say(Who::Worker, Internal, c.pick(rng, INCIDENT_NOTES));
        }
        for _ in 0..rng.range(0, 3) {
            s.agent(rng, 20 * MIN, 8 * HOUR);
            s.say(Who::Worker, Internal, c.pick(rng, INCIDENT_NOTES));
        }
        let hold = match a.hold {
            HoldChoice::Always(reason) => Some(reason),
            HoldChoice::Never if a.target != S::OnHold => None,
            _ if a.target == S::OnHold || rng.chance(0.25) => Some(match rng.below(10) {
                0..5 => OnHoldReason::AwaitingCustomer,
                5..8 => OnHoldReason::AwaitingVendor,
                _ => OnHoldReason::AwaitingChange,
            }),
            _ => None,
        };
        if let Some(reason) = hold {
            s.agent(rng, 15 * MIN, 4 * HOUR);
            let (before, after) = match reason {
                OnHoldReason::AwaitingCustomer => (ASK_INFO, &[][..]),
                OnHoldReason::AwaitingVendor => (VENDOR_HOLDS, VENDOR_BACK),
                OnHoldReason::AwaitingChange => (CHANGE_HOLDS, CHANGE_BACK),
            };
            let i = rng.below(before.len());
            let visibility = if reason == OnHoldReason::AwaitingCustomer {
                Public
            } else {
                Internal
            };
            s.say(Who::Worker, visibility, c.fill(before[i]));
            s.soon(rng);
            s.step(Who::Worker, Transition::Hold { reason });
            if a.target == S::OnHold {
                return s.steps;
            }
            match reason {
                OnHoldReason::AwaitingCustomer => {
                    // The requester's answer takes the ticket off hold by itself.
                    s.person(rng, HOUR, 2 * DAY);
                    s.say(Who::Requester, Public, c.fill(ANSWERS[i]));
                }
                OnHoldReason::AwaitingVendor | OnHoldReason::AwaitingChange => {
                    s.agent(rng, DAY, 6 * DAY);
                    s.say(Who::Worker, Internal, c.pick(rng, after));
                    s.soon(rng);
                    s.step(Who::Worker, Transition::Resume {});
                }
            }
        }
        if rng.chance(0.15) {
            s.person(rng, 2 * HOUR, DAY);
            s.say(Who::Requester, Public, c.pick(rng, CHASERS));
        }
        if a.target == S::InProgress {
            return s.steps;
        }
        s.agent(rng, fix_lo, fix_hi);
        s.say(
            Who::Worker,
            Public,
            format!(
                "Hi {}, this should be fixed now. {} If it happens again just reply here; otherwise the ticket closes by itself in 7 days.",
                c.requester, a.fix
            ),
        );
        s.soon(rng);
        s.step(Who::Worker, resolve(a.code, &a.fix));
    }
    if a.target == S::Resolved {
        return s.steps;
    }
    if rng.chance(0.08) {
        s.person(rng, 2 * HOUR, 2 * DAY);
        s.step(
            Who::Requester,
            Transition::Reopen {
                reason: Some(c.pick(rng, REOPEN_REASONS)),
            },
        );
        s.agent(rng, 30 * MIN, 6 * HOUR);
        s.say(
            Who::Worker,
            Internal,
            "Reopened by the requester; looking at it again with fresh logs.".into(),
        );
        s.agent(rng, 2 * HOUR, 2 * DAY);
        let note = format!(
            "{} After the reopen: replaced the remaining faulty setting and monitored for 24 hours.",
            a.fix
        );
        s.say(Who::Worker, Public, format!("Hi {}, sorry it came back. I found a second cause and fixed it as well; it has been stable since.", c.requester));
        s.soon(rng);
        s.step(Who::Worker, resolve("fixed", &note));
    }
    if rng.chance(0.5) {
        s.person(rng, HOUR, 2 * DAY);
        if rng.chance(0.5) {
            s.say(Who::Requester, Public, c.pick(rng, THANKS));
            s.soon(rng);
        }
        s.step(Who::Requester, Transition::Close { outcome: None });
    } else {
        s.person(rng, DAY, 4 * DAY);
        s.step(Who::Worker, Transition::Close { outcome: None });
    }
    s.steps
}

struct RequestArgs {
    creator: usize,
    target: TicketState,
    approval: bool,
    vendor: bool,
    /// The ticket is not auto-assigned: the worker claims it first.
    claim: bool,
    approver: usize,
    fulfil: String,
}

fn request_story(rng: &mut Rng, c: &Ctx, a: &RequestArgs, t0: i64) -> Vec<Step> {
    use TicketState as S;
    use Visibility::{Internal, Public};
    let mut s = Story::start(t0, true, a.creator);
    let cancel = |rng: &mut Rng| Transition::Cancel {
        reason: rng.pick(CANCEL_REASONS).to_string(),
    };
    if a.target == S::New {
        return s.steps;
    }
    if a.target == S::Cancelled && rng.chance(0.4) {
        s.person(rng, HOUR, DAY);
        s.step(Who::Requester, cancel(rng));
        return s.steps;
    }
    s.agent(rng, 15 * MIN, 6 * HOUR);
    if a.claim {
        s.push(Who::Worker, Op::Claim);
        s.soon(rng);
    }
    s.say(Who::Worker, Public, c.pick(rng, REQUEST_ACKS));
    if a.approval || matches!(a.target, S::AwaitingApproval | S::Approved | S::Rejected) {
        s.soon(rng);
        s.step(Who::Worker, Transition::SubmitForApproval {});
        if a.target == S::AwaitingApproval {
            return s.steps;
        }
        if a.target == S::Cancelled {
            s.person(rng, DAY, 3 * DAY);
            s.step(Who::Requester, cancel(rng));
            return s.steps;
        }
        s.agent(rng, 2 * HOUR, 2 * DAY);
        if a.target == S::Rejected || (a.target == S::Closed && rng.chance(0.1)) {
            let note = c.pick(rng, REJECT_NOTES);
            s.step(
                Who::Person(a.approver),
                Transition::Reject { note: note.clone() },
            );
            s.agent(rng, 10 * MIN, 2 * HOUR);
            s.say(
                Who::Worker,
                Public,
                format!(
                    "Hi {}, unfortunately the approver did not approve this request. {note}",
                    c.requester
                ),
            );
            if a.target == S::Closed {
                s.person(rng, HOUR, 2 * DAY);
                s.step(Who::Worker, Transition::Close { outcome: None });
            }
            return s.steps;
        }
        s.step(
            Who::Person(a.approver),
            Transition::Approve {
                note: Some(c.pick(rng, APPROVE_NOTES)),
            },
        );
        if a.target == S::Approved {
            return s.steps;
        }
        s.agent(rng, 30 * MIN, DAY);
    } else {
        s.agent(rng, 10 * MIN, 4 * HOUR);
    }
    s.step(Who::Worker, Transition::Start {});
    let hold = if a.vendor {
        Some(OnHoldReason::AwaitingVendor)
    } else if a.target == S::OnHold || rng.chance(0.15) {
        Some(OnHoldReason::AwaitingCustomer)
    } else {
        None
    };
    if let Some(reason) = hold {
        s.soon(rng);
        let i = rng.below(REQUEST_QUESTIONS.len());
        if reason == OnHoldReason::AwaitingVendor {
            s.say(Who::Worker, Public, c.fill("Ordered from {vendor}; delivery usually takes 3 to 5 working days. I'll update you when it arrives."));
        } else {
            s.say(Who::Worker, Public, c.fill(REQUEST_QUESTIONS[i]));
        }
        s.soon(rng);
        s.step(Who::Worker, Transition::Hold { reason });
        if a.target == S::OnHold {
            return s.steps;
        }
        if reason == OnHoldReason::AwaitingVendor {
            s.agent(rng, 2 * DAY, 6 * DAY);
            s.say(
                Who::Worker,
                Internal,
                c.fill("Delivery from {vendor} arrived at the {site}; preparing it now."),
            );
            s.soon(rng);
            s.step(Who::Worker, Transition::Resume {});
        } else {
            s.person(rng, HOUR, 2 * DAY);
            s.say(Who::Requester, Public, c.fill(REQUEST_ANSWERS[i]));
        }
    }
    if a.target == S::Cancelled {
        s.person(rng, 4 * HOUR, 2 * DAY);
        s.step(Who::Requester, cancel(rng));
        return s.steps;
    }
    if rng.chance(0.5) {
        s.agent(rng, 30 * MIN, DAY);
        s.say(Who::Worker, Internal, c.pick(rng, REQUEST_NOTES));
    }
    if a.target == S::InProgress {
        return s.steps;
    }
    s.agent(rng, 2 * HOUR, 3 * DAY);
    s.say(
        Who::Worker,
        Public,
        format!("Hi {}, all done: {}", c.requester, a.fulfil),
    );
    s.soon(rng);
    s.step(
        Who::Worker,
        Transition::Fulfill {
            resolution_note: a.fulfil.clone(),
        },
    );
    if a.target == S::Fulfilled {
        return s.steps;
    }
    if rng.chance(0.05) {
        s.person(rng, HOUR, DAY);
        s.step(
            Who::Requester,
            Transition::Reopen {
                reason: Some("Something is still missing, see my reply.".into()),
            },
        );
        s.soon(rng);
        s.say(
            Who::Requester,
            Public,
            "The access works but I cannot edit anything, only read.".into(),
        );
        s.agent(rng, HOUR, DAY);
        s.say(
            Who::Worker,
            Public,
            format!(
                "Hi {}, sorted: the edit rights were missing. Please try again.",
                c.requester
            ),
        );
        s.soon(rng);
        s.step(
            Who::Worker,
            Transition::Fulfill {
                resolution_note: format!("{} Edit rights added after the reopen.", a.fulfil),
            },
        );
    }
    if rng.chance(0.6) {
        s.person(rng, HOUR, 2 * DAY);
        s.say(Who::Requester, Public, c.pick(rng, THANKS));
        s.soon(rng);
        s.step(Who::Requester, Transition::Close { outcome: None });
    } else {
        s.person(rng, DAY, 4 * DAY);
        s.step(Who::Worker, Transition::Close { outcome: None });
    }
    s.steps
}

struct ProblemArgs {
    creator: usize,
    target: TicketState,
    workaround: String,
    root_cause: String,
}

fn problem_story(rng: &mut Rng, c: &Ctx, a: &ProblemArgs, t0: i64) -> Vec<Step> {
    use TicketState as S;
    use Visibility::{Internal, Public};
    let mut s = Story::start(t0, true, a.creator);
    if a.target == S::New {
        return s.steps;
    }
    s.agent(rng, HOUR, 2 * DAY);
    s.step(Who::Worker, Transition::Investigate {});
    s.soon(rng);
    s.say(Who::Worker, Internal, PROBLEM_NOTES[0].into());
    for _ in 0..rng.range(1, 3) {
        s.agent(rng, DAY, 5 * DAY);
        s.say(Who::Worker, Internal, c.pick(rng, &PROBLEM_NOTES[1..]));
    }
    if a.target == S::Investigating {
        return s.steps;
    }
    if a.target == S::KnownError || rng.chance(0.7) {
        s.agent(rng, DAY, 5 * DAY);
        s.step(
            Who::Worker,
            Transition::RecordKnownError {
                workaround: a.workaround.clone(),
            },
        );
        s.soon(rng);
        s.say(
            Who::Worker,
            Public,
            format!(
                "Known error. Workaround for the service desk, also in the knowledge base: {}",
                a.workaround
            ),
        );
        if a.target == S::KnownError {
            return s.steps;
        }
    }
    s.agent(rng, 3 * DAY, 12 * DAY);
    s.say(
        Who::Worker,
        Internal,
        "Fix deployed everywhere; no new related incidents since. Resolving.".into(),
    );
    s.soon(rng);
    s.step(
        Who::Worker,
        Transition::Resolve {
            resolution_code: "fixed".into(),
            resolution_note: a.root_cause.clone(),
        },
    );
    if a.target == S::Resolved {
        return s.steps;
    }
    s.agent(rng, DAY, 4 * DAY);
    s.step(Who::Worker, Transition::Close { outcome: None });
    s.steps
}

struct ChangeArgs {
    creator: usize,
    target: TicketState,
    approver: usize,
    standard: bool,
    outcome: ChangeOutcome,
    service: &'static str,
}

fn change_story(rng: &mut Rng, c: &Ctx, a: &ChangeArgs, t0: i64) -> Vec<Step> {
    use TicketState as S;
    use Visibility::Internal;
    let mut s = Story::start(t0, true, a.creator);
    let cancel = |rng: &mut Rng| Transition::Cancel {
        reason: rng.pick(CHANGE_CANCELS).to_string(),
    };
    s.agent(rng, 10 * MIN, HOUR);
    s.say(Who::Worker, Internal, c.pick(rng, CHANGE_PLANS));
    if a.target == S::Draft {
        return s.steps;
    }
    s.agent(rng, HOUR, 2 * DAY);
    s.step(Who::Worker, Transition::SubmitForAssessment {});
    if a.target == S::Assessment {
        return s.steps;
    }
    if a.target == S::Cancelled && rng.chance(0.5) {
        s.agent(rng, DAY, 3 * DAY);
        s.step(Who::Worker, cancel(rng));
        return s.steps;
    }
    s.agent(rng, 4 * HOUR, 2 * DAY);
    let risk = if a.standard {
        CHANGE_RISKS[0]
    } else {
        rng.pick(&CHANGE_RISKS[1..])
    };
    s.say(Who::Worker, Internal, risk.replace("{service}", a.service));
    s.soon(rng);
    s.step(Who::Worker, Transition::RequestApproval {});
    if a.target == S::AwaitingApproval {
        return s.steps;
    }
    if a.standard {
        s.agent(rng, 30 * MIN, 4 * HOUR);
        s.step(
            Who::Person(a.approver),
            Transition::Approve {
                note: Some("Standard change: pre-approved template.".into()),
            },
        );
    } else {
        s.t = cab(s.t);
        if rng.chance(0.2) {
            s.step(
                Who::Person(a.approver),
                Transition::Reject {
                    note: rng.pick(CHANGE_REJECTIONS).to_string(),
                },
            );
            s.agent(rng, DAY, 3 * DAY);
            s.say(
                Who::Worker,
                Internal,
                "Added the rollback plan and the staging test evidence; resubmitting.".into(),
            );
            s.soon(rng);
            s.step(Who::Worker, Transition::SubmitForAssessment {});
            s.agent(rng, 2 * HOUR, DAY);
            s.step(Who::Worker, Transition::RequestApproval {});
            s.t = cab(s.t);
        }
        s.step(
            Who::Person(a.approver),
            Transition::Approve {
                note: Some(rng.pick(CHANGE_APPROVALS).to_string()),
            },
        );
    }
    if a.target == S::Scheduled {
        return s.steps;
    }
    if a.target == S::Cancelled {
        s.agent(rng, DAY, 4 * DAY);
        s.step(Who::Worker, cancel(rng));
        return s.steps;
    }
    if a.target == S::Implementing {
        // A longer piece of work, done in the daytime over several days.
        s.agent(rng, 12 * HOUR, 2 * DAY);
    } else {
        s.t = window(s.t + 12 * HOUR);
    }
    s.say(Who::Worker, Internal, "Starting implementation; monitoring silenced for the window and the service desk informed.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::Implement {});
    if a.target == S::Implementing {
        return s.steps;
    }
    s.t += rng.range(30 * MIN, 3 * HOUR);
    let result = match a.outcome {
        ChangeOutcome::Successful => rng.pick(CHANGE_DONE).to_string(),
        ChangeOutcome::Failed => "Post-checks failed: part of the change did not apply and a follow-up change is needed. Service is running on the old configuration.".to_string(),
        ChangeOutcome::RolledBack => "Error rates rose right after the switch; rolled back within the window. Root cause to be analysed before a new attempt.".to_string(),
    };
    s.say(Who::Worker, Internal, result);
    s.soon(rng);
    s.step(Who::Worker, Transition::CompleteImplementation {});
    if a.target == S::Review {
        return s.steps;
    }
    s.person(rng, 12 * HOUR, 2 * DAY);
    s.step(
        Who::Worker,
        Transition::Close {
            outcome: Some(a.outcome),
        },
    );
    s.steps
}

// ---------------------------------------------------------------------------
// Generating the whole plan
// ---------------------------------------------------------------------------

/// Every ticket of the demo with its history, given the current time.
fn plan_all(now: i64) -> Vec<Plan> {
    // The shared generator decides what the tickets are; each ticket's story
    // draws from its own stream, so fitting one story into the calendar
    // (which depends on `now`) never changes another ticket.
    let mut rng = Rng::stream(0);
    let mut n = 0;
    let mut own = || {
        n += 1;
        Rng::stream(n)
    };
    let mut plans = Vec::with_capacity(300);
    stories(&mut rng, now, &mut plans);
    let random_from = plans.len();

    use TicketState as S;
    let mut targets = counts(&[
        (S::New, 9),
        (S::InProgress, 20),
        (S::OnHold, 13),
        (S::Resolved, 16),
        (S::Closed, 106),
    ]);
    rng.shuffle(&mut targets);
    for target in targets {
        let tpl = &INCIDENTS[rng.below(INCIDENTS.len())];
        plans.push(random_incident(&mut own(), now, tpl, target));
    }
    let mut targets = counts(&[
        (S::New, 5),
        (S::AwaitingApproval, 6),
        (S::Approved, 3),
        (S::InProgress, 9),
        (S::OnHold, 5),
        (S::Fulfilled, 8),
        (S::Rejected, 3),
        (S::Cancelled, 4),
        (S::Closed, 32),
    ]);
    rng.shuffle(&mut targets);
    for target in targets {
        let tpl = &REQUESTS[rng.below(REQUESTS.len())];
        plans.push(random_request(&mut own(), now, tpl, target));
    }
    let mut targets = counts(&[
        (S::New, 1),
        (S::Investigating, 4),
        (S::KnownError, 3),
        (S::Resolved, 2),
        (S::Closed, 6),
    ]);
    rng.shuffle(&mut targets);
    let mut templates: Vec<&ProblemTpl> = PROBLEMS.iter().collect();
    rng.shuffle(&mut templates);
    for (target, tpl) in targets.into_iter().zip(templates.into_iter().cycle()) {
        plans.push(random_problem(&mut own(), now, tpl, target));
    }
    let mut targets = counts(&[
        (S::Draft, 2),
        (S::Assessment, 2),
        (S::AwaitingApproval, 2),
        (S::Scheduled, 3),
        (S::Implementing, 1),
        (S::Review, 2),
        (S::Cancelled, 2),
        (S::Closed, 6),
    ]);
    rng.shuffle(&mut targets);
    let mut templates: Vec<&ChangeTpl> = CHANGES.iter().collect();
    rng.shuffle(&mut templates);
    for (target, tpl) in targets.into_iter().zip(templates.into_iter().cycle()) {
        plans.push(random_change(&mut own(), now, tpl, target));
    }
    link_random(&mut own(), &mut plans, random_from);

    // Nothing happens after `now`; a ticket's history is cut, never reordered.
    for plan in &mut plans {
        plan.steps.sort_by_key(|s| s.at);
        plan.steps.retain(|s| s.at < now);
    }
    plans
}

fn counts(spec: &[(TicketState, usize)]) -> Vec<TicketState> {
    spec.iter()
        .flat_map(|&(s, n)| std::iter::repeat_n(s, n))
        .collect()
}

fn random_incident(rng: &mut Rng, now: i64, tpl: &IncidentTpl, target: TicketState) -> Plan {
    let service = tpl.service;
    let requester = pick_requester(rng, service.map_or(&[][..], |s| SERVICES[s].orgs));
    let c = Ctx::new(
        rng,
        requester,
        service.map_or("Microsoft", |s| SERVICES[s].vendor),
    );
    let impact = nudge_impact(rng, tpl.impact);
    let urgency = nudge_urgency(rng, tpl.urgency);
    let computed = priority_from(impact, urgency);
    let bump = (PEOPLE[requester].vip && computed >= Priority::P3 && rng.chance(0.6))
        .then(|| Priority::from_rank(computed.rank() - 1).map(|p| (p, "VIP: executive affected")))
        .flatten();
    let priority = bump.map_or(computed, |(p, _)| p);
    let owner = service.map_or(SD, |s| SERVICES[s].owner);
    let first_line = owner == SD || rng.chance(0.6);
    let team = if first_line { SD } else { owner };
    let worker = rng.pick(&members(team));
    let escalate =
        (first_line && owner != SD && rng.chance(0.35)).then(|| (owner, rng.pick(&members(owner))));
    // A third of incidents come in by phone: the service desk agent opens and owns them.
    let by_phone = first_line && rng.chance(0.3);
    let creator = if by_phone { worker } else { requester };
    let (code, fix) = if tpl.code == "fixed" && rng.chance(0.08) {
        ("no_fault_found", "Could not reproduce; nothing recurred during two days of monitoring and the user confirms it works now.".to_string())
    } else {
        (tpl.code, c.fill(tpl.fix))
    };
    let args = IncidentArgs {
        creator,
        by_phone,
        target,
        priority,
        first_line,
        escalate,
        hold: HoldChoice::Random,
        code,
        fix,
    };
    let steps = place(rng, now, TicketKind::Incident, target, &|r, t0| {
        incident_story(r, &c, &args, t0)
    })
    .unwrap_or_else(|| fallback(rng, now, creator));
    Plan {
        kind: TicketKind::Incident,
        title: c.fill(tpl.title),
        description: c.fill(tpl.description),
        requester,
        team,
        assignee: by_phone.then_some(worker),
        worker,
        service,
        category: Some(tpl.category),
        tags: c.tags(tpl.tags, &[tpl.title, tpl.description], requester),
        impact,
        urgency,
        bump,
        steps,
    }
}

fn random_request(rng: &mut Rng, now: i64, tpl: &RequestTpl, target: TicketState) -> Plan {
    let service = tpl.service;
    let requester = pick_requester(rng, service.map_or(&[][..], |s| SERVICES[s].orgs));
    let c = Ctx::new(
        rng,
        requester,
        service.map_or("Microsoft", |s| SERVICES[s].vendor),
    );
    let owner = service.map_or(SD, |s| SERVICES[s].owner);
    let team = if owner == SD || rng.chance(0.35) {
        SD
    } else {
        owner
    };
    let worker = rng.pick(&members(team));
    let creator = if rng.chance(0.15) {
        rng.pick(&members(SD))
    } else {
        requester
    };
    let approver = match service {
        Some(K8S | VPN | WIFI) => person("daniel.okafor"),
        _ => person("sofia.lindqvist"),
    };
    let args = RequestArgs {
        creator,
        target,
        approval: tpl.approval,
        vendor: tpl.vendor,
        claim: team != SD,
        approver,
        fulfil: c.fill(tpl.fulfil),
    };
    let steps = place(rng, now, TicketKind::ServiceRequest, target, &|r, t0| {
        request_story(r, &c, &args, t0)
    })
    .unwrap_or_else(|| fallback(rng, now, creator));
    Plan {
        kind: TicketKind::ServiceRequest,
        title: c.fill(tpl.title),
        description: c.fill(tpl.description),
        requester,
        team,
        assignee: None,
        worker,
        service,
        category: Some(tpl.category),
        tags: c.tags(tpl.tags, &[tpl.title, tpl.description], requester),
        impact: Impact::Low,
        urgency: if tpl.tags.contains(&"onboarding") {
            Urgency::High
        } else {
            nudge_urgency(rng, Urgency::Medium)
        },
        bump: None,
        steps,
    }
}

fn random_problem(rng: &mut Rng, now: i64, tpl: &ProblemTpl, target: TicketState) -> Plan {
    let service = tpl.service;
    let team = service.map_or(WPL, |s| SERVICES[s].owner);
    let worker = rng.pick(&members(team));
    let requester = if rng.chance(0.5) {
        person("sofia.lindqvist")
    } else {
        worker
    };
    let c = Ctx::new(
        rng,
        requester,
        service.map_or("Microsoft", |s| SERVICES[s].vendor),
    );
    let args = ProblemArgs {
        creator: requester,
        target,
        workaround: c.fill(tpl.workaround),
        root_cause: c.fill(tpl.root_cause),
    };
    let steps = place(rng, now, TicketKind::Problem, target, &|r, t0| {
        problem_story(r, &c, &args, t0)
    })
    .unwrap_or_else(|| fallback(rng, now, requester));
    Plan {
        kind: TicketKind::Problem,
        title: c.fill(tpl.title),
        description: c.fill(tpl.description),
        requester,
        team,
        assignee: Some(worker),
        worker,
        service,
        category: Some(service.map_or("software", |s| SERVICES[s].category)),
        tags: c.tags(&["problem"], &[tpl.title], requester),
        impact: nudge_impact(rng, Impact::Medium),
        urgency: nudge_urgency(rng, Urgency::Low),
        bump: None,
        steps,
    }
}

fn random_change(rng: &mut Rng, now: i64, tpl: &ChangeTpl, target: TicketState) -> Plan {
    let team = SERVICES[tpl.service].owner;
    let owner = rng.pick(&members(team));
    let c = Ctx::new(rng, owner, SERVICES[tpl.service].vendor);
    let outcome = match rng.below(100) {
        0..80 => ChangeOutcome::Successful,
        80..88 => ChangeOutcome::Failed,
        _ => ChangeOutcome::RolledBack,
    };
    let args = ChangeArgs {
        creator: owner,
        target,
        approver: person("claire.dubois"),
        standard: tpl.standard,
        outcome,
        service: SERVICES[tpl.service].name,
    };
    let steps = place(rng, now, TicketKind::Change, target, &|r, t0| {
        change_story(r, &c, &args, t0)
    })
    .unwrap_or_else(|| fallback(rng, now, owner));
    let mut tags = c.tags(
        &[if tpl.standard {
            "standard-change"
        } else {
            "normal-change"
        }],
        &[tpl.title],
        owner,
    );
    tags.push(SERVICES[tpl.service].category.into());
    Plan {
        kind: TicketKind::Change,
        title: c.fill(tpl.title),
        description: c.fill(tpl.description),
        requester: owner,
        team,
        assignee: Some(owner),
        worker: owner,
        service: Some(tpl.service),
        category: Some(SERVICES[tpl.service].category),
        tags,
        impact: if tpl.standard {
            Impact::Low
        } else {
            nudge_impact(rng, Impact::Medium)
        },
        urgency: nudge_urgency(rng, Urgency::Low),
        bump: None,
        steps,
    }
}

/// Problems become parents of earlier incidents of their service; incidents
/// of one service reported within a few hours of each other are related.
fn link_random(rng: &mut Rng, plans: &mut [Plan], from: usize) {
    let incidents: Vec<usize> = (from..plans.len())
        .filter(|&i| plans[i].kind == TicketKind::Incident)
        .collect();
    let mut links = Vec::new();
    for p in (from..plans.len()).filter(|&i| plans[i].kind == TicketKind::Problem) {
        let (service, created) = (plans[p].service, plans[p].created());
        let mut children: Vec<usize> = incidents
            .iter()
            .copied()
            .filter(|&i| {
                plans[i].service == service
                    && (created - 30 * DAY..created + 5 * DAY).contains(&plans[i].created())
            })
            .collect();
        rng.shuffle(&mut children);
        for &i in children.iter().take(2) {
            let at = created.max(plans[i].created()) + rng.range(HOUR, DAY);
            links.push((
                p,
                Step {
                    at,
                    who: Who::Worker,
                    op: Op::Link(LinkKind::ParentOf, i),
                },
            ));
        }
    }
    let mut by_time = incidents.clone();
    by_time.sort_by_key(|&i| plans[i].created());
    for pair in by_time.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        let close = plans[later].created() - plans[earlier].created() < 3 * HOUR;
        if close
            && plans[earlier].service.is_some()
            && plans[earlier].service == plans[later].service
            && rng.chance(0.6)
        {
            let at = plans[later].created() + rng.range(15 * MIN, 2 * HOUR);
            links.push((
                later,
                Step {
                    at,
                    who: Who::Worker,
                    op: Op::Link(LinkKind::Related, earlier),
                },
            ));
        }
    }
    for (i, step) in links {
        plans[i].steps.push(step);
    }
}

/// The hand-written threads through the demo: a change that took the CRM
/// down, a long-running VPN known error waiting for a firmware change, a
/// morning email outage with duplicates, and a memory leak traced back to
/// a release.
fn stories(rng: &mut Rng, now: i64, plans: &mut Vec<Plan>) {
    crm_outage(rng, plans, now);
    vpn_known_error(rng, plans, now);
    email_outage(rng, plans, now);
    payments_leak(rng, plans, now);
}

struct Base {
    kind: TicketKind,
    title: &'static str,
    description: &'static str,
    requester: usize,
    team: usize,
    assignee: Option<usize>,
    service: usize,
    tags: &'static [&'static str],
    impact: Impact,
    urgency: Urgency,
}

fn plan_of(b: Base, steps: Vec<Step>) -> Plan {
    let worker = b.assignee.unwrap_or_else(|| members(b.team)[0]);
    let mut tags: Vec<String> = b.tags.iter().map(|t| t.to_string()).collect();
    if PEOPLE[b.requester].vip {
        tags.push("vip".into());
    }
    Plan {
        kind: b.kind,
        title: b.title.into(),
        description: b.description.into(),
        requester: b.requester,
        team: b.team,
        assignee: b.assignee,
        worker,
        service: Some(b.service),
        category: Some(SERVICES[b.service].category),
        tags,
        impact: b.impact,
        urgency: b.urgency,
        bump: None,
        steps,
    }
}

fn link(plans: &mut [Plan], source: usize, kind: LinkKind, target: usize, at: i64, who: Who) {
    plans[source].steps.push(Step {
        at,
        who,
        op: Op::Link(kind, target),
    });
}

fn crm_outage(rng: &mut Rng, plans: &mut Vec<Plan>, now: i64) {
    use Visibility::{Internal, Public};
    let (erik, claire, samuel) = (
        person("erik.johansson"),
        person("claire.dubois"),
        person("samuel.ortiz"),
    );
    // The change, planned a week ahead and implemented in an evening window.
    let mut s = Story::start(now - 30 * DAY, true, erik);
    s.agent(rng, 20 * MIN, HOUR);
    s.say(Who::Worker, Internal, "Plan: rolling update of the three controller replicas, one at a time, watching 5xx rates between steps. Rollback: helm rollback to chart 4.10.4 (controller 1.10.4), tested in staging.".into());
    s.agent(rng, 2 * HOUR, 6 * HOUR);
    s.step(Who::Worker, Transition::SubmitForAssessment {});
    s.agent(rng, DAY, 2 * DAY);
    s.say(Who::Worker, Internal, "Risk: medium. All HTTP traffic to platform apps passes the ingress, but staging ran 1.11 for five days without errors.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::RequestApproval {});
    s.t = cab(s.t);
    s.step(
        Who::Person(claire),
        Transition::Approve {
            note: Some("Approved at CAB; implement in the evening window only.".into()),
        },
    );
    let a = window(s.t + DAY);
    s.t = a;
    s.say(Who::Worker, Internal, "Starting implementation; monitoring silenced for the window and the service desk informed.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::Implement {});
    s.t = a + 35 * MIN;
    s.step(Who::Worker, Transition::CompleteImplementation {});
    s.soon(rng);
    s.say(
        Who::Worker,
        Internal,
        "All three replicas on 1.11; smoke tests against the staging URLs passed.".into(),
    );
    s.t = a + 105 * MIN;
    s.say(Who::Worker, Internal, "CRM returned 502s after the upgrade (see the linked incident). Rolled back to 1.10.4: the new controller drops connections to backends that still use the legacy upstream-vhost annotation. Will re-plan once the annotation is migrated.".into());
    s.t = office(a + 14 * HOUR);
    s.step(
        Who::Worker,
        Transition::Close {
            outcome: Some(ChangeOutcome::RolledBack),
        },
    );
    let change = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Change,
            title: "Upgrade ingress controller to 1.11 on the production cluster",
            description: "Upgrade the NGINX ingress controller from 1.10.4 to 1.11 for the security fixes in the 1.11 line. Staging has run 1.11 since last week.",
            requester: erik,
            team: PLAT,
            assignee: Some(erik),
            service: K8S,
            tags: &["normal-change", "kubernetes", "production"],
            impact: Impact::High,
            urgency: Urgency::Low,
        },
        s.steps,
    ));

    // The major incident, reported by the head of sales preparing a US call.
    let james = person("james.oconnor");
    let mut s = Story::start(a + 50 * MIN, false, james);
    s.t = a + 54 * MIN;
    s.step(Who::Person(erik), Transition::Acknowledge {});
    s.soon(rng);
    s.say(Who::Worker, Public, "Hi James, we're on it and treating this as a major incident. Updates here every 30 minutes.".into());
    s.soon(rng);
    s.say(Who::Worker, Internal, "502s started right after tonight's ingress upgrade (linked change). Preparing the rollback.".into());
    s.t = a + 85 * MIN;
    s.say(
        Who::Worker,
        Public,
        "Update: we found the cause, a change made this evening, and are rolling it back now."
            .into(),
    );
    s.t = a + 110 * MIN;
    s.say(Who::Worker, Public, "Hi James, the CRM is back. Tonight's ingress upgrade caused it and has been rolled back. Please tell us if anything still looks wrong.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "Rolled back the ingress controller to 1.10.4; 1.11 dropped connections to backends using the legacy upstream-vhost annotation. CRM reachable again.".into(),
    });
    s.t = office(a + 13 * HOUR);
    s.say(
        Who::Requester,
        Public,
        "Thanks for the quick fix last night. The call went fine.".into(),
    );
    s.soon(rng);
    s.step(Who::Requester, Transition::Close { outcome: None });
    let major = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "CRM unreachable: 502 Bad Gateway",
            description: "Every page of the CRM returns '502 Bad Gateway'. I have a call with a US customer in 30 minutes and need the account history.",
            requester: james,
            team: PLAT,
            assignee: None,
            service: CRM,
            tags: &["outage", "major-incident", "crm"],
            impact: Impact::High,
            urgency: Urgency::High,
        },
        s.steps,
    ));
    link(
        plans,
        major,
        LinkKind::CausedBy,
        change,
        a + 100 * MIN,
        Who::Person(erik),
    );

    // Two duplicates from customer support, merged by the service desk.
    let carlos = person("carlos.silva");
    let mut s = Story::start(a + 58 * MIN, false, carlos);
    s.t = a + 70 * MIN;
    s.say(Who::Worker, Public, "Hi Carlos, this is part of an outage we're already working on. I'm merging your ticket into the main incident so you get its updates.".into());
    s.soon(rng);
    s.push(Who::Person(samuel), Op::Merge(major));
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "CRM shows 'Bad Gateway'",
            description: "Can't open any customer record in the CRM, only '502 Bad Gateway'. Customers are waiting on the phone.",
            requester: carlos,
            team: SD,
            assignee: None,
            service: CRM,
            tags: &["crm"],
            impact: Impact::Medium,
            urgency: Urgency::High,
        },
        s.steps,
    ));
    let david = person("david.kim");
    let mut s = Story::start(a + 63 * MIN, false, david);
    s.t = a + 76 * MIN;
    s.push(Who::Person(samuel), Op::Merge(major));
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "Cannot open CRM - error 502",
            description: "CRM gives error 502 in Chrome and Edge.",
            requester: david,
            team: SD,
            assignee: None,
            service: CRM,
            tags: &["crm"],
            impact: Impact::Low,
            urgency: Urgency::High,
        },
        s.steps,
    ));
    // A related report that is worked on its own.
    let emma = person("emma.lewis");
    let mut s = Story::start(a + 47 * MIN, false, emma);
    s.t = a + 66 * MIN;
    s.step(Who::Worker, Transition::Acknowledge {});
    s.soon(rng);
    s.say(
        Who::Worker,
        Public,
        "Hi Emma, thanks. We're seeing wider CRM problems right now and I'll keep you posted."
            .into(),
    );
    s.t = a + 115 * MIN;
    s.say(
        Who::Worker,
        Public,
        "Hi Emma, the CRM outage has been fixed; searches should be fast again.".into(),
    );
    s.soon(rng);
    s.step(
        Who::Worker,
        Transition::Resolve {
            resolution_code: "fixed".into(),
            resolution_note: "Resolved together with the CRM outage (ingress rollback).".into(),
        },
    );
    s.t = office(a + 20 * HOUR);
    s.step(Who::Worker, Transition::Close { outcome: None });
    let related = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "CRM very slow, searches time out",
            description: "Searching for customers in the CRM takes forever and then times out.",
            requester: emma,
            team: SD,
            assignee: None,
            service: CRM,
            tags: &["crm", "performance"],
            impact: Impact::Medium,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));
    link(
        plans,
        related,
        LinkKind::Related,
        major,
        a + 80 * MIN,
        Who::Person(samuel),
    );
}

fn vpn_known_error(rng: &mut Rng, plans: &mut Vec<Plan>, now: i64) {
    use Visibility::{Internal, Public};
    let (sofia, jonas, claire) = (
        person("sofia.lindqvist"),
        person("jonas.weber"),
        person("claire.dubois"),
    );
    let mut s = Story::start(now - 36 * DAY, true, sofia);
    s.agent(rng, 2 * HOUR, 5 * HOUR);
    s.step(Who::Worker, Transition::Investigate {});
    s.soon(rng);
    s.say(Who::Worker, Internal, "Reproduced with a test laptop on a home line: the session drops after exactly 10 minutes without traffic on the data channel. Opened Fortinet case 4417736.".into());
    s.agent(rng, 3 * DAY, 4 * DAY);
    let workaround = "Set the client keepalive to 20 s and turn off the idle timeout in the VPN profile (MDM profile 'VPN-keepalive'). Users who still drop can reconnect without MFA for 8 hours.";
    s.step(
        Who::Worker,
        Transition::RecordKnownError {
            workaround: workaround.into(),
        },
    );
    s.soon(rng);
    s.say(
        Who::Worker,
        Public,
        format!(
            "Known error. Workaround for the service desk, also in the knowledge base: {workaround}"
        ),
    );
    s.agent(rng, 5 * DAY, 6 * DAY);
    s.say(Who::Worker, Internal, "Fortinet confirmed the bug: the dead-peer-detection timer is ignored in 9.1.x. Fixed in 9.3; raising a change.".into());
    let problem = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Problem,
            title: "VPN concentrator drops idle sessions after firmware 9.1",
            description: "Since the concentrators were upgraded to firmware 9.1, home-office users report VPN disconnects every few minutes. The service desk sees a steady stream of incidents; they are linked here.",
            requester: sofia,
            team: NET,
            assignee: Some(jonas),
            service: VPN,
            tags: &["problem", "vpn", "remote"],
            impact: Impact::Medium,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));

    let mut s = Story::start(now - 12 * DAY, true, jonas);
    s.agent(rng, 30 * MIN, 2 * HOUR);
    s.say(Who::Worker, Internal, "Plan: fail over to the passive unit, upgrade it, fail back, upgrade the other. Interruption under a minute per unit. Rollback: boot the previous image from the alternate partition.".into());
    s.agent(rng, HOUR, 4 * HOUR);
    s.step(Who::Worker, Transition::SubmitForAssessment {});
    s.agent(rng, DAY, 2 * DAY);
    s.say(Who::Worker, Internal, "Risk: high. Every remote worker reconnects twice; window outside business hours and the service desk will send a heads-up.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::RequestApproval {});
    s.t = cab(s.t);
    s.step(
        Who::Person(claire),
        Transition::Approve {
            note: Some("Approved at CAB. Service desk to warn remote users the day before.".into()),
        },
    );
    let change_created = s.steps[0].at;
    let change = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Change,
            title: "Upgrade VPN concentrator firmware to 9.3",
            description: "Upgrade both VPN concentrators (active/passive) to firmware 9.3, which fixes the idle-session bug behind the linked problem.",
            requester: jonas,
            team: NET,
            assignee: Some(jonas),
            service: VPN,
            tags: &["normal-change", "vpn", "remote"],
            impact: Impact::High,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));
    link(
        plans,
        problem,
        LinkKind::Related,
        change,
        change_created + HOUR,
        Who::Person(jonas),
    );

    let problem_created = plans[problem].created();
    let reporters = [
        "raj.patel",
        "lea.martin",
        "marco.bianchi",
        "ingrid.larsen",
        "henrik.berg",
        "yuki.tanaka",
        "noah.fischer",
        "piotr.kowalski",
    ];
    let ages = [44, 39, 33, 27, 21, 14, 8, 3];
    let vpn = incident_template("VPN disconnects");
    for (username, age) in reporters.into_iter().zip(ages) {
        let requester = person(username);
        let c = Ctx::new(rng, requester, "Fortinet");
        let (target, hold) = match age {
            14 | 8 => (
                TicketState::OnHold,
                HoldChoice::Always(OnHoldReason::AwaitingChange),
            ),
            3 => (TicketState::InProgress, HoldChoice::Never),
            _ => (TicketState::Closed, HoldChoice::Never),
        };
        let (code, fix) = if age > 36 {
            (
                "no_fault_found",
                "Reset the VPN client and the home router; stable during the test session."
                    .to_string(),
            )
        } else {
            ("workaround", "Applied the known-error workaround (keepalive 20 s, idle timeout off); the permanent fix is the firmware change linked to the problem.".to_string())
        };
        let worker = rng.pick(&members(SD));
        let args = IncidentArgs {
            creator: requester,
            by_phone: false,
            target,
            priority: Priority::P3,
            first_line: true,
            escalate: None,
            hold,
            code,
            fix,
        };
        let steps = fit(rng, now, now - age * DAY, &|r, t0| {
            incident_story(r, &c, &args, t0)
        });
        let created = steps[0].at;
        let i = plans.len();
        plans.push(Plan {
            kind: TicketKind::Incident,
            title: c.fill(vpn.title),
            description: c.fill(vpn.description),
            requester,
            team: SD,
            assignee: None,
            worker,
            service: Some(VPN),
            category: Some(vpn.category),
            tags: c.tags(vpn.tags, &[], requester),
            impact: Impact::Medium,
            urgency: Urgency::Medium,
            bump: None,
            steps,
        });
        let at = created.max(problem_created) + rng.range(2 * HOUR, DAY);
        link(
            plans,
            problem,
            LinkKind::ParentOf,
            i,
            at,
            Who::Person(jonas),
        );
    }
}

/// The problem behind the email outage of `b`, resolved a few days later.
fn email_problem_story(rng: &mut Rng, b: i64) -> Vec<Step> {
    use Visibility::{Internal, Public};
    let mut s = Story::start(b + DAY, true, person("sofia.lindqvist"));
    s.agent(rng, 2 * HOUR, 4 * HOUR);
    s.step(Who::Worker, Transition::Investigate {});
    s.soon(rng);
    s.say(Who::Worker, Internal, "The proxy logs show the certificate reload at 08:58 and no requests served afterwards. The same pattern shows in a smaller outage last month.".into());
    s.agent(rng, DAY, DAY + 4 * HOUR);
    let workaround = "If Outlook hangs on 'Trying to connect' for everyone, restart the two authentication proxy nodes one at a time (runbook RB-31).";
    s.step(
        Who::Worker,
        Transition::RecordKnownError {
            workaround: workaround.into(),
        },
    );
    s.soon(rng);
    s.say(
        Who::Worker,
        Public,
        format!(
            "Known error. Workaround for the service desk, also in the knowledge base: {workaround}"
        ),
    );
    s.agent(rng, 2 * DAY, 3 * DAY);
    s.step(Who::Worker, Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "Root cause: the proxy reloaded certificates without draining connections and deadlocked. Upgraded to the release with graceful reload and added a health check that restarts a hung node.".into(),
    });
    s.steps
}

fn email_outage(rng: &mut Rng, plans: &mut Vec<Plan>, now: i64) {
    use Visibility::{Internal, Public};
    let (maria, nina, sofia) = (
        person("maria.keller"),
        person("nina.petrova"),
        person("sofia.lindqvist"),
    );
    // The outage is about nine days ago, early enough that the problem
    // behind it was resolved before `now` and recently enough that it is
    // still within its reopen window.
    let fits = |b: i64| {
        let end = email_problem_story(&mut rng.clone(), b)
            .last()
            .map_or(0, |s| s.at);
        (now - 6 * DAY..now - HOUR).contains(&end)
    };
    let b = (0..10)
        .map(|k| office(now - (8 + k) * DAY - 12 * HOUR))
        .find(|&b| fits(b))
        .unwrap_or(now - 10 * DAY);
    let anna = person("anna.schmidt");
    let mut s = Story::start(b, false, anna);
    s.t = b + 4 * MIN;
    s.step(Who::Worker, Transition::Acknowledge {});
    s.soon(rng);
    s.say(Who::Worker, Public, "Hi Anna, thanks. We're getting many calls about this; it looks like a wider email problem. Updates will follow here.".into());
    s.t = b + 16 * MIN;
    s.say(Who::Worker, Internal, "Affects all Outlook clients, webmail included. Not a first-line fix. Escalating to Workplace IT.".into());
    s.soon(rng);
    s.push(
        Who::Worker,
        Op::Assign {
            team: WPL,
            person: nina,
        },
    );
    s.t = b + 40 * MIN;
    s.say(Who::Worker, Internal, "Exchange Online health is green. Both authentication proxy nodes hang after this morning's certificate reload; restarting them one at a time.".into());
    s.t = b + 95 * MIN;
    s.say(Who::Worker, Public, "Hi Anna, email is working again. Mail that was sent during the outage has been delivered; nothing was lost.".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "The authentication proxy in front of Exchange Online hung after a certificate reload; restarted both nodes. Mail flow caught up within 10 minutes and no mail was lost.".into(),
    });
    s.person(rng, 4 * HOUR, DAY);
    s.step(Who::Requester, Transition::Close { outcome: None });
    let major = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "Outlook stuck on 'Trying to connect...'",
            description: "Since about 09:00 Outlook on my laptop and on my phone cannot connect. Webmail shows an error as well.",
            requester: anna,
            team: SD,
            assignee: None,
            service: EMAIL,
            tags: &["outage", "major-incident", "email"],
            impact: Impact::High,
            urgency: Urgency::High,
        },
        s.steps,
    ));
    let robert = person("robert.hughes");
    let mut s = Story::start(b + 6 * MIN, false, robert);
    s.t = b + 21 * MIN;
    s.push(Who::Person(maria), Op::Merge(major));
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "Email down for the whole Finance team",
            description: "Nobody in Finance can send or receive email. We have the board pack to send out this morning.",
            requester: robert,
            team: SD,
            assignee: None,
            service: EMAIL,
            tags: &["email"],
            impact: Impact::High,
            urgency: Urgency::High,
        },
        s.steps,
    ));
    let hannah = person("hannah.wright");
    let mut s = Story::start(b + 11 * MIN, false, hannah);
    s.t = b + 24 * MIN;
    s.step(Who::Worker, Transition::Acknowledge {});
    s.soon(rng);
    s.say(Who::Worker, Public, "Hi Hannah, this is part of a wider email outage we're working on. I'll let you know when it's fixed.".into());
    s.t = b + 105 * MIN;
    s.say(Who::Worker, Public, "Hi Hannah, email is back and the queued messages have arrived. Could you check your inbox?".into());
    s.soon(rng);
    s.step(Who::Worker, Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "Resolved with the email outage: the authentication proxy was restarted and queued mail delivered.".into(),
    });
    s.person(rng, HOUR, DAY);
    s.say(
        Who::Requester,
        Public,
        "Yes, everything arrived. Thanks!".into(),
    );
    s.soon(rng);
    s.step(Who::Requester, Transition::Close { outcome: None });
    let related = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Incident,
            title: "No new emails since 9 am",
            description: "I haven't received any email since 9 this morning, but I'm expecting applications for an open position.",
            requester: hannah,
            team: SD,
            assignee: None,
            service: EMAIL,
            tags: &["email"],
            impact: Impact::Low,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));
    link(
        plans,
        related,
        LinkKind::Related,
        major,
        b + 26 * MIN,
        Who::Person(maria),
    );

    // The problem behind it, resolved a few days ago and waiting to be closed.
    let steps = email_problem_story(rng, b);
    let problem = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Problem,
            title: "Outlook disconnects when the authentication proxy reloads its certificate",
            description: "Second email outage in two months caused by the authentication proxy hanging after a certificate reload. Find and fix the root cause.",
            requester: sofia,
            team: WPL,
            assignee: Some(nina),
            service: EMAIL,
            tags: &["problem", "email"],
            impact: Impact::High,
            urgency: Urgency::Medium,
        },
        steps,
    ));
    let at = plans[problem].created() + HOUR;
    link(
        plans,
        problem,
        LinkKind::ParentOf,
        major,
        at,
        Who::Person(nina),
    );
    link(
        plans,
        problem,
        LinkKind::ParentOf,
        related,
        at + 2 * MIN,
        Who::Person(nina),
    );
}

fn payments_leak(rng: &mut Rng, plans: &mut Vec<Plan>, now: i64) {
    use Visibility::{Internal, Public};
    let (mei, oliver, claire) = (
        person("mei.chen"),
        person("oliver.grant"),
        person("claire.dubois"),
    );
    // The release that introduced the leak; it looked fine at the time.
    let mut s = Story::start(now - 56 * DAY, true, oliver);
    s.agent(rng, 20 * MIN, HOUR);
    s.say(Who::Worker, Internal, "Release 3.14 of payments-api: response caching for exchange rates, new fraud-score client. Canary for 30 minutes, then full rollout. Rollback: previous image tag.".into());
    s.agent(rng, HOUR, 3 * HOUR);
    s.step(Who::Worker, Transition::SubmitForAssessment {});
    s.agent(rng, 4 * HOUR, DAY);
    s.step(Who::Worker, Transition::RequestApproval {});
    s.t = cab(s.t);
    s.step(
        Who::Person(claire),
        Transition::Approve {
            note: Some("Approved at CAB.".into()),
        },
    );
    s.t = window(s.t + 12 * HOUR);
    s.step(Who::Worker, Transition::Implement {});
    s.t += 50 * MIN;
    s.say(
        Who::Worker,
        Internal,
        "Canary clean, rolled out to all replicas; checkout latency unchanged.".into(),
    );
    s.soon(rng);
    s.step(Who::Worker, Transition::CompleteImplementation {});
    s.person(rng, 12 * HOUR, DAY);
    s.step(
        Who::Worker,
        Transition::Close {
            outcome: Some(ChangeOutcome::Successful),
        },
    );
    let release = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Change,
            title: "Deploy payments-api release 3.14",
            description: "Deploy release 3.14 of payments-api to production: exchange-rate response caching and the new fraud-score client.",
            requester: oliver,
            team: PLAT,
            assignee: Some(oliver),
            service: K8S,
            tags: &["normal-change", "kubernetes", "production"],
            impact: Impact::Medium,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));

    // Three nights of OOM kills, opened by the on-call engineer from the alert.
    let oom = incident_template("payments-api pods");
    let mut incidents = Vec::new();
    let ben = person("ben.carter");
    for age in [47, 41, 34] {
        let c = Ctx::new(rng, ben, "Google");
        let args = IncidentArgs {
            creator: oliver,
            by_phone: false,
            target: TicketState::Closed,
            priority: Priority::P1,
            first_line: false,
            escalate: None,
            hold: HoldChoice::Never,
            code: "workaround",
            fix: "Raised the memory limit and rolled the deployment; restarts stopped. Root cause is tracked in the problem record.".into(),
        };
        let t0 = (now - age * DAY).div_euclid(DAY) * DAY + 2 * HOUR + rng.range(0, 2 * HOUR);
        let steps = incident_story(rng, &c, &args, t0);
        incidents.push(plans.len());
        plans.push(plan_of(
            Base {
                kind: TicketKind::Incident,
                title: oom.title,
                description: oom.description,
                requester: ben,
                team: PLAT,
                assignee: Some(oliver),
                service: K8S,
                tags: oom.tags,
                impact: Impact::High,
                urgency: Urgency::High,
            },
            steps,
        ));
    }

    // The fix, then the problem record that ties it together.
    let mut s = Story::start(now - 31 * DAY, true, mei);
    s.agent(rng, 20 * MIN, HOUR);
    s.say(Who::Worker, Internal, "Plan: configure LRU eviction (256 MiB) for the exchange-rate cache and set requests/limits to 1 GiB / 1.5 GiB. Rollback: previous Helm values.".into());
    s.agent(rng, HOUR, 3 * HOUR);
    s.step(Who::Worker, Transition::SubmitForAssessment {});
    s.agent(rng, 4 * HOUR, DAY);
    s.step(Who::Worker, Transition::RequestApproval {});
    s.t = cab(s.t);
    s.step(
        Who::Person(claire),
        Transition::Approve {
            note: Some("Approved at CAB; fixes the known error on payments-api.".into()),
        },
    );
    s.t = window(s.t + 12 * HOUR);
    s.step(Who::Worker, Transition::Implement {});
    s.t += 40 * MIN;
    s.say(
        Who::Worker,
        Internal,
        "Rolled out; memory flat at 620 MiB after an hour of peak traffic.".into(),
    );
    s.soon(rng);
    s.step(Who::Worker, Transition::CompleteImplementation {});
    s.person(rng, DAY, 2 * DAY);
    s.step(
        Who::Worker,
        Transition::Close {
            outcome: Some(ChangeOutcome::Successful),
        },
    );
    let fix_closed = s.t;
    let fix = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Change,
            title: "Configure cache eviction and right-size payments-api memory",
            description: "Permanent fix for the payments-api OOM kills: bounded cache with eviction, and memory requests/limits sized from a week of metrics.",
            requester: mei,
            team: PLAT,
            assignee: Some(mei),
            service: K8S,
            tags: &["normal-change", "kubernetes", "production"],
            impact: Impact::Medium,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));

    let mut s = Story::start(now - 40 * DAY, true, mei);
    s.agent(rng, 2 * HOUR, 4 * HOUR);
    s.step(Who::Worker, Transition::Investigate {});
    s.soon(rng);
    s.say(Who::Worker, Internal, "Heap dumps from two OOM kills show the exchange-rate response cache growing without bound. Eviction was never configured; the cache arrived with release 3.14.".into());
    let found = s.t;
    s.agent(rng, DAY, 2 * DAY);
    let workaround = "Memory limit raised to 1.5 GiB and a nightly rolling restart of payments-api at 03:00; an alert at 85% memory pages the on-call engineer.";
    s.step(
        Who::Worker,
        Transition::RecordKnownError {
            workaround: workaround.into(),
        },
    );
    s.soon(rng);
    s.say(
        Who::Worker,
        Public,
        format!("Known error. Workaround in place: {workaround}"),
    );
    s.t = fix_closed + 3 * DAY;
    s.t = office(s.t);
    s.step(Who::Worker, Transition::Resolve {
        resolution_code: "fixed".into(),
        resolution_note: "Root cause: unbounded response cache in payments-api since release 3.14. Eviction configured by the linked change; no OOM kills in a week of monitoring and the nightly restart is removed.".into(),
    });
    s.person(rng, DAY, 2 * DAY);
    s.step(Who::Worker, Transition::Close { outcome: None });
    let problem = plans.len();
    plans.push(plan_of(
        Base {
            kind: TicketKind::Problem,
            title: "Recurring OOM kills on payments pods",
            description: "payments-api pods have been OOM-killed on several nights, each time taking checkout down for minutes. Find the root cause.",
            requester: mei,
            team: PLAT,
            assignee: Some(mei),
            service: K8S,
            tags: &["problem", "kubernetes", "production"],
            impact: Impact::High,
            urgency: Urgency::Medium,
        },
        s.steps,
    ));
    let created = plans[problem].created();
    for (k, &i) in incidents.iter().enumerate() {
        let at = created.max(plans[i].created()) + HOUR + k as i64 * 3 * MIN;
        link(plans, problem, LinkKind::ParentOf, i, at, Who::Person(mei));
    }
    let at = plans[fix].created() + HOUR;
    link(plans, problem, LinkKind::Related, fix, at, Who::Person(mei));
    link(
        plans,
        incidents[0],
        LinkKind::CausedBy,
        release,
        found + 10 * MIN,
        Who::Person(mei),
    );
}

// ---------------------------------------------------------------------------
// The directory
// ---------------------------------------------------------------------------

const SD: usize = 0;
const NET: usize = 1;
const PLAT: usize = 2;
const IAM: usize = 3;
const WPL: usize = 4;

struct TeamSpec {
    name: &'static str,
    description: &'static str,
    round_robin: bool,
}

const TEAMS: &[TeamSpec] = &[
    TeamSpec {
        name: "Service Desk",
        description: "First line for every incident and request: phone, portal and the walk-up IT bar at Berlin HQ. New tickets are shared round-robin.",
        round_robin: true,
    },
    TeamSpec {
        name: "Network Operations",
        description: "Office LAN and Wi-Fi, the WAN links between sites, firewalls and the remote-access VPN.",
        round_robin: false,
    },
    TeamSpec {
        name: "Platform Engineering",
        description: "Runs the Kubernetes platform and databases, and the business applications hosted on them (CRM, payroll portal, payments-api).",
        round_robin: false,
    },
    TeamSpec {
        name: "Identity & Access",
        description: "Single sign-on, MFA, directory accounts and groups, joiners/movers/leavers and access reviews.",
        round_robin: false,
    },
    TeamSpec {
        name: "Workplace IT",
        description: "Laptops, docks and peripherals, printers, Microsoft 365 mail and calendars, onboarding and offboarding kits.",
        round_robin: false,
    },
];

struct PersonSpec {
    username: &'static str,
    name: &'static str,
    role: Role,
    org: &'static str,
    teams: &'static [usize],
    vip: bool,
}

const fn staff(
    username: &'static str,
    name: &'static str,
    role: Role,
    teams: &'static [usize],
) -> PersonSpec {
    PersonSpec {
        username,
        name,
        role,
        org: "IT",
        teams,
        vip: false,
    }
}

const fn requester(
    username: &'static str,
    name: &'static str,
    org: &'static str,
    vip: bool,
) -> PersonSpec {
    PersonSpec {
        username,
        name,
        role: Role::Requester,
        org,
        teams: &[],
        vip,
    }
}

const PEOPLE: &[PersonSpec] = &[
    staff("sofia.lindqvist", "Sofia Lindqvist", Role::Manager, &[]),
    staff("daniel.okafor", "Daniel Okafor", Role::Manager, &[]),
    staff("claire.dubois", "Claire Dubois", Role::Manager, &[]),
    staff("maria.keller", "Maria Keller", Role::Agent, &[SD]),
    staff("tom.becker", "Tom Becker", Role::Agent, &[SD]),
    staff("aisha.rahman", "Aisha Rahman", Role::Agent, &[SD]),
    staff("lukas.novak", "Lukas Novák", Role::Agent, &[SD, WPL]),
    staff("jonas.weber", "Jonas Weber", Role::Agent, &[NET]),
    staff("priya.nair", "Priya Nair", Role::Agent, &[NET, PLAT]),
    staff("erik.johansson", "Erik Johansson", Role::Agent, &[PLAT]),
    staff("mei.chen", "Mei Chen", Role::Agent, &[PLAT]),
    staff("oliver.grant", "Oliver Grant", Role::Agent, &[PLAT]),
    staff("fatima.haddad", "Fatima Haddad", Role::Agent, &[IAM]),
    staff("samuel.ortiz", "Samuel Ortiz", Role::Agent, &[IAM, SD]),
    staff("nina.petrova", "Nina Petrova", Role::Agent, &[WPL]),
    requester("anna.schmidt", "Anna Schmidt", "Finance", false),
    requester("robert.hughes", "Robert Hughes", "Finance", true),
    requester("lea.martin", "Léa Martin", "Finance", false),
    requester("james.oconnor", "James O'Connor", "Sales", true),
    requester("elena.rossi", "Elena Rossi", "Sales", false),
    requester("marco.bianchi", "Marco Bianchi", "Sales", false),
    requester("sarah.collins", "Sarah Collins", "Sales", false),
    requester("david.kim", "David Kim", "Sales", false),
    requester("ingrid.larsen", "Ingrid Larsen", "HR", false),
    requester("paula.mendes", "Paula Mendes", "HR", false),
    requester("hannah.wright", "Hannah Wright", "HR", false),
    requester("raj.patel", "Raj Patel", "Engineering", false),
    requester("chloe.dupont", "Chloé Dupont", "Engineering", false),
    requester("felix.wagner", "Felix Wagner", "Engineering", false),
    requester("yuki.tanaka", "Yuki Tanaka", "Engineering", false),
    requester("ben.carter", "Ben Carter", "Engineering", false),
    requester("victoria.adams", "Victoria Adams", "Legal", true),
    requester("henrik.berg", "Henrik Berg", "Legal", false),
    requester("lucia.fernandez", "Lucía Fernández", "Marketing", false),
    requester("noah.fischer", "Noah Fischer", "Marketing", false),
    requester("ahmed.yilmaz", "Ahmed Yılmaz", "Operations", false),
    requester("grace.obrien", "Grace O'Brien", "Operations", false),
    requester("piotr.kowalski", "Piotr Kowalski", "Operations", false),
    requester("emma.lewis", "Emma Lewis", "Customer Support", false),
    requester("carlos.silva", "Carlos Silva", "Customer Support", false),
];

const BUSINESS_ORGS: &[&str] = &[
    "Finance",
    "Sales",
    "HR",
    "Engineering",
    "Legal",
    "Marketing",
    "Operations",
    "Customer Support",
];

const EMAIL: usize = 0;
const VPN: usize = 1;
const PAYROLL: usize = 2;
const CRM: usize = 3;
const WIFI: usize = 4;
const LAPTOP: usize = 5;
const SSO: usize = 6;
const K8S: usize = 7;
const PRINT: usize = 8;

struct ServiceSpec {
    name: &'static str,
    description: &'static str,
    owner: usize,
    tier: i64,
    category: &'static str,
    vendor: &'static str,
    /// Where most of its users work (anywhere when empty).
    orgs: &'static [&'static str],
}

const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "Email & Calendar",
        description: "Microsoft 365 mailboxes, shared mailboxes, calendars and distribution lists.",
        owner: WPL,
        tier: 2,
        category: "email",
        vendor: "Microsoft",
        orgs: &[],
    },
    ServiceSpec {
        name: "VPN / Remote Access",
        description: "Always-on VPN client for company laptops and the contractor access gateway.",
        owner: NET,
        tier: 2,
        category: "network",
        vendor: "Fortinet",
        orgs: &[],
    },
    ServiceSpec {
        name: "Payroll",
        description: "Payroll portal, payslips, overtime approvals and the monthly bank export.",
        owner: PLAT,
        tier: 1,
        category: "application",
        vendor: "the payroll vendor",
        orgs: &["HR", "Finance"],
    },
    ServiceSpec {
        name: "CRM",
        description: "Customer relationship management for Sales and Customer Support: accounts, opportunities, reports and email sync.",
        owner: PLAT,
        tier: 2,
        category: "application",
        vendor: "the CRM vendor",
        orgs: &["Sales", "Customer Support", "Marketing"],
    },
    ServiceSpec {
        name: "Office Wi-Fi & LAN",
        description: "Corporate and guest Wi-Fi, desk network ports and meeting-room connectivity in every office.",
        owner: NET,
        tier: 3,
        category: "network",
        vendor: "Cisco",
        orgs: &[],
    },
    ServiceSpec {
        name: "Laptop Provisioning",
        description: "Standard laptops and accessories: ordering, imaging, MDM enrolment, repairs and returns.",
        owner: WPL,
        tier: 3,
        category: "hardware",
        vendor: "Dell",
        orgs: &[],
    },
    ServiceSpec {
        name: "Identity (SSO)",
        description: "Single sign-on, MFA and the directory groups that grant access to every application.",
        owner: IAM,
        tier: 1,
        category: "access",
        vendor: "Microsoft",
        orgs: &[],
    },
    ServiceSpec {
        name: "Kubernetes Platform",
        description: "Production and staging Kubernetes clusters running internal services, including payments-api.",
        owner: PLAT,
        tier: 1,
        category: "infrastructure",
        vendor: "Google",
        orgs: &["Engineering"],
    },
    ServiceSpec {
        name: "Printing",
        description: "Multifunction printers, scan-to-email and the print server in each office.",
        owner: WPL,
        tier: 4,
        category: "printing",
        vendor: "HP",
        orgs: &[],
    },
];

/// Office name and its tag.
const SITES: &[(&str, &str)] = &[
    ("Berlin HQ", "site:berlin"),
    ("London office", "site:london"),
    ("Lyon office", "site:lyon"),
    ("Rotterdam warehouse", "site:rotterdam"),
    ("Kraków office", "site:krakow"),
];
const ROOMS: &[&str] = &[
    "Atlas",
    "Kepler",
    "Fjord",
    "Orion",
    "Lovelace",
    "Board Room",
];
const APPS: &[&str] = &[
    "Jira",
    "Confluence",
    "Workday",
    "Miro",
    "Tableau",
    "DocuSign",
];
/// Starters and leavers, who have no account in the demo.
const OUTSIDERS: &[&str] = &[
    "Jan Hoffmann",
    "Laura Moreau",
    "Tobias Richter",
    "Amelia Scott",
    "Mateo García",
    "Zofia Nowak",
];

// ---------------------------------------------------------------------------
// Ticket templates
// ---------------------------------------------------------------------------

struct IncidentTpl {
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    impact: Impact,
    urgency: Urgency,
    code: &'static str,
    fix: &'static str,
}

const fn inc(
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    (impact, urgency): (Impact, Urgency),
    (code, fix): (&'static str, &'static str),
) -> IncidentTpl {
    IncidentTpl {
        service,
        title,
        description,
        category,
        tags,
        impact,
        urgency,
        code,
        fix,
    }
}

const HH: (Impact, Urgency) = (Impact::High, Urgency::High);
const MH: (Impact, Urgency) = (Impact::Medium, Urgency::High);
const MM: (Impact, Urgency) = (Impact::Medium, Urgency::Medium);
const LH: (Impact, Urgency) = (Impact::Low, Urgency::High);
const LM: (Impact, Urgency) = (Impact::Low, Urgency::Medium);
const LL: (Impact, Urgency) = (Impact::Low, Urgency::Low);

const INCIDENTS: &[IncidentTpl] = &[
    inc(
        Some(EMAIL),
        "Outlook keeps asking for my password",
        "Since this morning Outlook asks for my password every few minutes. Webmail works fine and I haven't changed my password.",
        "email",
        &[],
        LM,
        (
            "fixed",
            "Cleared the cached credentials in Windows Credential Manager and rebuilt the Outlook profile; the sign-in prompt completes again.",
        ),
    ),
    inc(
        Some(EMAIL),
        "Shared mailbox '{org} Invoices' missing from Outlook",
        "The {org} Invoices shared mailbox disappeared from my folder list overnight. Colleagues in {org} still see it.",
        "email",
        &[],
        LM,
        (
            "fixed",
            "Full-access permission had been removed in a group clean-up; re-added it with auto-mapping and the mailbox reappeared after restarting Outlook.",
        ),
    ),
    inc(
        Some(EMAIL),
        "Emails to logistics partner bounce with 550 5.7.1",
        "Mail to our logistics partner bounces with '550 5.7.1 Message rejected as spam' since yesterday afternoon. We need to send shipping manifests today.",
        "email",
        &["external"],
        MH,
        (
            "workaround",
            "The partner's gateway flagged our new outbound IP. They are allow-listing it; until then mail to their domain goes through the secondary connector.",
        ),
    ),
    inc(
        Some(EMAIL),
        "Mailbox full, cannot send emails",
        "Outlook says my mailbox is full and nothing goes out. I need to send the {org} month-end report today.",
        "email",
        &[],
        LH,
        (
            "fixed",
            "Enabled the online archive and applied the two-year archive policy; the mailbox is at 58% and sending works.",
        ),
    ),
    inc(
        Some(EMAIL),
        "Phishing email: fake DHL invoice",
        "Several of us in {org} received an 'invoice' from DHL Express linking to a login page. I didn't click, but a colleague might have.",
        "security",
        &["security", "phishing"],
        MH,
        (
            "fixed",
            "Purged the message from all mailboxes, blocked the sender domain and the landing page, and reset passwords and revoked sessions for the two people who clicked.",
        ),
    ),
    inc(
        Some(EMAIL),
        "Calendar invites arrive without the Teams link",
        "Invites I send from Outlook on my Mac arrive without the Teams meeting link since the last update.",
        "email",
        &["mac"],
        LL,
        (
            "fixed",
            "The Teams add-in for Outlook was disabled by the update; re-enabled it and re-sent the affected invites.",
        ),
    ),
    inc(
        Some(VPN),
        "VPN disconnects every {mins} minutes from home office",
        "Working from home, the VPN drops every {mins} minutes and my remote desktop session is lost each time. My home internet is otherwise stable.",
        "network",
        &["remote", "vpn"],
        MM,
        (
            "workaround",
            "Set the client keepalive to 20 s and turned off the idle timeout in the profile; no drops during a full working day.",
        ),
    ),
    inc(
        Some(VPN),
        "VPN fails with 'certificate expired'",
        "I can't connect to the VPN since this morning; the client says the certificate has expired.",
        "network",
        &["remote", "vpn"],
        MH,
        (
            "fixed",
            "The device certificate expired because the laptop had been offline for three months; re-enrolled it through the MDM portal.",
        ),
    ),
    inc(
        Some(VPN),
        "VPN very slow when opening file shares",
        "On VPN, opening files on the {org} share takes minutes. In the office it's instant.",
        "network",
        &["remote", "vpn"],
        LM,
        (
            "no_fault_found",
            "Throughput from the gateway to the user was normal; the slowness came from the home Wi-Fi. A cable connection fixed it.",
        ),
    ),
    inc(
        Some(VPN),
        "VPN login fails: MFA request times out",
        "The VPN asks for MFA but the push never arrives on my phone, so the login times out.",
        "access",
        &["remote", "mfa"],
        MH,
        (
            "user_error",
            "Notifications for the authenticator app were turned off on the new phone; turned them on and re-registered the device.",
        ),
    ),
    inc(
        Some(VPN),
        "No access to {site} servers over VPN",
        "On VPN I can reach everything except the servers at the {site}. Colleagues in the office can reach them.",
        "network",
        &["remote", "vpn"],
        MM,
        (
            "fixed",
            "The split-tunnel route list lacked the new {site} subnet; added it to the profile and pushed it to all clients.",
        ),
    ),
    inc(
        Some(PAYROLL),
        "Payroll portal shows 'Internal Server Error' on payslips",
        "Opening any payslip in the payroll portal gives 'Internal Server Error'. Employees are calling HR about it.",
        "application",
        &["payroll"],
        MH,
        (
            "fixed",
            "One of three portal replicas still ran the old schema after the release; redeployed it and cleared the cache.",
        ),
    ),
    inc(
        Some(PAYROLL),
        "Bank export file rejected by the bank",
        "This month's payroll bank export was rejected: 'invalid IBAN checksum in line 214'. Salaries must go out by Friday.",
        "application",
        &["payroll", "finance"],
        HH,
        (
            "fixed",
            "One employee record contained an IBAN with a pasted non-breaking space. Cleaned it, added validation, regenerated and re-sent the file; the bank confirmed receipt.",
        ),
    ),
    inc(
        Some(PAYROLL),
        "Cannot approve overtime in the payroll portal",
        "The 'Approve' button for overtime has been greyed out for my team since last week.",
        "application",
        &["payroll"],
        LM,
        (
            "user_error",
            "The approval delegation had expired on the 1st; showed how to renew it under Settings > Delegations.",
        ),
    ),
    inc(
        Some(PAYROLL),
        "Payroll portal very slow at month end",
        "Every page in the payroll portal takes 20 to 30 seconds today. It's month end and we have a deadline.",
        "application",
        &["payroll", "performance"],
        MM,
        (
            "workaround",
            "Scaled the portal to five replicas for the month-end window; pages load in under two seconds. The permanent fix is tracked as a problem.",
        ),
    ),
    inc(
        Some(CRM),
        "CRM returns '502 Bad Gateway' for the {org} team",
        "The CRM shows '502 Bad Gateway' for everyone in {org}.",
        "application",
        &["crm"],
        MH,
        (
            "fixed",
            "An unhealthy backend pod was still receiving traffic; took it out of rotation and fixed its readiness probe.",
        ),
    ),
    inc(
        Some(CRM),
        "CRM pipeline report shows totals in wrong currency",
        "The pipeline report shows totals in USD although our accounts are in EUR. Numbers look about 8% too high.",
        "application",
        &["crm", "reporting"],
        LM,
        (
            "fixed",
            "The report's currency defaulted to the corporate currency after the last release; set it back to the account currency and re-ran it.",
        ),
    ),
    inc(
        Some(CRM),
        "Cannot log in to CRM after password change",
        "After changing my password I get 'access denied' in the CRM; other apps work.",
        "access",
        &["crm"],
        LH,
        (
            "fixed",
            "A stale SSO session in the CRM; revoked the user's CRM sessions and the login worked.",
        ),
    ),
    inc(
        Some(CRM),
        "CRM mobile app crashes when attaching photos",
        "The CRM app on my iPhone crashes whenever I attach a photo to a visit report.",
        "application",
        &["crm", "mobile"],
        LL,
        (
            "workaround",
            "Known bug in app version 7.2 with HEIC photos; set the camera to 'Most Compatible' until the vendor ships 7.3.",
        ),
    ),
    inc(
        Some(CRM),
        "Duplicate contacts created by CRM email sync",
        "Every email I send creates another copy of the contact in the CRM. I now have 14 copies of the same customer.",
        "application",
        &["crm"],
        LM,
        (
            "fixed",
            "Both the Outlook add-in and server-side sync were enabled; turned off the add-in sync and merged the duplicates.",
        ),
    ),
    inc(
        Some(WIFI),
        "No Wi-Fi in meeting room {room} at the {site}",
        "Nobody can connect to Wi-Fi in meeting room {room}. We have a customer meeting there this afternoon.",
        "network",
        &["wifi"],
        MH,
        (
            "fixed",
            "Access point AP-{num} lost PoE after a switch reboot; re-seated the port and confirmed clients associate.",
        ),
    ),
    inc(
        Some(WIFI),
        "Guest Wi-Fi login page not loading for visitors",
        "Visitors at the {site} get a blank page instead of the guest Wi-Fi login.",
        "network",
        &["wifi", "guest"],
        LH,
        (
            "fixed",
            "The captive portal certificate had expired; renewed it and the login page loads again.",
        ),
    ),
    inc(
        Some(WIFI),
        "Laptop keeps dropping off corporate Wi-Fi",
        "My laptop disconnects from the corporate Wi-Fi several times an hour on floor {floor} at the {site}.",
        "network",
        &["wifi", "hardware"],
        LM,
        (
            "fixed",
            "Updated the Wi-Fi driver (Intel AX211) to the current release; roaming between access points works now.",
        ),
    ),
    inc(
        Some(WIFI),
        "Network port at my desk not working",
        "The network port at my desk on floor {floor} at the {site} has no link; the dock shows no connection.",
        "network",
        &["hardware"],
        LL,
        (
            "fixed",
            "The port was left unpatched after the floor move; patched it to the access switch.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "Laptop does not boot after BIOS update",
        "My laptop shows a black screen after last night's BIOS update. The power LED is on.",
        "hardware",
        &["hardware"],
        MH,
        (
            "fixed",
            "Recovered the BIOS with the vendor's recovery key combination and reimaged the laptop as a precaution; data was in OneDrive.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "Laptop screen flickering",
        "The screen flickers whenever I open or tilt the lid.",
        "hardware",
        &["hardware"],
        LM,
        (
            "fixed",
            "Display cable replaced under warranty by {vendor}.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "Docking station does not detect external monitors",
        "Since Monday my two monitors stay black when I dock. The dock still charges the laptop.",
        "hardware",
        &["hardware", "docking"],
        LM,
        (
            "fixed",
            "Updated the dock firmware and the DisplayLink driver; both monitors work.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "BitLocker recovery key requested on every start",
        "Every time I start my laptop it asks for the BitLocker recovery key.",
        "hardware",
        &["security"],
        MH,
        (
            "fixed",
            "The BIOS update had cleared the TPM; re-sealed BitLocker to the TPM and escrowed a new recovery key.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "Laptop stolen from car",
        "My laptop was stolen from my car last night. I have filed a police report.",
        "security",
        &["security", "hardware"],
        HH,
        (
            "fixed",
            "Device wiped remotely and retired in MDM, sessions revoked, and a loaner issued while a replacement is ordered.",
        ),
    ),
    inc(
        Some(LAPTOP),
        "Keyboard keys not responding",
        "The E and R keys on my laptop stopped working after a coffee spill.",
        "hardware",
        &["hardware"],
        LM,
        (
            "fixed",
            "Keyboard replaced under the accidental-damage cover.",
        ),
    ),
    inc(
        Some(SSO),
        "Account locked out after password change",
        "I changed my password this morning and now my account keeps getting locked.",
        "access",
        &["account"],
        LH,
        (
            "fixed",
            "An old phone was still syncing mail with the previous password; removed the device and unlocked the account.",
        ),
    ),
    inc(
        Some(SSO),
        "MFA prompt not arriving on new phone",
        "I have a new phone and no longer get MFA prompts, so I can't sign in anywhere.",
        "access",
        &["mfa"],
        MH,
        (
            "fixed",
            "Verified identity on a video call, removed the old authenticator and registered the new phone.",
        ),
    ),
    inc(
        Some(SSO),
        "Cannot open {app}: 'user not assigned to application'",
        "Signing in to {app} fails with 'AADSTS50105: the signed in user is not assigned to a role for the application'.",
        "access",
        &["sso"],
        LM,
        (
            "fixed",
            "Added the user to the application's access group; access works after signing out and in again.",
        ),
    ),
    inc(
        Some(SSO),
        "SSO login loop in Safari",
        "In Safari the sign-in page keeps redirecting back to the login form. Chrome works.",
        "access",
        &["sso", "mac"],
        LL,
        (
            "workaround",
            "Safari blocked a cookie the sign-in flow needs; allowed it for the login domain. Chrome or Edge work meanwhile.",
        ),
    ),
    inc(
        Some(SSO),
        "SSO sign-in page returns 503",
        "Nobody in {org} can sign in to anything: the sign-in page shows '503 Service Unavailable'.",
        "access",
        &["outage", "sso"],
        HH,
        (
            "fixed",
            "Both federation proxies ran out of disk space because debug logging was left on; cleared the logs, restored log rotation and restarted them.",
        ),
    ),
    inc(
        Some(K8S),
        "payments-api pods restarting with OOMKilled",
        "Alert: payments-api pods in production restart every few minutes with OOMKilled. Checkout error rate is rising.",
        "infrastructure",
        &["production", "kubernetes"],
        HH,
        (
            "workaround",
            "Raised the memory limit to 1.5 GiB and rolled the deployment; restarts stopped.",
        ),
    ),
    inc(
        Some(K8S),
        "Staging deployments stuck in ImagePullBackOff",
        "Deployments to staging have been stuck in ImagePullBackOff since this morning.",
        "infrastructure",
        &["kubernetes", "ci"],
        MH,
        (
            "fixed",
            "The registry pull secret in the build namespace had expired; rotated it and re-ran the pipelines.",
        ),
    ),
    inc(
        Some(K8S),
        "Cluster autoscaler not adding nodes under load",
        "Pods stay Pending during the nightly batch; the node pool does not scale up.",
        "infrastructure",
        &["kubernetes"],
        MM,
        (
            "fixed",
            "The node pool had reached its maximum of 12 nodes; raised it to 20 and added an alert at 80% of the limit.",
        ),
    ),
    inc(
        Some(K8S),
        "Disk pressure on k8s-prod-worker-{floor}",
        "Node k8s-prod-worker-{floor} reports DiskPressure and is evicting pods.",
        "infrastructure",
        &["kubernetes", "production"],
        MM,
        (
            "fixed",
            "Old container images filled the node disk; pruned them and lowered the kubelet image garbage-collection threshold.",
        ),
    ),
    inc(
        Some(K8S),
        "TLS certificate for internal apps expires in 5 days",
        "Monitoring warns that the wildcard certificate for internal apps expires in 5 days.",
        "infrastructure",
        &["security", "certificates"],
        MM,
        (
            "fixed",
            "Renewed the certificate and fixed the cert-manager issuer that should have renewed it automatically.",
        ),
    ),
    inc(
        Some(PRINT),
        "Printer on floor {floor} at the {site} offline",
        "The printer on floor {floor} shows as offline for everyone.",
        "printing",
        &["printing"],
        LM,
        (
            "fixed",
            "The printer got a new DHCP address after a power cut; added a reservation and updated the print queue.",
        ),
    ),
    inc(
        Some(PRINT),
        "Scan to email not working",
        "Scan to email on the {site} multifunction printer fails with 'SMTP authentication error'.",
        "printing",
        &["printing"],
        LM,
        (
            "fixed",
            "The scanner's SMTP credentials expired with the service-account rotation; updated them on the device.",
        ),
    ),
    inc(
        Some(PRINT),
        "Print jobs stuck in queue",
        "My print jobs stay in the queue and never print.",
        "printing",
        &["printing"],
        LL,
        (
            "fixed",
            "Restarted the spooler on the print server and cleared the stuck jobs.",
        ),
    ),
    inc(
        Some(PRINT),
        "Cannot print double-sided from Mac",
        "Printing from my Mac only prints single-sided even when I choose two-sided.",
        "printing",
        &["printing", "mac"],
        LL,
        (
            "user_error",
            "The generic driver was selected; installed the vendor driver and set duplex as the default.",
        ),
    ),
    inc(
        None,
        "Teams audio cuts out in calls",
        "In Teams calls my audio drops for a few seconds every minute. In the browser version people hear me fine.",
        "software",
        &[],
        LM,
        (
            "fixed",
            "Reinstalled the Teams client and updated the headset firmware; call quality is fine now.",
        ),
    ),
    inc(
        None,
        "Excel crashes when opening the {org} budget workbook",
        "Excel closes without an error when I open the {org} budget workbook. Other files open.",
        "software",
        &[],
        LH,
        (
            "workaround",
            "A faulty add-in crashes Excel on workbooks with external links; disabled it until the vendor update arrives.",
        ),
    ),
    inc(
        None,
        "Windows update prompt every morning",
        "Every morning I get a prompt to install updates and it never finishes.",
        "software",
        &[],
        LL,
        (
            "fixed",
            "A stuck update blocked the others; cleared the update cache and installed them manually.",
        ),
    ),
    inc(
        None,
        "New starter cannot sign in on first day",
        "Our new colleague {person} in {org} started today and cannot sign in to the laptop.",
        "access",
        &["onboarding"],
        MH,
        (
            "fixed",
            "The account was created with next month's start date; corrected it and issued a temporary access pass.",
        ),
    ),
];

struct RequestTpl {
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    approval: bool,
    /// Waits for a delivery.
    vendor: bool,
    fulfil: &'static str,
}

const fn req(
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    (approval, vendor): (bool, bool),
    fulfil: &'static str,
) -> RequestTpl {
    RequestTpl {
        service,
        title,
        description,
        category,
        tags,
        approval,
        vendor,
        fulfil,
    }
}

const APPROVE: (bool, bool) = (true, false);
const ORDER: (bool, bool) = (false, true);
const APPROVE_ORDER: (bool, bool) = (true, true);
const PLAIN: (bool, bool) = (false, false);

const REQUESTS: &[RequestTpl] = &[
    req(
        Some(LAPTOP),
        "New laptop for starter in {org}",
        "{person} starts in {org} on Monday and needs a standard laptop, docking station and headset.",
        "hardware",
        &["onboarding", "hardware"],
        APPROVE_ORDER,
        "Laptop imaged, enrolled in MDM and handed over with dock and headset at the {site} IT bar.",
    ),
    req(
        Some(LAPTOP),
        "Replacement laptop battery",
        "My laptop battery lasts less than an hour now. Could it be replaced?",
        "hardware",
        &["hardware"],
        ORDER,
        "New battery fitted; the health report shows full design capacity.",
    ),
    req(
        Some(LAPTOP),
        "Second monitor for home office",
        "I work from home three days a week and would like a second monitor.",
        "hardware",
        &["remote", "hardware"],
        APPROVE_ORDER,
        "Monitor shipped to the home address; the tracking number was sent by email.",
    ),
    req(
        Some(LAPTOP),
        "Return equipment for leaver in {org}",
        "{person} leaves {org} on Friday. Please arrange the return of the laptop, phone and badge.",
        "hardware",
        &["offboarding"],
        PLAIN,
        "Laptop, phone and badge returned at the IT bar; devices wiped and back in stock.",
    ),
    req(
        Some(SSO),
        "Access to the {org} shared drive",
        "I need read/write access to the {org} shared drive for the quarterly close.",
        "access",
        &["access"],
        APPROVE,
        "Added to the {org} drive editors group; access is live after signing in again.",
    ),
    req(
        Some(SSO),
        "Add me to the CRM admin group",
        "As the new sales operations lead I need CRM admin rights to maintain the pipeline stages.",
        "access",
        &["access", "crm"],
        APPROVE,
        "Added to the CRM administrators group with a 12-month access review.",
    ),
    req(
        Some(SSO),
        "Disable accounts for leaver {person}",
        "{person} from {org} left yesterday. Please disable all accounts and forward their mail to the line manager.",
        "access",
        &["offboarding"],
        PLAIN,
        "Accounts disabled, sessions revoked, and mail forwarded to the line manager for 30 days.",
    ),
    req(
        Some(SSO),
        "Service account for the {app} integration",
        "We need a service account for the new {app} integration with the data warehouse.",
        "access",
        &["access", "service-account"],
        APPROVE,
        "Service account created with a vaulted secret and a least-privilege role; details shared through the password manager.",
    ),
    req(
        Some(EMAIL),
        "Shared mailbox for the {org} team",
        "Please create a shared mailbox for the {org} team with access for five people (list attached).",
        "email",
        &[],
        PLAIN,
        "Shared mailbox created; the five members have full access and send-as rights.",
    ),
    req(
        Some(EMAIL),
        "Distribution list for {org} project",
        "We need a distribution list for the {org} project team including two external partners.",
        "email",
        &[],
        PLAIN,
        "Distribution list created with the internal members and the two external contacts.",
    ),
    req(
        Some(EMAIL),
        "Increase mailbox quota",
        "I'm at 95% of my mailbox quota and need to keep all client correspondence.",
        "email",
        &[],
        APPROVE,
        "Moved the mailbox to the 100 GB plan and enabled the online archive.",
    ),
    req(
        Some(VPN),
        "VPN access for external contractor",
        "A contractor will support {org} for six weeks and needs VPN access to our systems.",
        "access",
        &["remote", "contractor"],
        APPROVE,
        "Contractor account created on the partner gateway, limited to the {org} subnet and expiring in six weeks.",
    ),
    req(
        Some(VPN),
        "VPN client on my private Mac for on-call",
        "Could I get the VPN client on my private Mac for on-call weekends?",
        "network",
        &["remote", "mac"],
        APPROVE,
        "VPN client installed with a device certificate after the Mac passed the compliance check.",
    ),
    req(
        Some(CRM),
        "CRM licence for new sales rep",
        "{person} joins Sales next week and needs a CRM licence with the standard sales profile.",
        "application",
        &["crm", "onboarding"],
        APPROVE,
        "CRM licence assigned with the standard sales profile and the {site} territory.",
    ),
    req(
        Some(CRM),
        "Custom CRM report for {org}",
        "Could we get a weekly report of open opportunities by region and stage for {org}?",
        "application",
        &["crm", "reporting"],
        PLAIN,
        "Report built and scheduled every Monday at 07:00 to the {org} leadership list.",
    ),
    req(
        Some(PRINT),
        "Install printer on my laptop",
        "Please install the floor {floor} printer at the {site} on my laptop.",
        "printing",
        &["printing"],
        PLAIN,
        "Printer queue pushed through the self-service portal; test page printed.",
    ),
    req(
        Some(PRINT),
        "Toner for the printer on floor {floor}",
        "The printer on floor {floor} at the {site} says black toner is low.",
        "printing",
        &["printing"],
        ORDER,
        "New black toner installed; two spares left in the cabinet.",
    ),
    req(
        Some(K8S),
        "New namespace for the {org} analytics service",
        "Engineering needs a production namespace for the new {org} analytics service with a 4 CPU / 8 GiB quota.",
        "infrastructure",
        &["kubernetes"],
        APPROVE,
        "Namespace created with quota, network policies and a CI deploy role.",
    ),
    req(
        Some(K8S),
        "Raise CPU quota for the batch namespace",
        "Nightly batch jobs are throttled; please raise the batch namespace CPU quota from 16 to 24 cores.",
        "infrastructure",
        &["kubernetes"],
        APPROVE,
        "Quota raised to 24 cores; last night's jobs finished 40 minutes earlier.",
    ),
    req(
        Some(WIFI),
        "Guest Wi-Fi vouchers for customer workshop",
        "We host 25 customers at the {site} on Thursday and need guest Wi-Fi vouchers for two days.",
        "network",
        &["wifi", "guest"],
        PLAIN,
        "30 guest vouchers valid for two days sent to the organiser.",
    ),
    req(
        Some(WIFI),
        "Activate network ports for new desks",
        "Six new desks on floor {floor} at the {site} need active network ports.",
        "network",
        &["hardware"],
        PLAIN,
        "Six ports patched and tested on floor {floor}.",
    ),
    req(
        Some(PAYROLL),
        "Payroll access for new HR administrator",
        "{person} joins HR as payroll administrator and needs edit access to the payroll portal.",
        "access",
        &["payroll", "access"],
        APPROVE,
        "Payroll administrator role granted after the four-eyes check by the payroll lead.",
    ),
    req(
        None,
        "Install Adobe Acrobat Pro",
        "I need Acrobat Pro to prepare contracts with form fields.",
        "software",
        &["software", "licence"],
        APPROVE,
        "Acrobat Pro licence assigned and installed through Software Center.",
    ),
    req(
        None,
        "Replacement headset",
        "My headset broke; I need a replacement for daily calls.",
        "hardware",
        &["hardware"],
        ORDER,
        "Replacement headset handed out at the IT bar.",
    ),
    req(
        None,
        "Install Visio",
        "Please install Visio for process documentation in {org}.",
        "software",
        &["software", "licence"],
        APPROVE,
        "Visio installed from the company portal and a licence assigned.",
    ),
];

struct ProblemTpl {
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    workaround: &'static str,
    root_cause: &'static str,
}

const fn prb(
    service: Option<usize>,
    title: &'static str,
    description: &'static str,
    workaround: &'static str,
    root_cause: &'static str,
) -> ProblemTpl {
    ProblemTpl {
        service,
        title,
        description,
        workaround,
        root_cause,
    }
}

const PROBLEMS: &[ProblemTpl] = &[
    prb(
        Some(EMAIL),
        "Outlook credential prompts after monthly Windows update",
        "After the last two patch days the service desk got a wave of 'Outlook keeps asking for my password' incidents.",
        "Clear the cached credentials in Credential Manager and restart Outlook.",
        "The update reset the sign-in broker registration; a remediation script now re-registers it after patching.",
    ),
    prb(
        Some(LAPTOP),
        "Docking stations lose displays after sleep",
        "Incidents about black external monitors after sleep cluster on dock firmware 1.0.29.",
        "Unplug and replug the dock's USB-C cable after waking the laptop.",
        "Bug in dock firmware 1.0.29 confirmed by the vendor; 1.0.38 deployed to all docks through the management tool.",
    ),
    prb(
        Some(WIFI),
        "Access points at the {site} reboot every night",
        "Clients at the {site} lose Wi-Fi around 02:00 and some laptops do not reconnect in the morning.",
        "Turn Wi-Fi off and on again; restarting the laptop also works.",
        "A scheduled controller job rebooted the access points nightly after a template change; removed the job and fixed the template.",
    ),
    prb(
        Some(SSO),
        "Delayed MFA push notifications for Android users",
        "Android users report MFA pushes arriving 1 to 3 minutes late, so sign-ins time out.",
        "Type the one-time code from the authenticator app instead of waiting for the push.",
        "Battery optimisation on recent Android builds delays the push; MDM now exempts the authenticator app.",
    ),
    prb(
        Some(PRINT),
        "Print server spooler crashes weekly",
        "About once a week print jobs get stuck at every office until the spooler is restarted.",
        "Restart the spooler service on the print server (runbook RB-12).",
        "A legacy PCL5 driver crashed the spooler on certain PDFs; replaced it with the universal driver.",
    ),
    prb(
        Some(PAYROLL),
        "Payroll portal slow during month-end batch",
        "The payroll portal becomes slow every month end while the payroll batch runs.",
        "Scale the portal to five replicas before the batch window.",
        "The batch and the portal shared one database connection pool; gave the batch its own pool and added an index for payslip lookups.",
    ),
    prb(
        Some(CRM),
        "CRM email sync creates duplicate contacts",
        "Users with both client-side and server-side sync enabled get duplicate contacts.",
        "Turn off the Outlook add-in sync for the user and merge the duplicates.",
        "The add-in ignored the server-side sync flag; fixed by the vendor in 7.3, now rolled out to everyone.",
    ),
    prb(
        Some(VPN),
        "VPN certificates expire on laptops offline for months",
        "Laptops that were offline for a long time cannot connect to the VPN because their device certificate expired.",
        "Re-enrol the device certificate through the MDM portal while on the office network.",
        "Certificate lifetime extended to 180 days and renewal added to every MDM check-in.",
    ),
    prb(
        Some(K8S),
        "Nightly batch pods pending for lack of capacity",
        "Batch jobs wait for capacity most nights, delaying the morning reports.",
        "Start the batch manually after 04:00 when the web tier scales down.",
        "Introduced a dedicated batch node pool with its own autoscaling limits.",
    ),
    prb(
        Some(EMAIL),
        "Mail to some partners classified as spam",
        "Several partner domains quarantine our mail since the outbound IP change.",
        "Send time-critical mail to those partners through the secondary connector.",
        "The SPF record did not include the new outbound range; fixed SPF and requested delisting.",
    ),
    prb(
        Some(SSO),
        "Account lockouts from stale mobile devices",
        "Frequent lockouts after password changes, caused by phones still syncing with the old password.",
        "Remove the old device partnership and unlock the account.",
        "Mobile mail switched to modern authentication, so password changes no longer cause lockouts.",
    ),
    prb(
        Some(LAPTOP),
        "BitLocker recovery prompts after BIOS updates",
        "A BIOS update rolled out last week triggers BitLocker recovery on some models.",
        "Give the user the recovery key after verifying their identity, then re-seal BitLocker.",
        "The deployment package did not suspend BitLocker before flashing; it now suspends it for one reboot.",
    ),
    prb(
        Some(WIFI),
        "Guest Wi-Fi portal certificate keeps expiring",
        "The guest Wi-Fi login broke twice this year because its certificate expired.",
        "Renew the certificate manually in the controller.",
        "The certificate is now issued by the internal ACME service and renewed automatically.",
    ),
    prb(
        Some(K8S),
        "Registry pull secrets expire without warning",
        "CI deployments fail whenever a registry pull secret expires.",
        "Rotate the pull secret by hand in the affected namespace.",
        "Pull secrets are now synced from the vault by the external-secrets operator, with an expiry alert.",
    ),
    prb(
        Some(CRM),
        "CRM reports revert to corporate currency after releases",
        "After releases some reports switch back to the corporate currency.",
        "Set the currency on the report by hand.",
        "A release migration script reset report defaults; fixed the script and added a release check.",
    ),
    prb(
        None,
        "Teams crashes with outdated headset firmware",
        "Audio drop-outs and Teams crashes correlate with one headset model's firmware.",
        "Use Teams in the browser for calls.",
        "Headset firmware updated through the vendor's management tool.",
    ),
];

struct ChangeTpl {
    service: usize,
    title: &'static str,
    description: &'static str,
    standard: bool,
}

const fn chg(
    service: usize,
    title: &'static str,
    description: &'static str,
    standard: bool,
) -> ChangeTpl {
    ChangeTpl {
        service,
        title,
        description,
        standard,
    }
}

const CHANGES: &[ChangeTpl] = &[
    chg(
        K8S,
        "Upgrade production Kubernetes cluster to 1.31",
        "Rolling upgrade of the control plane, then one node pool at a time. Deprecated APIs scanned; staging upgraded last week. Rollback: restore the control-plane snapshot and recreate node pools from the previous template.",
        false,
    ),
    chg(
        K8S,
        "Rotate wildcard TLS certificate for internal apps",
        "Replace the wildcard certificate on the ingress controllers. Rollback: re-apply the previous secret.",
        true,
    ),
    chg(
        WIFI,
        "Replace core switch in the {site} comms room",
        "Swap the end-of-life core switch for the new stack. About 30 minutes of outage in the evening window. Rollback: re-cable to the old switch, which stays powered for 48 hours.",
        false,
    ),
    chg(
        SSO,
        "Block downloads from unmanaged devices",
        "Conditional access policy: no downloads from email and file shares on unmanaged devices. Report-only mode ran for two weeks without unexpected hits.",
        false,
    ),
    chg(
        PRINT,
        "Migrate print server to a new VM",
        "Move all print queues to PRINT02 and push the new queues by policy. Rollback: point the policy back to PRINT01.",
        false,
    ),
    chg(
        LAPTOP,
        "Deploy Windows feature update to the pilot group",
        "Feature update for the 50-laptop pilot ring; the compatibility report is clean.",
        false,
    ),
    chg(
        CRM,
        "Deploy CRM release 2025.3",
        "Vendor release with the new forecasting module, tested in staging by Sales Ops. Rollback: restore the pre-release snapshot.",
        false,
    ),
    chg(
        SSO,
        "Decommission the legacy LDAP proxy",
        "All applications use SAML or OIDC now; no LDAP binds in the last 30 days. Rollback: power the VM back on.",
        false,
    ),
    chg(
        WIFI,
        "Add access points on the {site} second floor",
        "Install four more access points to cover the new open-plan area.",
        true,
    ),
    chg(
        PAYROLL,
        "Payroll database minor version upgrade",
        "Minor version upgrade of the payroll PostgreSQL cluster by switching over to an upgraded replica, outside payroll run dates.",
        false,
    ),
    chg(
        EMAIL,
        "Tag external emails in the subject line",
        "Transport rule that prefixes [EXTERNAL] to inbound mail from outside the company.",
        true,
    ),
    chg(
        VPN,
        "Firewall rule for partner SFTP from new IP range",
        "Allow the logistics partner's new SFTP range to the transfer server, port 22 only.",
        true,
    ),
    chg(
        SSO,
        "Require phishing-resistant MFA for administrators",
        "Require FIDO2 security keys for all admin roles; the keys were handed out last month.",
        false,
    ),
    chg(
        LAPTOP,
        "Refresh laptop image with the new security baseline",
        "New standard image with the updated security baseline for all newly provisioned laptops.",
        false,
    ),
    chg(
        PAYROLL,
        "Renew SAML signing certificate for payroll SSO",
        "Roll over the SAML signing certificate before it expires; the vendor updates the metadata at the same time.",
        true,
    ),
    chg(
        K8S,
        "Pod disruption budgets for all production services",
        "Add pod disruption budgets so that node drains never take down every replica of a service.",
        false,
    ),
    chg(
        EMAIL,
        "Three-year retention for shared mailboxes",
        "Align shared-mailbox retention with the records policy approved by Legal.",
        false,
    ),
    chg(
        WIFI,
        "Upgrade wireless controller software",
        "Upgrade the controller to the vendor's recommended release; access points follow in a rolling upgrade.",
        false,
    ),
    chg(
        K8S,
        "Move CI runners to a dedicated node pool",
        "Run CI jobs on their own node pool so builds no longer compete with production workloads.",
        false,
    ),
    chg(
        VPN,
        "Enable IPv6 on the remote-access VPN",
        "Dual-stack the VPN gateway and client profile; tested with the IT pilot group for two weeks.",
        false,
    ),
];

// ---------------------------------------------------------------------------
// Things people write
// ---------------------------------------------------------------------------

const NEW_FOLLOW_UPS: &[&str] = &[
    "Adding to this: two colleagues in {org} have the same problem now.",
    "It's still happening, in case that helps.",
    "I'm working from the {site} today if someone wants to look at it on site.",
];
const INCIDENT_ACKS: &[&str] = &[
    "Hi {requester}, thanks for reporting this. I'm looking into it now and will update you within the hour.",
    "Hi {requester}, I've picked this up. Could you tell me roughly when it started and whether colleagues are affected too?",
    "Thanks {requester}, I can see the problem on our side and I'm working on it.",
    "Hi {requester}, I'm on it. Nothing needed from you for now; I'll let you know when there's news.",
    "Hi {requester}, thanks for the details. I'm checking the logs and will come back to you shortly.",
];
const INCIDENT_NOTES: &[&str] = &[
    "Checked the logs around the time of the report; nothing obvious on the client side.",
    "Searched the knowledge base and recent tickets: looks like an issue we had last month.",
    "Called {requester}, no answer. Will try again after lunch.",
    "Remote session done; diagnostics collected and attached to the ticket share.",
    "Reproduced on a test machine with the same build, so it's not specific to this laptop.",
    "Monitoring shows no errors on the service itself; focusing on the user's device.",
    "Asked a colleague at the {site} to have a look on site.",
    "Monitoring shows the error rate rose at the time of the report and is back to normal now.",
];
const ESCALATIONS: &[&str] = &[
    "Not a first-line fix; diagnostics attached.",
    "Needs server-side access we don't have on first line.",
    "Basic checks done (restart, cache, re-login), still failing.",
];
const ASK_INFO: &[&str] = &[
    "Hi {requester}, could you send a screenshot of the error and the asset tag of your laptop (the sticker underneath)? I'll keep the ticket on hold until then.",
    "Could you try again after a restart and tell me whether it still happens? I'll wait for your reply.",
    "When would suit you for a 15-minute remote session? Just reply with a time.",
    "Could you tell me which network you were on (office, home, hotel) when it happened?",
];
/// Answers to [`ASK_INFO`], in the same order.
const ANSWERS: &[&str] = &[
    "Screenshot attached. The asset tag is LT-{num}.",
    "Restarted twice, still the same.",
    "Tomorrow at 10:00 works for me.",
    "I was at home on my own Wi-Fi; everything else worked.",
];
const VENDOR_HOLDS: &[&str] = &[
    "Opened a case with {vendor} (case {case}). On hold until they respond.",
    "Needs a part from {vendor}; ordered under warranty, case {case}.",
];
const VENDOR_BACK: &[&str] = &[
    "{vendor} came back with a fix; applying it now.",
    "The part from {vendor} arrived; doing the repair today.",
];
const CHANGE_HOLDS: &[&str] = &[
    "The permanent fix needs a planned change; on hold until it is implemented.",
    "Waiting for the next maintenance window to apply the fix.",
];
const CHANGE_BACK: &[&str] = &[
    "The change was implemented last night; checking with the requester.",
    "Fix applied in the maintenance window; verifying now.",
];
const CHASERS: &[&str] = &[
    "Any update on this? It's slowing down the whole {org} team.",
    "Just checking in: this is still happening.",
    "Is there an ETA? I have a deadline on Friday.",
    "Colleagues are seeing the same now, if that helps.",
];
const REOPEN_REASONS: &[&str] = &[
    "It happened again this morning, same error.",
    "Still not working after the fix, sorry.",
    "It worked for a day, now it's back.",
];
const THANKS: &[&str] = &[
    "Works again, thanks a lot!",
    "Confirmed, all good now. Thank you.",
    "Thanks for the quick help.",
];
const REQUEST_ACKS: &[&str] = &[
    "Hi {requester}, thanks for your request. I'll take care of it.",
    "Hi {requester}, got it. I'll let you know when it's done or if I need anything from you.",
    "Hi {requester}, thanks. This one needs a couple of steps on our side; I'll keep you posted.",
];
const REQUEST_QUESTIONS: &[&str] = &[
    "Hi {requester}, which keyboard layout do you need, and will you collect it at the {site} or should we ship it?",
    "Could you confirm the cost centre for this request?",
    "Who exactly should have access? Please reply with the names.",
];
/// Answers to [`REQUEST_QUESTIONS`], in the same order.
const REQUEST_ANSWERS: &[&str] = &[
    "German layout please, I'll pick it up at the {site}.",
    "The cost centre is {org}-{num}.",
    "The names are in the attached list, thank you!",
];
const REQUEST_NOTES: &[&str] = &[
    "Checked stock at the {site}: available.",
    "Prepared following the standard checklist.",
    "The licence pool had spare seats; no purchase needed.",
];
const APPROVE_NOTES: &[&str] = &[
    "Approved.",
    "Approved, cost centre {org}-{num}.",
    "OK from my side; please stick to the standard model.",
    "Approved for 12 months; include it in the next access review.",
];
const REJECT_NOTES: &[&str] = &[
    "Access to this data needs the data owner's approval; please ask your line manager to raise it.",
    "Not covered by this year's budget; please raise it again in Q1.",
    "A standard device is already assigned; please use the loan pool for short-term needs.",
];
const CANCEL_REASONS: &[&str] = &[
    "No longer needed, thanks.",
    "The start date moved; I'll raise a new request later.",
    "We found another solution in the team.",
];
const PROBLEM_NOTES: &[&str] = &[
    "Collected the related incidents and their timestamps; they cluster around the same trigger.",
    "Reproduced in the lab; opened case {case} with {vendor}.",
    "Root-cause analysis draft shared with the team for review.",
    "Compared the configuration with an unaffected site; testing the differences in the lab.",
    "Checked the change calendar: nothing else changed around the first occurrence.",
];
const CHANGE_PLANS: &[&str] = &[
    "Implementation and rollback plan attached; tested in staging.",
    "Runbook prepared from the last time we did this; rollback steps included.",
    "Plan: pre-checks, implementation, post-checks, 24 hours of monitoring. Rollback described in the description.",
];
/// The first is for standard changes.
const CHANGE_RISKS: &[&str] = &[
    "Risk: low. Standard change, done several times this year without issues.",
    "Risk: medium. Blast radius limited to {service}; rollback tested in staging.",
    "Risk: high. Affects every user of {service}; window outside business hours and the service desk informed.",
    "Risk: medium. Short interruption of {service} expected during the window.",
];
const CHANGE_APPROVALS: &[&str] = &[
    "Approved at CAB.",
    "Approved at CAB; implement in the evening window only.",
    "Approved at CAB with the condition that the service desk is warned a day ahead.",
];
const CHANGE_REJECTIONS: &[&str] = &[
    "Back to draft: the rollback plan is missing and the window collides with the month-end close.",
    "Back to draft: please attach the test evidence from staging.",
];
const CHANGE_CANCELS: &[&str] = &[
    "Superseded by the vendor's hotfix; no longer needed.",
    "Project on hold; will raise it again when it restarts.",
];
const CHANGE_DONE: &[&str] = &[
    "Implementation finished; post-checks green.",
    "Done in 40 minutes; smoke tests passed and monitoring is quiet.",
    "Completed as planned. Keeping an eye on the dashboards until tomorrow.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use opsdesk_store::events::ChainReport;
    use opsdesk_store::listing::TicketQuery;
    use std::collections::BTreeSet;

    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn office_hours_cab_and_windows() {
        // 2026-03-06 is a Friday.
        assert_eq!(
            office(at("2026-03-06T10:00:00Z")),
            at("2026-03-06T10:00:00Z")
        );
        let monday = office(at("2026-03-06T19:00:00Z"));
        assert!((at("2026-03-09T08:00:00Z")..at("2026-03-09T09:40:00Z")).contains(&monday));
        let tuesday_cab = cab(at("2026-03-06T10:00:00Z"));
        assert!((at("2026-03-10T14:00:00Z")..at("2026-03-10T14:40:00Z")).contains(&tuesday_cab));
        let monday_window = window(at("2026-03-06T10:00:00Z"));
        assert!((at("2026-03-09T19:00:00Z")..at("2026-03-09T20:30:00Z")).contains(&monday_window));
    }

    #[test]
    fn the_plan_is_deterministic_and_stays_in_the_window() {
        let now = at("2026-05-14T09:30:00Z");
        let plans = plan_all(now);
        assert_eq!(plans, plan_all(now));
        assert_eq!(plans.len(), 300);
        for p in &plans {
            assert!(
                matches!(p.steps.first(), Some(Step { op: Op::Create, .. })),
                "{}",
                p.title
            );
            assert!(
                p.steps.windows(2).all(|w| w[0].at <= w[1].at),
                "{}",
                p.title
            );
            assert!(
                p.created() >= now - HISTORY && p.steps.iter().all(|s| s.at < now),
                "{}",
                p.title
            );
            assert!(members(p.team).contains(&p.worker), "{}", p.title);
        }
    }

    /// Replays a plan through the domain's state machine (and the store's
    /// one implicit step: a requester's reply resumes a ticket waiting on
    /// them) and returns where the ticket ends.
    fn replay(p: &Plan) -> Result<TicketState, String> {
        use opsdesk_domain::transition::{Milestone, TicketFacts, plan as plan_step};
        let mut state = p.kind.initial_state();
        let mut hold = None;
        let mut resolved_at = None;
        for step in &p.steps {
            let now = Timestamp::from_second(step.at).unwrap();
            let transition = match &step.op {
                Op::Do(t) => t.clone(),
                Op::Say(Visibility::Public, _)
                    if step.who == Who::Requester
                        && hold == Some(OnHoldReason::AwaitingCustomer) =>
                {
                    Transition::Resume {}
                }
                Op::Merge(_) if state.is_terminal() => return Err("merging a closed ticket".into()),
                Op::Merge(_) => {
                    state = TicketState::Closed;
                    continue;
                }
                Op::Say(..) | Op::Assign { .. } | Op::Claim if state.is_terminal() => {
                    return Err(format!("{:?} on a {state} ticket", step.op));
                }
                _ => continue,
            };
            let facts = TicketFacts {
                kind: p.kind,
                state,
                resolved_at,
            };
            let planned = plan_step(facts, &transition, now, ReopenPolicy::default())
                .map_err(|e| e.to_string())?;
            state = planned.to;
            hold = planned.on_hold_reason;
            match planned.milestone {
                Some(Milestone::Resolved) => resolved_at = Some(now),
                Some(Milestone::Reopened) => resolved_at = None,
                _ => {}
            }
        }
        Ok(state)
    }

    #[test]
    fn every_story_is_legal_and_every_state_is_reached_whenever_it_is_loaded() {
        let monday = at("2026-11-23T00:00:00Z");
        for k in 0..28 {
            let now = monday + k * 6 * HOUR + k * 7 * MIN;
            let plans = plan_all(now);
            let mut states = BTreeSet::new();
            for p in &plans {
                let end = replay(p).unwrap_or_else(|e| panic!("{} at {now}: {e}", p.title));
                states.insert(end.as_str());
                let resolved = matches!(end, TicketState::Resolved | TicketState::Fulfilled);
                let last = p.steps.last().unwrap().at;
                assert!(
                    !resolved || now - last < 7 * DAY,
                    "{} waits past the reopen window",
                    p.title
                );
            }
            assert_eq!(states.len(), TicketState::ALL.len(), "at {now}: {states:?}");
            let what: Vec<_> = plans
                .iter()
                .map(|p| (p.kind, &p.title, p.requester, replay(p).ok()))
                .collect();
            let first = plan_all(monday);
            let first: Vec<_> = first
                .iter()
                .map(|p| (p.kind, &p.title, p.requester, replay(p).ok()))
                .collect();
            let diff: Vec<_> = what.iter().zip(&first).filter(|(a, b)| a != b).collect();
            assert!(
                diff.is_empty(),
                "at {now} (k={k}) the tickets differ: {diff:?}"
            );
            let merges = plans
                .iter()
                .flat_map(|p| &p.steps)
                .filter(|s| matches!(s.op, Op::Merge(_)))
                .count();
            assert_eq!(merges, 3);
        }
    }

    #[tokio::test]
    async fn demo_loads_a_realistic_service_desk() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("opsdesk-demo-{}-{nanos}.db", std::process::id()));
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let now = Timestamp::now();
        let admin = NewUser {
            username: "admin".into(),
            display_name: "Administrator".into(),
            email: None,
            role: Role::Admin,
            organization: None,
            password_hash: None,
        };
        let admin = store.create_user(admin, None, now).await.unwrap();
        let hash =
            "$argon2id$v=19$m=19456,t=2,p=1$ZGVtb2RlbW9kZW1v$VGhpcyBpcyBub3QgYSByZWFsIGhhc2g";

        let started = std::time::Instant::now();
        let summary = load_demo(&store, admin.id, hash, now).await.unwrap();
        eprintln!("demo loaded in {:?}: {summary:?}", started.elapsed());
        assert_eq!((summary.users, summary.teams, summary.services), (40, 5, 9));
        assert!(summary.comments > 500, "{summary:?}");

        let users = store.list_users().await.unwrap();
        let roles: BTreeSet<Role> = users.iter().map(|u| u.role).collect();
        assert_eq!(roles.len(), 4, "{roles:?}");
        assert_eq!(users.len(), 41);

        let mut tickets = Vec::new();
        let mut query = TicketQuery {
            limit: 200,
            ..TicketQuery::default()
        };
        loop {
            let page = store.list_tickets(&query).await.unwrap();
            tickets.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        assert_eq!(tickets.len(), summary.tickets);
        assert!((280..=320).contains(&tickets.len()), "{}", tickets.len());
        let mut kinds: HashMap<TicketKind, usize> = HashMap::new();
        for t in &tickets {
            *kinds.entry(t.kind).or_default() += 1;
        }
        assert!(
            kinds[&TicketKind::Incident] > tickets.len() / 2,
            "{kinds:?}"
        );
        assert!(kinds[&TicketKind::ServiceRequest] >= 60, "{kinds:?}");
        assert!(kinds[&TicketKind::Problem] >= 15, "{kinds:?}");
        assert!(kinds[&TicketKind::Change] >= 15, "{kinds:?}");
        let states: BTreeSet<&str> = tickets.iter().map(|t| t.state.as_str()).collect();
        assert!(
            states.len() >= 12,
            "only {} states: {states:?}",
            states.len()
        );
        assert!(
            tickets
                .iter()
                .any(|t| t.state.is_open() && t.assignee_id.is_none()),
            "no unassigned open ticket"
        );
        assert_eq!(
            tickets
                .iter()
                .filter(|t| t.merged_into_id.is_some())
                .count(),
            3
        );
        assert!(tickets.iter().any(|t| t.reopen_count > 0));
        assert!(tickets.iter().any(|t| t.workaround.is_some()));
        assert!(
            tickets
                .iter()
                .any(|t| t.change_outcome == Some(ChangeOutcome::RolledBack))
        );
        assert!(
            tickets
                .iter()
                .all(|t| t.created_at <= now && t.updated_at <= now)
        );
        assert!(
            tickets
                .iter()
                .all(|t| t.created_at >= now - jiff::SignedDuration::from_hours(60 * 24))
        );

        let (mut public, mut internal, mut with_both) = (0, 0, 0);
        let mut links = 0;
        for t in &tickets {
            let comments = store.list_comments(t.id, true).await.unwrap();
            let p = comments
                .iter()
                .filter(|c| c.visibility == Visibility::Public)
                .count();
            let i = comments.len() - p;
            public += p;
            internal += i;
            with_both += usize::from(p > 0 && i > 0);
            links += store.list_links(t.id).await.unwrap().len();
        }
        assert_eq!(public + internal, summary.comments);
        assert!(
            public > 200 && internal > 200,
            "{public} public, {internal} internal"
        );
        assert!(with_both > 100, "{with_both}");
        assert!(links >= 20, "{links} link ends");

        // The log is one chronological story, and the chain holds.
        let events = store.events_after(0, 100_000).await.unwrap();
        assert!(events.len() > 2000, "{}", events.len());
        assert!(
            events
                .iter()
                .skip(1)
                .collect::<Vec<_>>()
                .windows(2)
                .all(|w| w[0].at <= w[1].at),
            "events out of time order"
        );
        assert!(events.iter().all(|e| e.at <= now));
        assert!(matches!(
            store.verify_chain().await.unwrap(),
            ChainReport::Intact { .. }
        ));

        // The demo refuses a desk that already has data.
        assert!(load_demo(&store, admin.id, hash, now).await.is_err());

        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
