//! The SMPP firewall: ESMEs bind to it as if it were the SMSC; it checks every message and
//! forwards what passes to the real SMSC over a pool of binds.
//!
//! - **ESME side.** Each connection is one task (plus a reader and a writer task). It must
//!   bind within `bind_timeout_secs`; credentials come from [`FirewallConfig::accounts`] (any
//!   credentials in `dev_mode`). A bound transmitter or transceiver may submit: each
//!   `submit_sm` / `data_sm` / `submit_multi` / `replace_sm` is checked by the [`Filter`], after
//!   its concatenated parts are reassembled (per session, bounded, see [`crate::concat`]).
//!   Per account a token bucket limits throughput; per session a window limits outstanding
//!   requests; both answer `ESME_RTHROTTLED`.
//! - **Upstream.** `upstream.binds` transceiver binds to the SMSC, each with its own window,
//!   `enquire_link`, response timeout, and reconnection with exponential backoff. A forwarded
//!   PDU is the ESME's own frame with a new sequence number: fields and TLVs chanrac does not
//!   read reach the SMSC unchanged. The SMSC's response (its `message_id`) goes back to the
//!   ESME with the ESME's sequence number. When every bind is at its window the submit is
//!   answered `ESME_RTHROTTLED` at once.
//! - **Back to the ESME.** `deliver_sm` from the SMSC (receipts and MO) is relayed to a
//!   session of the account that sent the original message (receipts, by `message_id`) or
//!   whose `address_range` is a prefix of the destination (MO); the ESME's `deliver_sm_resp`
//!   goes back to the SMSC. With no session to take it the SMSC gets `ESME_RX_T_APPN` and
//!   retries later.
//! - **Isolation.** A session never waits on another: frames to an ESME are queued with
//!   `try_send`, and an ESME that does not read its responses is disconnected rather than
//!   allowed to stall the upstream reader.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chanrac_core::Message;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::concat::{Push, Reassembler, ReassemblyConfig};
use crate::frame::{DEFAULT_MAX_PDU, FrameError, FrameReader, spawn_writer};
use crate::pdu::{
    Address, Bind, BindResp, Body, DecodeError, Header, MessageIdResp, MultiDest, Pdu, Tlv, cmd, set_sequence, status,
};
use crate::receipt::{Receipt, receipted_id, state};
use crate::stats::Stats;
use crate::submit::{ESM_DELIVERY_RECEIPT, MessageBody, decode_parts};
use crate::text::Coding;

/// What the firewall does with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it to the SMSC.
    Forward,
    /// Forward it; the filter recorded it as suspect (nothing changes on the wire).
    Tag,
    /// Refuse it with this `command_status` (`ESME_RSUBMITFAIL`, 0x45, by default).
    Reject(u32),
    /// Acknowledge it but do not deliver; the ESME gets an "undeliverable" receipt if it
    /// asked for one.
    Drop,
    /// Acknowledge it and hold it for an analyst, who may [`Quarantine::release`] it.
    Quarantine,
    /// The message is for a service this node runs (the hub's short code): acknowledge it,
    /// do not forward it, and send this text back to the sender from the address it was
    /// sent to, as a `deliver_sm` on the same session (when it can receive).
    Local(Arc<str>),
}

/// What the filter knows about a message besides the message itself.
#[derive(Debug, Clone)]
pub struct SubmitContext<'a> {
    /// The account that sent it.
    pub system_id: &'a str,
    /// The ESME session.
    pub session_id: u64,
    /// The PDU (`submit_sm`, `data_sm`, `submit_multi`, `replace_sm`).
    pub command: &'static str,
    /// The text's coding (of the first part).
    pub coding: Coding,
    /// Some bytes did not decode and were replaced.
    pub lossy: bool,
    /// The coding is not text chanrac knows; the bytes were read as Latin-1. A filter can turn
    /// this into a signal.
    pub unknown_coding: bool,
    /// How many parts were joined (1 for a plain message).
    pub parts: usize,
    /// Parts are missing: the reassembly timed out or the buffer was full, and the parts
    /// present are judged as they are.
    pub incomplete: bool,
}

/// What a service of this node answers to an MO message it took ([`Filter::deliver_local`]):
/// the reply to send back to the sender (empty: none), or the `command_status` of the
/// `deliver_sm_resp` when the message could not be taken (`ESME_RX_T_APPN`: the SMSC
/// retries later).
pub type LocalAnswer = Pin<Box<dyn Future<Output = Result<Arc<str>, u32>> + Send + 'static>>;

/// The check the firewall calls for every message. It must not block: it runs on the
/// session's task.
pub trait Filter: Send + Sync {
    /// Decides what to do with a message. Recording the verdict (for statistics, for the
    /// analyst) is the filter's job.
    fn check(&self, ctx: &SubmitContext<'_>, msg: &Message) -> Decision;

    /// True when this node itself serves the address `dest` (the hub's short codes): an MO
    /// `deliver_sm` the SMSC sends there is not relayed to an ESME but handed, its parts
    /// joined, to [`Filter::deliver_local`]. By default no address is served.
    fn serves(&self, dest: &str) -> bool {
        let _ = dest;
        false
    }

    /// Takes an MO message sent to an address this node [serves](Filter::serves). The
    /// returned future runs on its own task; the SMSC gets its `deliver_sm_resp` only once
    /// it resolves: success when it answers `Ok` (the message is durable), then the reply
    /// goes to the sender as a `submit_sm` from the address it wrote to; the status of `Err`
    /// otherwise.
    fn deliver_local(&self, msg: &Message) -> LocalAnswer {
        let _ = msg;
        Box::pin(async { Err(status::ESME_RX_T_APPN) })
    }
}

impl<F: Fn(&SubmitContext<'_>, &Message) -> Decision + Send + Sync> Filter for F {
    fn check(&self, ctx: &SubmitContext<'_>, msg: &Message) -> Decision {
        self(ctx, msg)
    }
}

/// An ESME account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The `system_id` it binds with.
    pub system_id: String,
    /// Its password.
    pub password: String,
    /// The most messages (parts) per second over all its sessions; none: no limit.
    #[serde(default)]
    pub max_tps: Option<u32>,
}

/// The connection to the real SMSC.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    /// `HOST:PORT` of the SMSC.
    pub address: String,
    /// The `system_id` the firewall binds with.
    pub system_id: String,
    /// Its password.
    pub password: String,
    /// The `system_type` sent in the bind.
    pub system_type: String,
    /// How many transceiver binds to keep open. Default 2.
    pub binds: usize,
    /// Outstanding requests per bind. Default 1000.
    pub window: usize,
    /// Seconds of silence before an `enquire_link`. Default 30.
    pub enquire_link_secs: u64,
    /// Seconds to wait for a response before failing the request. Default 30.
    pub response_timeout_secs: u64,
    /// First reconnection delay in milliseconds, doubled after each failure. Default 200.
    pub reconnect_min_ms: u64,
    /// Largest reconnection delay in milliseconds. Default 10 000.
    pub reconnect_max_ms: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            address: "127.0.0.1:2776".into(),
            system_id: "chanrac".into(),
            password: "chanrac".into(),
            system_type: String::new(),
            binds: 2,
            window: 1000,
            enquire_link_secs: 30,
            response_timeout_secs: 30,
            reconnect_min_ms: 200,
            reconnect_max_ms: 10_000,
        }
    }
}

/// The firewall's configuration (the `[smpp]` section of the config file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirewallConfig {
    /// Where ESMEs connect. Default `127.0.0.1:2775`.
    pub listen: String,
    /// Accept any `system_id` and password (development only).
    pub dev_mode: bool,
    /// The accounts that may bind.
    pub accounts: Vec<Account>,
    /// The SMSC.
    pub upstream: UpstreamConfig,
    /// The `command_status` of a refused message. Default `ESME_RSUBMITFAIL` (0x45).
    pub reject_status: u32,
    /// Outstanding requests per ESME session before `ESME_RTHROTTLED`. Default 1000.
    pub window: usize,
    /// The largest PDU accepted, in bytes; longer ones are refused before any allocation.
    /// Default 65 536.
    pub max_pdu_len: usize,
    /// Seconds of ESME silence before the firewall sends `enquire_link`. Default 30.
    pub enquire_link_secs: u64,
    /// Seconds of ESME silence (no answer to `enquire_link` either) before it is
    /// disconnected. Default 90.
    pub idle_timeout_secs: u64,
    /// Seconds a new connection has to bind. Default 10.
    pub bind_timeout_secs: u64,
    /// Failed binds on one connection before it is closed. Default 3.
    pub max_bind_attempts: u32,
    /// Simultaneous ESME connections. Default 1000.
    pub max_connections: usize,
    /// GSM 7-bit text arrives packed (8 septets in 7 bytes). Default false: one septet per
    /// byte, as most ESMEs send over SMPP.
    pub gsm_packed: bool,
    /// Reassembly limits, per ESME session.
    pub reassembly: ReassemblyConfig,
    /// How many SMSC message ids to remember for routing receipts. Default 1 000 000.
    pub receipt_routes: usize,
    /// The `system_id` the firewall answers binds with. Default `chanrac`.
    pub system_id: String,
}

impl Default for FirewallConfig {
    fn default() -> Self {
        FirewallConfig {
            listen: "127.0.0.1:2775".into(),
            dev_mode: false,
            accounts: Vec::new(),
            upstream: UpstreamConfig::default(),
            reject_status: status::ESME_RSUBMITFAIL,
            window: 1000,
            max_pdu_len: DEFAULT_MAX_PDU,
            enquire_link_secs: 30,
            idle_timeout_secs: 90,
            bind_timeout_secs: 10,
            max_bind_attempts: 3,
            max_connections: 1000,
            gsm_packed: false,
            reassembly: ReassemblyConfig::default(),
            receipt_routes: 1_000_000,
            system_id: "chanrac".into(),
        }
    }
}

/// A message held for an analyst.
#[derive(Debug, Clone)]
pub struct Held {
    /// The quarantine id (also the `message_id` the ESME was given).
    pub id: String,
    /// The account that sent it.
    pub system_id: String,
    /// The text as checked.
    pub text: String,
    /// The sender.
    pub source: String,
    /// The recipient.
    pub dest: String,
    frames: Vec<Bytes>,
}

/// Messages in quarantine.
#[derive(Default)]
pub struct Quarantine {
    held: Mutex<VecDeque<Held>>,
    shared: Mutex<Option<std::sync::Weak<Shared>>>,
}

impl std::fmt::Debug for Quarantine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quarantine").field("held", &self.list().len()).finish()
    }
}

/// The most messages kept in quarantine; the oldest is dropped beyond.
const QUARANTINE_MAX: usize = 100_000;

impl Quarantine {
    /// The messages held, oldest first.
    pub fn list(&self) -> Vec<Held> {
        self.held.lock().expect("quarantine lock").iter().cloned().collect()
    }

    /// Forwards a held message to the SMSC (the ESME was already answered). Returns false when
    /// no such message is held or no upstream bind can take it now.
    pub fn release(&self, id: &str) -> bool {
        let Some(shared) = self
            .shared
            .lock()
            .expect("quarantine lock")
            .as_ref()
            .and_then(|w| w.upgrade())
        else {
            return false;
        };
        let held = {
            let mut q = self.held.lock().expect("quarantine lock");
            let Some(i) = q.iter().position(|h| h.id == id) else {
                return false;
            };
            q.remove(i).expect("index found")
        };
        let started = Instant::now();
        let mut bind = None;
        held.frames.iter().all(|f| {
            bind = shared.forward(f, Route::Released, started, Duration::ZERO, bind).ok();
            bind.is_some()
        })
    }

    /// Drops a held message for good. Returns false when no such message is held.
    pub fn discard(&self, id: &str) -> bool {
        let mut q = self.held.lock().expect("quarantine lock");
        let before = q.len();
        q.retain(|h| h.id != id);
        q.len() != before
    }

    fn hold(&self, h: Held) {
        let mut q = self.held.lock().expect("quarantine lock");
        if q.len() >= QUARANTINE_MAX {
            q.pop_front();
        }
        q.push_back(h);
    }
}

/// A running firewall.
pub struct Firewall {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Firewall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Firewall")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

/// Why the firewall could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration is not usable.
    #[error("invalid SMPP configuration: {0}")]
    Config(String),
}

impl Firewall {
    /// Starts listening and connecting upstream. The firewall runs until [`Firewall::shutdown`].
    pub async fn start(config: FirewallConfig, filter: Arc<dyn Filter>) -> Result<Firewall, StartError> {
        if config.upstream.binds == 0 || config.upstream.window == 0 || config.window == 0 {
            return Err(StartError::Config(
                "upstream.binds, upstream.window and window must be at least 1".into(),
            ));
        }
        if !config.dev_mode && config.accounts.is_empty() {
            return Err(StartError::Config(
                "no accounts: add [[smpp.accounts]] or run in development mode".into(),
            ));
        }
        let listener = TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let accounts = config
            .accounts
            .iter()
            .map(|a| (a.system_id.clone(), Arc::new(AccountState::new(a.max_tps))))
            .collect();
        let config_reassembly = config.reassembly.clone();
        let shared = Arc::new(Shared {
            upstreams: (0..config.upstream.binds).map(|i| Arc::new(Upstream::new(i))).collect(),
            connections: Arc::new(Semaphore::new(config.max_connections)),
            cfg: config,
            filter,
            stats: Arc::new(Stats::default()),
            accounts,
            dev_accounts: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            rr: AtomicUsize::new(0),
            receipts: Mutex::new(ReceiptRoutes::default()),
            orphans: Mutex::new(Vec::new()),
            quarantine: Arc::new(Quarantine::default()),
            local_parts: Mutex::new(Reassembler::new(config_reassembly)),
            next_session: AtomicU64::new(1),
            next_local_id: AtomicU64::new(1),
            shutdown: shutdown_tx,
        });
        *shared.quarantine.shared.lock().expect("quarantine lock") = Some(Arc::downgrade(&shared));
        let mut tasks = JoinSet::new();
        for up in &shared.upstreams {
            tasks.spawn(upstream_loop(shared.clone(), up.clone(), shutdown_rx.clone()));
        }
        tasks.spawn(accept_loop(shared.clone(), listener, shutdown_rx));
        Ok(Firewall {
            shared,
            local_addr,
            tasks,
        })
    }

    /// The address ESMEs connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.shared.stats.clone()
    }

    /// A handle that sends this node's own messages to the SMSC.
    pub fn sender(&self) -> LocalSender {
        LocalSender(self.shared.clone())
    }

    /// The quarantine.
    pub fn quarantine(&self) -> Arc<Quarantine> {
        self.shared.quarantine.clone()
    }

    /// How many upstream binds are up.
    pub fn upstream_bound(&self) -> usize {
        self.shared.upstreams.iter().filter(|u| u.bound.load(Relaxed)).count()
    }

    /// How many ESME sessions are bound.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.lock().expect("sessions lock").len()
    }

    /// Stops: unbinds every ESME and every upstream bind (waiting a little for their
    /// `unbind_resp`), then closes.
    pub async fn shutdown(mut self) {
        let _ = self.shared.shutdown.send(true);
        let deadline = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = self.tasks.join_next() => if next.is_none() { break },
                _ = &mut deadline => { self.tasks.abort_all(); break }
            }
        }
    }
}

/// Per-account state shared by its sessions: the throughput limit.
struct AccountState {
    bucket: Option<Mutex<TokenBucket>>,
}

impl AccountState {
    fn new(max_tps: Option<u32>) -> Self {
        AccountState {
            bucket: max_tps.map(|r| Mutex::new(TokenBucket::new(r))),
        }
    }

    fn allow(&self, now: Instant) -> bool {
        self.bucket
            .as_ref()
            .is_none_or(|b| b.lock().expect("bucket lock").take(now))
    }
}

/// A token bucket of `rate` tokens per second holding at most one second's worth.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> Self {
        TokenBucket {
            rate: rate as f64,
            tokens: rate as f64,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.rate.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// SMSC message ids → the account that sent the message, for routing receipts; bounded,
/// oldest forgotten first.
#[derive(Default)]
struct ReceiptRoutes {
    map: HashMap<Bytes, Arc<str>>,
    order: VecDeque<Bytes>,
}

impl ReceiptRoutes {
    fn insert(&mut self, id: Bytes, system_id: Arc<str>, cap: usize) {
        if cap == 0 {
            return;
        }
        while self.order.len() >= cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        if self.map.insert(id.clone(), system_id).is_none() {
            self.order.push_back(id);
        }
    }
}

/// A bound ESME session as the rest of the firewall sees it.
struct EsmeHandle {
    id: u64,
    system_id: Arc<str>,
    tx: mpsc::Sender<Bytes>,
    can_receive: bool,
    address_range: Bytes,
    /// Requests read from the ESME not answered yet.
    outstanding: AtomicUsize,
    /// Sequence numbers of the firewall's own requests to the ESME.
    out_seq: AtomicU32,
    /// `deliver_sm` sent to the ESME: its sequence number → (upstream, upstream sequence).
    delivers: Mutex<HashMap<u32, (usize, u32)>>,
    /// The ESME stopped reading; it is being disconnected.
    stalled: AtomicBool,
}

impl EsmeHandle {
    /// Queues a frame to the ESME without waiting; an ESME that lets its queue fill up is
    /// disconnected (its session sees `stalled`).
    fn send(&self, frame: Bytes) -> bool {
        match self.tx.try_send(frame) {
            Ok(()) => true,
            Err(_) => {
                self.stalled.store(true, Relaxed);
                false
            }
        }
    }

    fn next_seq(&self) -> u32 {
        next_seq(&self.out_seq)
    }

    /// Answers one of the ESME's requests.
    fn answer(&self, frame: Bytes) {
        self.outstanding.fetch_sub(1, Relaxed);
        self.send(frame);
    }
}

/// The next sequence number: 1..=0x7FFFFFFF, wrapping.
fn next_seq(c: &AtomicU32) -> u32 {
    (c.fetch_add(1, Relaxed) % 0x7FFF_FFFF) + 1
}

/// Where the response to a forwarded request goes.
enum Route {
    /// To an ESME session.
    Esme {
        session: Arc<EsmeHandle>,
        seq: u32,
        command_id: u32,
        wants_receipt: bool,
    },
    /// A released quarantined message: the ESME was answered long ago.
    Released,
    /// A message this node sends itself ([`LocalSender::submit`], replies to MO messages):
    /// the SMSC's `message_id`, or the status it refused with.
    Local(Option<oneshot::Sender<Result<String, u32>>>),
}

struct InFlight {
    route: Route,
    started: Instant,
    added: Duration,
}

/// One upstream bind.
struct Upstream {
    idx: usize,
    tx: Mutex<Option<mpsc::Sender<Bytes>>>,
    bound: AtomicBool,
    inflight: AtomicUsize,
    seq: AtomicU32,
    pending: Mutex<HashMap<u32, InFlight>>,
}

impl Upstream {
    fn new(idx: usize) -> Self {
        Upstream {
            idx,
            tx: Mutex::new(None),
            bound: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            seq: AtomicU32::new(1),
            pending: Mutex::new(HashMap::new()),
        }
    }

    fn sender(&self) -> Option<mpsc::Sender<Bytes>> {
        self.tx.lock().expect("upstream lock").clone()
    }

    /// Takes every pending request (the bind is gone or they timed out).
    fn take_pending(&self, older_than: Option<Instant>) -> Vec<InFlight> {
        let mut p = self.pending.lock().expect("upstream lock");
        let keys: Vec<u32> = p
            .iter()
            .filter(|(_, f)| older_than.is_none_or(|t| f.started < t))
            .map(|(k, _)| *k)
            .collect();
        let out: Vec<InFlight> = keys.into_iter().filter_map(|k| p.remove(&k)).collect();
        self.inflight.fetch_sub(out.len(), Relaxed);
        out
    }
}

/// Why a forward did not happen.
enum ForwardError {
    /// Every bind is at its window, or none is up.
    Saturated,
}

struct Shared {
    cfg: FirewallConfig,
    filter: Arc<dyn Filter>,
    stats: Arc<Stats>,
    accounts: HashMap<String, Arc<AccountState>>,
    dev_accounts: Mutex<HashMap<String, Arc<AccountState>>>,
    sessions: Mutex<HashMap<u64, Arc<EsmeHandle>>>,
    upstreams: Vec<Arc<Upstream>>,
    rr: AtomicUsize,
    receipts: Mutex<ReceiptRoutes>,
    orphans: Mutex<Vec<Orphan>>,
    quarantine: Arc<Quarantine>,
    /// Parts of MO messages to this node's own addresses, waiting for the rest.
    local_parts: Mutex<Reassembler<PartKey, MoPart>>,
    next_session: AtomicU64,
    next_local_id: AtomicU64,
    connections: Arc<Semaphore>,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    /// Sends a frame to the SMSC over a bind with room in its window, `prefer`red first (the
    /// parts of one message go over one bind, in order); returns the bind used.
    fn forward(
        &self,
        frame: &[u8],
        route: Route,
        started: Instant,
        added: Duration,
        prefer: Option<usize>,
    ) -> Result<usize, ForwardError> {
        let n = self.upstreams.len();
        let start = prefer.unwrap_or_else(|| self.rr.fetch_add(1, Relaxed));
        let mut route = route;
        for i in 0..n {
            let up = &self.upstreams[(start + i) % n];
            if !up.bound.load(Relaxed) {
                continue;
            }
            if up.inflight.fetch_add(1, Relaxed) >= self.cfg.upstream.window {
                up.inflight.fetch_sub(1, Relaxed);
                continue;
            }
            let Some(tx) = up.sender() else {
                up.inflight.fetch_sub(1, Relaxed);
                continue;
            };
            let seq = next_seq(&up.seq);
            let mut f = BytesMut::from(frame);
            set_sequence(&mut f, seq);
            let added = added + started.elapsed();
            up.pending
                .lock()
                .expect("upstream lock")
                .insert(seq, InFlight { route, started, added });
            if tx.try_send(f.freeze()).is_ok() {
                return Ok(up.idx);
            }
            // The writer queue is full (the SMSC is not reading): take the entry back and try
            // the next bind.
            up.inflight.fetch_sub(1, Relaxed);
            match up.pending.lock().expect("upstream lock").remove(&seq) {
                Some(back) => route = back.route,
                None => return Ok(up.idx),
            }
        }
        Err(ForwardError::Saturated)
    }

    fn local_message_id(&self) -> String {
        format!("cr{:x}", self.next_local_id.fetch_add(1, Relaxed))
    }

    fn account(&self, system_id: &str, password: &str) -> Result<Arc<AccountState>, u32> {
        if let Some(a) = self.cfg.accounts.iter().find(|a| a.system_id == system_id) {
            return if a.password == password {
                Ok(self.accounts[&a.system_id].clone())
            } else {
                Err(status::ESME_RINVPASWD)
            };
        }
        if !self.cfg.dev_mode {
            return Err(status::ESME_RINVSYSID);
        }
        let mut dev = self.dev_accounts.lock().expect("accounts lock");
        if dev.len() >= 10_000 && !dev.contains_key(system_id) {
            return Err(status::ESME_RBINDFAIL);
        }
        Ok(dev
            .entry(system_id.to_string())
            .or_insert_with(|| Arc::new(AccountState::new(None)))
            .clone())
    }

    /// An MO `deliver_sm` (bind `up`) to an address this node serves: its parts are joined
    /// (bounded as the ESMEs' are), then the message is handed to the filter.
    fn local_mo(self: &Arc<Self>, up: usize, pdu: &Pdu, read_at: Instant) {
        let Body::DeliverSm(sm) = &pdu.body else { return };
        let part = MoPart {
            up,
            seq: pdu.sequence,
            body: MessageBody::of_sm(sm),
            source: sm.source.clone(),
            dest: sm.dest.clone(),
        };
        let Some(info) = part.body.part else {
            return self.take_local_mo(vec![part]);
        };
        let key = (part.source.addr.clone(), part.dest.addr.clone(), info.reference);
        let size = part.body.bytes.len() + part.source.addr.len() + part.dest.addr.len();
        let pushed = self
            .local_parts
            .lock()
            .expect("local parts lock")
            .push(key, info, size, part, read_at);
        match pushed {
            Push::Pending => {}
            Push::Complete(parts) => self.take_local_mo(parts),
            Push::Refused(p, _) => self.take_local_mo(vec![p]),
        }
    }

    /// MO messages to this node whose parts did not all arrive in time: taken as they are.
    fn expire_local_mo(self: &Arc<Self>, now: Instant) {
        let expired = self.local_parts.lock().expect("local parts lock").expire(now);
        for (_, parts) in expired {
            self.take_local_mo(parts);
        }
    }

    /// Hands a whole MO message to the filter's service; answers the SMSC for every part
    /// once the service is done, then sends its reply.
    fn take_local_mo(self: &Arc<Self>, parts: Vec<MoPart>) {
        let Some(first) = parts.first() else { return };
        let decoded = decode_parts(parts.iter().map(|p| &p.body), self.cfg.gsm_packed);
        let msg = message_of(&first.source, &first.dest, decoded.text);
        let answer = self.filter.deliver_local(&msg);
        let shared = self.clone();
        tokio::spawn(async move {
            let out = answer.await;
            let st = match &out {
                Ok(_) => status::ESME_ROK,
                Err(st) => *st,
            };
            Stats::inc(if out.is_ok() {
                &shared.stats.local_mo
            } else {
                &shared.stats.local_mo_refused
            });
            for p in &parts {
                answer_upstream_deliver(&shared, p.up, p.seq, st);
            }
            if let (Ok(reply), Some(first)) = (out, parts.first())
                && !reply.is_empty()
            {
                let sender = LocalSender(shared.clone());
                if let Err(st) = sender.submit_to(first.dest.clone(), first.source.clone(), &reply).await {
                    tracing::warn!(status = format!("{st:#x}"), to = %first.source.text(), "the reply to an MO message was not sent");
                }
            }
        });
    }

    /// Where a `deliver_sm` from the SMSC should go.
    fn route_deliver(&self, sm: &crate::pdu::ShortMessage) -> DeliverRoute {
        let sessions = self.sessions.lock().expect("sessions lock");
        let receivers = || sessions.values().filter(|s| s.can_receive && !s.stalled.load(Relaxed));
        let found = |s: Option<&Arc<EsmeHandle>>| s.cloned().map_or(DeliverRoute::Nowhere, DeliverRoute::Session);
        if sm.esm_class & 0x3C == ESM_DELIVERY_RECEIPT {
            let Some(id) = receipted_id(sm) else {
                return DeliverRoute::Nowhere;
            };
            let system_id = self.receipts.lock().expect("receipts lock").map.get(&id).cloned();
            return match system_id {
                Some(system_id) => found(receivers().find(|s| s.system_id == system_id)),
                None => DeliverRoute::UnknownReceipt(id),
            };
        }
        found(
            receivers()
                .filter(|s| !s.address_range.is_empty() && sm.dest.addr.starts_with(&s.address_range))
                .max_by_key(|s| s.address_range.len()),
        )
    }

    /// Sends a `deliver_sm` from bind `up` (its sequence `up_seq`) to an ESME session.
    fn relay_deliver(&self, session: &EsmeHandle, up: usize, up_seq: u32, frame: &[u8]) {
        let seq = session.next_seq();
        session
            .delivers
            .lock()
            .expect("delivers lock")
            .insert(seq, (up, up_seq));
        let mut f = BytesMut::from(frame);
        set_sequence(&mut f, seq);
        if session.send(f.freeze()) {
            Stats::inc(&self.stats.delivered);
        } else {
            session.delivers.lock().expect("delivers lock").remove(&seq);
            answer_upstream_deliver(self, up, up_seq, status::ESME_RX_T_APPN);
        }
    }

    /// Receipts whose message id is not known yet (the SMSC sent the receipt before the
    /// `submit_sm_resp` it is about was read): routed when the id becomes known.
    fn retry_orphans(&self, id: &Bytes) {
        let ready: Vec<Orphan> = {
            let mut o = self.orphans.lock().expect("orphans lock");
            let (ready, keep) = o.drain(..).partition(|x| x.id == *id);
            *o = keep;
            ready
        };
        for x in ready {
            let Body::DeliverSm(sm) = &x.pdu.body else { continue };
            match self.route_deliver(sm) {
                DeliverRoute::Session(s) => self.relay_deliver(&s, x.up, x.pdu.sequence, &x.frame),
                _ => {
                    Stats::inc(&self.stats.undeliverable);
                    answer_upstream_deliver(self, x.up, x.pdu.sequence, status::ESME_RX_T_APPN);
                }
            }
        }
    }

    /// Answers the orphan receipts older than `max_age` with `ESME_RX_T_APPN` (the SMSC will
    /// retry them).
    fn expire_orphans(&self, max_age: Duration) {
        let old: Vec<Orphan> = {
            let mut o = self.orphans.lock().expect("orphans lock");
            let (old, keep) = o.drain(..).partition(|x| x.at.elapsed() >= max_age);
            *o = keep;
            old
        };
        for x in old {
            Stats::inc(&self.stats.undeliverable);
            answer_upstream_deliver(self, x.up, x.pdu.sequence, status::ESME_RX_T_APPN);
        }
    }
}

/// Where a `deliver_sm` goes.
enum DeliverRoute {
    Session(Arc<EsmeHandle>),
    /// A receipt for a message id the firewall has not seen (yet).
    UnknownReceipt(Bytes),
    Nowhere,
}

/// A receipt waiting for its message id to become known.
struct Orphan {
    id: Bytes,
    up: usize,
    pdu: Pdu,
    frame: Bytes,
    at: Instant,
}

/// The most receipts kept waiting for their message id.
const ORPHANS_MAX: usize = 10_000;

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                Stats::inc(&shared.stats.connections);
                // Past the connection limit the newcomer is closed at once: a flood of
                // connections cannot starve the bound sessions.
                let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
                    Stats::inc(&shared.stats.binds_refused);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let s = shared.clone();
                let rx = shutdown.clone();
                sessions.spawn(async move {
                    esme_session(s, stream, peer, rx).await;
                    drop(permit);
                });
            }
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    // Let every session unbind its ESME.
    while sessions.join_next().await.is_some() {}
}

/// One part (or whole message) held by a session until its message is judged.
struct HeldPart {
    frame: Bytes,
    seq: u32,
    command_id: u32,
    body: MessageBody,
    source: Address,
    dest: Address,
    wants_receipt: bool,
    read_at: Instant,
}

type PartKey = (Bytes, Bytes, u16);

/// One part of an MO message to an address this node serves.
struct MoPart {
    /// The upstream bind it came on, and its sequence number there.
    up: usize,
    seq: u32,
    body: MessageBody,
    source: Address,
    dest: Address,
}

/// Sends this node's own messages (replies, one-time passwords) to the SMSC over the
/// firewall's upstream binds. Cheap to clone; it outlives nothing: once the firewall is shut
/// down every send fails.
#[derive(Clone)]
pub struct LocalSender(Arc<Shared>);

impl std::fmt::Debug for LocalSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSender")
    }
}

impl LocalSender {
    /// Submits `text` from `from` (a short code) to `to` (a subscriber number, `+84…` or
    /// national) and waits for the SMSC's answer: its `message_id`, or the `command_status`
    /// it refused with (`ESME_RTHROTTLED` when no bind has room, `ESME_RSYSERR` when the bind
    /// was lost or the SMSC did not answer within `response_timeout_secs`).
    pub async fn submit(&self, from: &str, to: &str, text: &str) -> Result<String, u32> {
        let from = Address::new(if from.len() <= 8 { 3 } else { 0 }, 0, from);
        let to = match to.strip_prefix('+') {
            Some(intl) => Address::new(1, 1, intl),
            None => Address::new(0, 1, to),
        };
        self.submit_to(from, to, text).await
    }

    /// [`LocalSender::submit`] between two addresses as they are.
    async fn submit_to(&self, from: Address, to: Address, text: &str) -> Result<String, u32> {
        let (data_coding, bytes) = crate::text::encode_best(text);
        let (short_message, tlvs) = if bytes.len() <= 254 {
            (Bytes::from(bytes), vec![])
        } else {
            (Bytes::new(), vec![Tlv::new(crate::pdu::tag::MESSAGE_PAYLOAD, bytes)])
        };
        let frame = Pdu::new(
            0,
            Body::SubmitSm(crate::pdu::ShortMessage {
                source: from,
                dest: to,
                data_coding,
                short_message,
                tlvs,
                ..Default::default()
            }),
        )
        .encode();
        let (tx, rx) = oneshot::channel();
        if *self.0.shutdown.borrow() {
            return Err(status::ESME_RSYSERR);
        }
        let now = Instant::now();
        if self
            .0
            .forward(&frame, Route::Local(Some(tx)), now, Duration::ZERO, None)
            .is_err()
        {
            Stats::inc(&self.0.stats.local_failed);
            return Err(status::ESME_RTHROTTLED);
        }
        Stats::inc(&self.0.stats.local_sent);
        rx.await.unwrap_or(Err(status::ESME_RSYSERR))
    }
}

struct EsmeState {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Bytes>,
    session_id: u64,
    bound: Option<(Arc<EsmeHandle>, Arc<AccountState>)>,
    can_submit: bool,
    bind_failures: u32,
    reassembler: Reassembler<PartKey, HeldPart>,
    last_rx: Instant,
    enquire_sent: Option<Instant>,
    unbind_sent: Option<Instant>,
    out_seq: AtomicU32,
}

enum Flow {
    Continue,
    Close,
}

async fn esme_session(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, mut shutdown: watch::Receiver<bool>) {
    let (rd, wr) = stream.into_split();
    let queue = shared.cfg.window * 2 + 256;
    let tx = spawn_writer(wr, queue);
    let mut reader = FrameReader::new(rd, shared.cfg.max_pdu_len);
    let session_id = shared.next_session.fetch_add(1, Relaxed);
    let started = Instant::now();
    let mut st = EsmeState {
        reassembler: Reassembler::new(shared.cfg.reassembly.clone()),
        shared: shared.clone(),
        tx,
        session_id,
        bound: None,
        can_submit: false,
        bind_failures: 0,
        last_rx: started,
        enquire_sent: None,
        unbind_sent: None,
        out_seq: AtomicU32::new(1),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::debug!(%peer, session_id, "esme connected");
    loop {
        let flow = tokio::select! {
            // FrameReader::read is cancel-safe: a tick never loses a half-read frame.
            f = reader.read() => match f {
                Ok(None) => Flow::Close,
                Ok(Some(frame)) => { st.last_rx = Instant::now(); st.enquire_sent = None; st.on_frame(frame) }
                Err(FrameError::BadLength { header, .. }) => {
                    st.nack(header.sequence_number, status::ESME_RINVCMDLEN);
                    Flow::Close
                }
                Err(_) => Flow::Close,
            },
            _ = tick.tick() => st.on_tick(started),
            _ = shutdown.changed(), if st.unbind_sent.is_none() => {
                if st.bound.is_some() {
                    let seq = st.out_seq.fetch_add(1, Relaxed);
                    st.send(Pdu::new(seq, Body::Unbind).encode());
                    st.unbind_sent = Some(Instant::now());
                    Flow::Continue
                } else {
                    Flow::Close
                }
            }
        };
        if matches!(flow, Flow::Close) {
            break;
        }
    }
    if let Some((h, _)) = &st.bound {
        shared.sessions.lock().expect("sessions lock").remove(&h.id);
        // Receipts the ESME never answered: the SMSC will retry them.
        let delivers: Vec<(usize, u32)> = h
            .delivers
            .lock()
            .expect("delivers lock")
            .drain()
            .map(|(_, v)| v)
            .collect();
        for (up, seq) in delivers {
            answer_upstream_deliver(&shared, up, seq, status::ESME_RX_T_APPN);
        }
    }
    tracing::debug!(%peer, session_id, "esme disconnected");
}

impl EsmeState {
    fn send(&self, frame: Bytes) {
        if let Some((h, _)) = &self.bound {
            h.send(frame);
        } else {
            let _ = self.tx.try_send(frame);
        }
    }

    fn nack(&self, seq: u32, st: u32) {
        Stats::inc(&self.shared.stats.nacks);
        self.send(Pdu::with_status(st, seq, Body::GenericNack).encode());
    }

    /// Answers a request directly (it never reached the outstanding count).
    fn reply(&self, seq: u32, st: u32, body: Body) {
        self.send(Pdu::with_status(st, seq, body).encode());
    }

    fn on_tick(&mut self, started: Instant) -> Flow {
        let now = Instant::now();
        let cfg = &self.shared.cfg;
        if self.bound.as_ref().is_some_and(|(h, _)| h.stalled.load(Relaxed)) {
            tracing::warn!(
                session_id = self.session_id,
                "esme does not read its responses: disconnecting"
            );
            return Flow::Close;
        }
        if self.bound.is_none() && now - started > Duration::from_secs(cfg.bind_timeout_secs) {
            return Flow::Close;
        }
        if self.unbind_sent.is_some_and(|t| now - t > Duration::from_secs(2)) {
            return Flow::Close;
        }
        let idle = now - self.last_rx;
        if idle > Duration::from_secs(cfg.idle_timeout_secs) {
            return Flow::Close;
        }
        if self.bound.is_some() && idle > Duration::from_secs(cfg.enquire_link_secs) && self.enquire_sent.is_none() {
            let seq = self.out_seq.fetch_add(1, Relaxed);
            self.send(Pdu::new(seq, Body::EnquireLink).encode());
            self.enquire_sent = Some(now);
        }
        for (_, parts) in self.reassembler.expire(now) {
            self.judge(parts, true);
        }
        Flow::Continue
    }

    fn on_frame(&mut self, frame: Bytes) -> Flow {
        let read_at = Instant::now();
        let header = Header::parse(&frame).expect("the reader returns whole frames");
        let pdu = match Pdu::decode(frame.clone(), self.shared.cfg.max_pdu_len) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(session_id = self.session_id, error = %e, "undecodable pdu");
                // A response we cannot read needs no answer; a request gets generic_nack.
                if !header.is_response() {
                    self.nack(header.sequence_number, e.nack_status());
                }
                return if matches!(e, DecodeError::BadLength { .. }) {
                    Flow::Close
                } else {
                    Flow::Continue
                };
            }
        };
        let seq = pdu.sequence;
        match pdu.body {
            Body::BindTransmitter(b) => self.on_bind(seq, b, cmd::BIND_TRANSMITTER),
            Body::BindReceiver(b) => self.on_bind(seq, b, cmd::BIND_RECEIVER),
            Body::BindTransceiver(b) => self.on_bind(seq, b, cmd::BIND_TRANSCEIVER),
            Body::EnquireLink => {
                self.reply(seq, 0, Body::EnquireLinkResp);
                Flow::Continue
            }
            Body::Unbind => {
                self.reply(seq, 0, Body::UnbindResp);
                Flow::Close
            }
            Body::UnbindResp => Flow::Close,
            Body::EnquireLinkResp | Body::GenericNack => Flow::Continue,
            Body::DeliverSmResp(_) | Body::DataSmResp(_) => {
                if let Some((h, _)) = &self.bound
                    && let Some((up, up_seq)) = h.delivers.lock().expect("delivers lock").remove(&seq)
                {
                    answer_upstream_deliver(&self.shared, up, up_seq, pdu.status);
                }
                Flow::Continue
            }
            _ if header.is_response() => Flow::Continue,
            body => {
                self.on_request(frame, header, body, read_at);
                Flow::Continue
            }
        }
    }

    fn on_bind(&mut self, seq: u32, b: Bind, command_id: u32) -> Flow {
        let resp = |st: u32, system_id: &str| {
            let r = BindResp {
                system_id: Bytes::copy_from_slice(system_id.as_bytes()),
                tlvs: vec![],
            };
            let body = match command_id {
                cmd::BIND_RECEIVER => Body::BindReceiverResp(r),
                cmd::BIND_TRANSMITTER => Body::BindTransmitterResp(r),
                _ => Body::BindTransceiverResp(r),
            };
            Pdu::with_status(st, seq, body).encode()
        };
        if self.bound.is_some() {
            self.send(resp(status::ESME_RALYBND, ""));
            return Flow::Continue;
        }
        let system_id = String::from_utf8_lossy(&b.system_id).into_owned();
        let password = String::from_utf8_lossy(&b.password);
        match self.shared.account(&system_id, &password) {
            Ok(account) => {
                let handle = Arc::new(EsmeHandle {
                    id: self.session_id,
                    system_id: Arc::from(system_id.as_str()),
                    tx: self.tx.clone(),
                    can_receive: command_id != cmd::BIND_TRANSMITTER,
                    address_range: b.address_range.clone(),
                    outstanding: AtomicUsize::new(0),
                    out_seq: AtomicU32::new(0x4000_0000),
                    delivers: Mutex::new(HashMap::new()),
                    stalled: AtomicBool::new(false),
                });
                self.shared
                    .sessions
                    .lock()
                    .expect("sessions lock")
                    .insert(self.session_id, handle.clone());
                self.can_submit = command_id != cmd::BIND_RECEIVER;
                self.bound = Some((handle, account));
                Stats::inc(&self.shared.stats.binds);
                tracing::info!(session_id = self.session_id, system_id, "esme bound");
                self.send(resp(0, &self.shared.cfg.system_id));
                Flow::Continue
            }
            Err(st) => {
                Stats::inc(&self.shared.stats.binds_refused);
                self.bind_failures += 1;
                tracing::info!(session_id = self.session_id, system_id, status = st, "bind refused");
                self.send(resp(st, ""));
                if self.bind_failures >= self.shared.cfg.max_bind_attempts {
                    Flow::Close
                } else {
                    Flow::Continue
                }
            }
        }
    }

    fn on_request(&mut self, frame: Bytes, header: Header, body: Body, read_at: Instant) {
        let seq = header.sequence_number;
        let Some((handle, account)) = self.bound.clone() else {
            let st = status::ESME_RINVBNDSTS;
            return self.send(error_response(header.command_id, st, seq));
        };
        let throttled = |st: &Self| {
            Stats::inc(&st.shared.stats.throttled);
            st.send(error_response(header.command_id, status::ESME_RTHROTTLED, seq));
        };
        let is_submit = matches!(
            body,
            Body::SubmitSm(_) | Body::DataSm(_) | Body::SubmitMulti(_) | Body::ReplaceSm(_)
        );
        if is_submit && !self.can_submit {
            return self.send(error_response(header.command_id, status::ESME_RINVBNDSTS, seq));
        }
        if handle.outstanding.load(Relaxed) >= self.shared.cfg.window {
            return throttled(self);
        }
        if is_submit && !account.allow(read_at) {
            return throttled(self);
        }
        let (body, source, dest, wants_receipt) = match &body {
            Body::SubmitSm(sm) => (
                MessageBody::of_sm(sm),
                sm.source.clone(),
                sm.dest.clone(),
                sm.registered_delivery,
            ),
            Body::DataSm(d) => (
                MessageBody::of_data_sm(d),
                d.source.clone(),
                d.dest.clone(),
                d.registered_delivery,
            ),
            Body::SubmitMulti(crate::pdu::SubmitMulti { dests, message: m }) => {
                let dest = dests
                    .iter()
                    .find_map(|d| match d {
                        MultiDest::Sme(a) => Some(a.clone()),
                        MultiDest::List(_) => None,
                    })
                    .unwrap_or_default();
                let mut b = MessageBody::of(m.esm_class, m.data_coding, &m.short_message, &m.tlvs);
                b.part = None;
                (b, m.source.clone(), dest, m.registered_delivery)
            }
            Body::ReplaceSm(r) => {
                let b = MessageBody::of(0, 0, &r.short_message, &[]);
                (b, r.source.clone(), Address::default(), r.registered_delivery)
            }
            // query_sm, cancel_sm: no text to check, straight to the SMSC.
            Body::QuerySm(_) | Body::CancelSm(_) => {
                handle.outstanding.fetch_add(1, Relaxed);
                let route = Route::Esme {
                    session: handle.clone(),
                    seq,
                    command_id: header.command_id,
                    wants_receipt: false,
                };
                if self
                    .shared
                    .forward(&frame, route, read_at, Duration::ZERO, None)
                    .is_err()
                {
                    handle.outstanding.fetch_sub(1, Relaxed);
                    throttled(self);
                }
                return;
            }
            // outbind and anything else an ESME should not send.
            _ => return self.nack(seq, status::ESME_RINVCMDID),
        };
        handle.outstanding.fetch_add(1, Relaxed);
        // A part that waits for its message is copied out of the reader's buffer, so that
        // pending parts hold only their own bytes (what the reassembler counts).
        let frame = if body.part.is_some() {
            Bytes::copy_from_slice(&frame)
        } else {
            frame
        };
        let part = HeldPart {
            frame,
            seq,
            command_id: header.command_id,
            source,
            dest,
            wants_receipt: wants_receipt & 0x01 != 0,
            read_at,
            body,
        };
        match part.body.part {
            Some(info) => {
                let key = (part.source.addr.clone(), part.dest.addr.clone(), info.reference);
                let size = part.frame.len();
                match self.reassembler.push(key, info, size, part, read_at) {
                    Push::Pending => {}
                    Push::Complete(parts) => self.judge(parts, false),
                    Push::Refused(p, _) => self.judge(vec![p], true),
                }
            }
            None => self.judge(vec![part], false),
        }
    }

    /// Checks one message (all its parts) and acts on the decision.
    fn judge(&mut self, parts: Vec<HeldPart>, incomplete: bool) {
        let Some((handle, _)) = self.bound.clone() else { return };
        let shared = self.shared.clone();
        let Some(first) = parts.first() else { return };
        let decoded = decode_parts(parts.iter().map(|p| &p.body), shared.cfg.gsm_packed);
        let msg = message_of(&first.source, &first.dest, decoded.text);
        let ctx = SubmitContext {
            system_id: &handle.system_id,
            session_id: self.session_id,
            command: crate::pdu::command_name(first.command_id),
            coding: first.body.coding,
            lossy: decoded.lossy || parts.iter().any(|p| p.body.bad_udh),
            unknown_coding: decoded.unknown_coding,
            parts: parts.len(),
            incomplete: incomplete && first.body.part.is_some(),
        };
        let decision = shared.filter.check(&ctx, &msg);
        let stats = &shared.stats;
        match decision {
            Decision::Local(reply) => {
                Stats::inc(&stats.answered_locally);
                for p in &parts {
                    handle.answer(ok_response(p.command_id, p.seq, &shared.local_message_id()));
                }
                if handle.can_receive {
                    handle.send(local_reply(handle.next_seq(), first_addresses(&parts), &reply).encode());
                }
            }
            Decision::Forward | Decision::Tag => {
                Stats::inc(if decision == Decision::Tag {
                    &stats.tagged
                } else {
                    &stats.forwarded
                });
                let mut bind = None;
                for p in parts {
                    let route = Route::Esme {
                        session: handle.clone(),
                        seq: p.seq,
                        command_id: p.command_id,
                        wants_receipt: p.wants_receipt,
                    };
                    match shared.forward(&p.frame, route, p.read_at, Duration::ZERO, bind) {
                        Ok(b) => bind = Some(b),
                        Err(ForwardError::Saturated) => {
                            Stats::inc(&stats.throttled);
                            handle.answer(error_response(p.command_id, status::ESME_RTHROTTLED, p.seq));
                        }
                    }
                }
            }
            Decision::Reject(st) => {
                Stats::inc(&stats.rejected);
                for p in parts {
                    handle.answer(error_response(p.command_id, st, p.seq));
                }
            }
            Decision::Drop => {
                Stats::inc(&stats.dropped);
                for p in parts {
                    let id = shared.local_message_id();
                    handle.answer(ok_response(p.command_id, p.seq, &id));
                    if p.wants_receipt && handle.can_receive {
                        let now = unix_now();
                        let r = Receipt {
                            message_id: id,
                            message_state: state::UNDELIVERABLE,
                            error: 0,
                            submitted_at: now,
                            done_at: now,
                            text: String::new(),
                        };
                        handle.send(
                            r.deliver_sm(handle.next_seq(), p.dest.clone(), p.source.clone())
                                .encode(),
                        );
                    }
                }
            }
            Decision::Quarantine => {
                Stats::inc(&stats.quarantined);
                let id = shared.local_message_id();
                for p in &parts {
                    handle.answer(ok_response(p.command_id, p.seq, &id));
                }
                shared.quarantine.hold(Held {
                    id,
                    system_id: handle.system_id.to_string(),
                    text: msg.text,
                    source: msg.sender.unwrap_or_default(),
                    dest: msg.recipient.unwrap_or_default(),
                    frames: parts.into_iter().map(|p| Bytes::copy_from_slice(&p.frame)).collect(),
                });
            }
        }
    }
}

/// The (source, destination) addresses of a message's first part.
fn first_addresses(parts: &[HeldPart]) -> (Address, Address) {
    parts
        .first()
        .map(|p| (p.source.clone(), p.dest.clone()))
        .unwrap_or_default()
}

/// A `deliver_sm` from the address a message was sent to back to its sender, carrying
/// `text` (GSM 7-bit when it fits, else UCS-2; in `message_payload` when longer than one
/// `short_message`).
fn local_reply(seq: u32, (sender, to): (Address, Address), text: &str) -> Pdu {
    let (data_coding, bytes) = crate::text::encode_best(text);
    let (short_message, tlvs) = if bytes.len() <= 254 {
        (Bytes::from(bytes), vec![])
    } else {
        (Bytes::new(), vec![Tlv::new(crate::pdu::tag::MESSAGE_PAYLOAD, bytes)])
    };
    Pdu::new(
        seq,
        Body::DeliverSm(crate::pdu::ShortMessage {
            source: to,
            dest: sender,
            data_coding,
            short_message,
            tlvs,
            ..Default::default()
        }),
    )
}

/// The message the filter sees: sender, recipient, the decoded text, received now.
fn message_of(source: &Address, dest: &Address, text: String) -> Message {
    Message {
        sender: Some(source.text()),
        recipient: Some(dest.text()),
        text,
        received_at: Some(unix_now()),
        ..Default::default()
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The response to a request, with an error status and no body.
fn error_response(command_id: u32, st: u32, seq: u32) -> Bytes {
    let body = match command_id {
        cmd::SUBMIT_SM => Body::SubmitSmResp(MessageIdResp::default()),
        cmd::DATA_SM => Body::DataSmResp(MessageIdResp::default()),
        cmd::SUBMIT_MULTI => Body::SubmitMultiResp {
            message_id: Bytes::new(),
            unsuccess: vec![],
            tlvs: vec![],
        },
        cmd::REPLACE_SM => Body::ReplaceSmResp,
        cmd::CANCEL_SM => Body::CancelSmResp,
        cmd::QUERY_SM => {
            // query_sm_resp has a mandatory body; an error one has empty fields.
            Body::QuerySmResp(Default::default())
        }
        _ => Body::GenericNack,
    };
    let mut f = BytesMut::new();
    Pdu::with_status(st, seq, body).encode_into(&mut f);
    // An error response carries only the header (SMPP 3.4 section 3.3: the body may be left
    // out when command_status is not 0); generic_nack has none anyway.
    if st != 0 {
        f.truncate(crate::pdu::HEADER_LEN);
        f[..4].copy_from_slice(&(crate::pdu::HEADER_LEN as u32).to_be_bytes());
    }
    f.freeze()
}

/// A successful response with a message id.
fn ok_response(command_id: u32, seq: u32, message_id: &str) -> Bytes {
    let r = MessageIdResp {
        message_id: Bytes::copy_from_slice(message_id.as_bytes()),
        tlvs: vec![],
    };
    let body = match command_id {
        cmd::DATA_SM => Body::DataSmResp(r),
        cmd::SUBMIT_MULTI => Body::SubmitMultiResp {
            message_id: r.message_id,
            unsuccess: vec![],
            tlvs: vec![],
        },
        cmd::REPLACE_SM => Body::ReplaceSmResp,
        _ => Body::SubmitSmResp(r),
    };
    Pdu::new(seq, body).encode()
}

/// Answers a `deliver_sm` the SMSC sent on bind `up`.
fn answer_upstream_deliver(shared: &Shared, up: usize, seq: u32, st: u32) {
    if let Some(tx) = shared.upstreams.get(up).and_then(|u| u.sender()) {
        let body = Body::DeliverSmResp(MessageIdResp::default());
        let _ = tx.try_send(Pdu::with_status(st, seq, body).encode());
    }
}

/// Keeps one upstream bind up: connect, bind, serve, and reconnect with backoff.
async fn upstream_loop(shared: Arc<Shared>, up: Arc<Upstream>, mut shutdown: watch::Receiver<bool>) {
    let cfg = shared.cfg.upstream.clone();
    let mut delay = Duration::from_millis(cfg.reconnect_min_ms);
    loop {
        if *shutdown.borrow() {
            return;
        }
        match upstream_session(&shared, &up, &cfg, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                let was_bound = up.bound.swap(false, Relaxed);
                *up.tx.lock().expect("upstream lock") = None;
                for f in up.take_pending(None) {
                    fail_inflight(&shared, f);
                }
                if was_bound {
                    delay = Duration::from_millis(cfg.reconnect_min_ms);
                }
                tracing::warn!(upstream = up.idx, error = %e, retry_ms = delay.as_millis() as u64, "upstream bind lost");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => return,
        }
        delay = (delay * 2).min(Duration::from_millis(cfg.reconnect_max_ms.max(cfg.reconnect_min_ms)));
    }
}

/// A request the SMSC will never answer: the ESME gets `ESME_RSYSERR` (its fate upstream is
/// unknown; the ESME may retry).
fn fail_inflight(shared: &Shared, f: InFlight) {
    Stats::inc(&shared.stats.upstream_failed);
    match f.route {
        Route::Esme {
            session,
            seq,
            command_id,
            ..
        } => session.answer(error_response(command_id, status::ESME_RSYSERR, seq)),
        Route::Local(done) => {
            Stats::inc(&shared.stats.local_failed);
            if let Some(done) = done {
                let _ = done.send(Err(status::ESME_RSYSERR));
            }
        }
        Route::Released => {}
    }
}

#[derive(Debug, thiserror::Error)]
enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("bind refused with status {0:#x}")]
    Refused(u32),
    #[error("no bind response")]
    BindTimeout,
    #[error("connection closed")]
    Closed,
    #[error("no answer to enquire_link")]
    Silent,
    #[error("unbound by the SMSC")]
    Unbound,
}

async fn upstream_session(
    shared: &Arc<Shared>,
    up: &Arc<Upstream>,
    cfg: &UpstreamConfig,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), UpstreamError> {
    let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(&cfg.address))
        .await
        .map_err(|_| UpstreamError::Connect(std::io::ErrorKind::TimedOut.into()))?
        .map_err(UpstreamError::Connect)?;
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let tx = spawn_writer(wr, cfg.window * 2 + 256);
    let mut reader = FrameReader::new(rd, shared.cfg.max_pdu_len);
    let bind = Pdu::new(
        next_seq(&up.seq),
        Body::BindTransceiver(Bind {
            system_id: Bytes::copy_from_slice(cfg.system_id.as_bytes()),
            password: Bytes::copy_from_slice(cfg.password.as_bytes()),
            system_type: Bytes::copy_from_slice(cfg.system_type.as_bytes()),
            interface_version: 0x34,
            ..Default::default()
        }),
    );
    tx.send(bind.encode()).await.map_err(|_| UpstreamError::Closed)?;
    let resp = tokio::time::timeout(Duration::from_secs(10), reader.read())
        .await
        .map_err(|_| UpstreamError::BindTimeout)?
        .map_err(|_| UpstreamError::Closed)?
        .ok_or(UpstreamError::Closed)?;
    let h = Header::parse(&resp).map_err(|_| UpstreamError::Closed)?;
    if h.command_id != cmd::BIND_TRANSCEIVER_RESP || h.command_status != 0 {
        return Err(UpstreamError::Refused(h.command_status.max(1)));
    }
    *up.tx.lock().expect("upstream lock") = Some(tx.clone());
    up.bound.store(true, Relaxed);
    Stats::inc(&shared.stats.upstream_binds);
    tracing::info!(upstream = up.idx, address = %cfg.address, "upstream bound");

    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_rx = Instant::now();
    let mut enquire_sent: Option<Instant> = None;
    let mut unbinding: Option<Instant> = None;
    let link = Duration::from_secs(cfg.enquire_link_secs.max(1));
    loop {
        tokio::select! {
            // FrameReader::read is cancel-safe: a tick never loses a half-read frame.
            f = reader.read() => {
                let frame = match f {
                    Ok(Some(frame)) => frame,
                    _ => return if unbinding.is_some() { Ok(()) } else { Err(UpstreamError::Closed) },
                };
                last_rx = Instant::now();
                enquire_sent = None;
                match on_upstream_frame(shared, up, &tx, frame, last_rx) {
                    UpstreamFlow::Continue => {}
                    UpstreamFlow::Unbound => return if unbinding.is_some() { Ok(()) } else { Err(UpstreamError::Unbound) },
                }
            }
            _ = tick.tick() => {
                let now = Instant::now();
                if unbinding.is_some_and(|t| now - t > Duration::from_secs(2)) {
                    return Ok(());
                }
                if let Some(t) = enquire_sent && now - t > link {
                    return Err(UpstreamError::Silent);
                }
                if enquire_sent.is_none() && now - last_rx > link {
                    let _ = tx.try_send(Pdu::new(next_seq(&up.seq), Body::EnquireLink).encode());
                    enquire_sent = Some(now);
                }
                shared.expire_orphans(Duration::from_secs(2));
                shared.expire_local_mo(now);
                let timeout = Duration::from_secs(cfg.response_timeout_secs.max(1));
                if let Some(cutoff) = now.checked_sub(timeout) {
                    for f in up.take_pending(Some(cutoff)) {
                        fail_inflight(shared, f);
                    }
                }
            }
            _ = shutdown.changed(), if unbinding.is_none() => {
                up.bound.store(false, Relaxed);
                let _ = tx.try_send(Pdu::new(next_seq(&up.seq), Body::Unbind).encode());
                unbinding = Some(Instant::now());
            }
        }
    }
}

enum UpstreamFlow {
    Continue,
    Unbound,
}

fn on_upstream_frame(
    shared: &Arc<Shared>,
    up: &Arc<Upstream>,
    tx: &mpsc::Sender<Bytes>,
    frame: Bytes,
    read_at: Instant,
) -> UpstreamFlow {
    let h = Header::parse(&frame).expect("whole frame");
    if h.is_response() && h.command_id != cmd::DELIVER_SM_RESP {
        let entry = up.pending.lock().expect("upstream lock").remove(&h.sequence_number);
        let Some(f) = entry else {
            return match h.command_id {
                cmd::UNBIND_RESP => UpstreamFlow::Unbound,
                _ => UpstreamFlow::Continue,
            };
        };
        up.inflight.fetch_sub(1, Relaxed);
        let (session, seq, command_id, wants_receipt) = match f.route {
            Route::Esme {
                session,
                seq,
                command_id,
                wants_receipt,
            } => (session, seq, command_id, wants_receipt),
            Route::Local(done) => {
                let out = match (h.command_status, Pdu::decode(frame, shared.cfg.max_pdu_len)) {
                    (
                        0,
                        Ok(Pdu {
                            body: Body::SubmitSmResp(r),
                            ..
                        }),
                    ) => Ok(String::from_utf8_lossy(&r.message_id).into_owned()),
                    (0, _) => Err(status::ESME_RSYSERR),
                    (st, _) => Err(st),
                };
                if out.is_err() {
                    Stats::inc(&shared.stats.local_failed);
                }
                if let Some(done) = done {
                    let _ = done.send(out);
                }
                return UpstreamFlow::Continue;
            }
            Route::Released => return UpstreamFlow::Continue,
        };
        let out = if h.command_id == cmd::GENERIC_NACK {
            // The SMSC could not read what the ESME sent: answer the ESME's own command.
            error_response(command_id, h.command_status.max(1), seq)
        } else {
            if wants_receipt
                && h.command_status == 0
                && let Ok(Pdu {
                    body: Body::SubmitSmResp(r) | Body::DataSmResp(r),
                    ..
                }) = Pdu::decode(frame.clone(), shared.cfg.max_pdu_len)
            {
                shared.receipts.lock().expect("receipts lock").insert(
                    r.message_id.clone(),
                    session.system_id.clone(),
                    shared.cfg.receipt_routes,
                );
                if !shared.orphans.lock().expect("orphans lock").is_empty() {
                    shared.retry_orphans(&r.message_id);
                }
            }
            let mut f = BytesMut::from(&frame[..]);
            set_sequence(&mut f, seq);
            f.freeze()
        };
        session.answer(out);
        shared.stats.added_latency.record(f.added + read_at.elapsed());
        shared.stats.round_trip.record(f.started.elapsed());
        return UpstreamFlow::Continue;
    }
    let pdu = match Pdu::decode(frame.clone(), shared.cfg.max_pdu_len) {
        Ok(p) => p,
        Err(e) => {
            if !h.is_response() {
                let _ = tx.try_send(Pdu::with_status(e.nack_status(), h.sequence_number, Body::GenericNack).encode());
            }
            return UpstreamFlow::Continue;
        }
    };
    match pdu.body {
        Body::EnquireLink => {
            let _ = tx.try_send(Pdu::new(pdu.sequence, Body::EnquireLinkResp).encode());
        }
        Body::Unbind => {
            let _ = tx.try_send(Pdu::new(pdu.sequence, Body::UnbindResp).encode());
            return UpstreamFlow::Unbound;
        }
        Body::DeliverSm(ref sm)
            if sm.esm_class & 0x3C != ESM_DELIVERY_RECEIPT
                && shared.filter.serves(&String::from_utf8_lossy(&sm.dest.addr)) =>
        {
            shared.local_mo(up.idx, &pdu, read_at);
        }
        Body::DeliverSm(ref sm) => match shared.route_deliver(sm) {
            DeliverRoute::Session(session) => shared.relay_deliver(&session, up.idx, pdu.sequence, &frame),
            DeliverRoute::UnknownReceipt(id) => {
                let mut o = shared.orphans.lock().expect("orphans lock");
                if o.len() < ORPHANS_MAX {
                    o.push(Orphan {
                        id,
                        up: up.idx,
                        pdu,
                        frame,
                        at: read_at,
                    });
                } else {
                    drop(o);
                    Stats::inc(&shared.stats.undeliverable);
                    answer_upstream_deliver(shared, up.idx, pdu.sequence, status::ESME_RX_T_APPN);
                }
            }
            DeliverRoute::Nowhere => {
                Stats::inc(&shared.stats.undeliverable);
                answer_upstream_deliver(shared, up.idx, pdu.sequence, status::ESME_RX_T_APPN);
            }
        },
        Body::DeliverSmResp(_) | Body::EnquireLinkResp | Body::GenericNack => {}
        _ if !h.is_response() => {
            let _ = tx.try_send(Pdu::with_status(status::ESME_RINVCMDID, pdu.sequence, Body::GenericNack).encode());
        }
        _ => {}
    }
    UpstreamFlow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_are_header_only_and_decode() {
        for id in [
            cmd::SUBMIT_SM,
            cmd::DATA_SM,
            cmd::SUBMIT_MULTI,
            cmd::QUERY_SM,
            cmd::REPLACE_SM,
        ] {
            let f = error_response(id, status::ESME_RSUBMITFAIL, 42);
            assert_eq!(f.len(), 16);
            let h = Header::parse(&f).unwrap();
            assert_eq!(
                (h.command_id, h.command_status, h.sequence_number),
                (id | 0x8000_0000, 0x45, 42)
            );
        }
        let f = error_response(cmd::OUTBIND, status::ESME_RINVCMDID, 1);
        assert_eq!(Header::parse(&f).unwrap().command_id, cmd::GENERIC_NACK);
    }

    #[test]
    fn token_bucket_limits_to_its_rate() {
        let mut b = TokenBucket::new(10);
        let t = b.last;
        let granted = (0..100).filter(|_| b.take(t)).count();
        assert_eq!(granted, 10);
        assert!(!b.take(t + Duration::from_millis(50)));
        assert!(b.take(t + Duration::from_millis(150)));
    }

    #[test]
    fn receipt_routes_forget_the_oldest() {
        let mut r = ReceiptRoutes::default();
        for i in 0..5 {
            r.insert(Bytes::from(format!("m{i}")), Arc::from("esme"), 3);
        }
        assert_eq!(r.map.len(), 3);
        assert!(!r.map.contains_key(&Bytes::from("m1")));
        assert!(r.map.contains_key(&Bytes::from("m4")));
    }
}
