//! An SMPP load generator: binds as ESMEs, keeps a window of `submit_sm` outstanding on each
//! connection, and measures throughput and the latency of each `submit_sm` → `submit_sm_resp`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use crate::frame::{DEFAULT_MAX_PDU, FrameReader, spawn_writer};
use crate::pdu::{Address, Bind, Body, Header, Pdu, ShortMessage, cmd, set_sequence};
use crate::text::encode_best;

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `HOST:PORT` to bind to (the firewall or an SMSC).
    pub target: String,
    /// The `system_id`.
    pub system_id: String,
    /// The password.
    pub password: String,
    /// Parallel binds.
    pub connections: usize,
    /// Outstanding `submit_sm` per bind.
    pub window: usize,
    /// How many `submit_sm` in total.
    pub messages: u64,
    /// The texts, sent in turn (each GSM 7-bit when it fits, else UCS-2; cut to the 255
    /// bytes of `short_message`).
    pub texts: Vec<String>,
    /// Gives up after this long.
    pub timeout: Duration,
    /// Paces the sends to this many per second over all connections (none: as fast as the
    /// window allows). Latency at a fixed rate below saturation is service time, not queueing.
    pub rate: Option<u64>,
}

/// What the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// `submit_sm` sent.
    pub sent: u64,
    /// Responses with status 0.
    pub ok: u64,
    /// Responses by error status.
    pub errors: BTreeMap<u32, u64>,
    /// From the first send to the last response.
    pub seconds: f64,
    /// Responses per second.
    pub per_second: f64,
    /// Latency percentiles, microseconds.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Cannot connect or the connection failed.
    #[error("connection to {target} failed")]
    Io {
        /// The target.
        target: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bind was refused.
    #[error("bind refused with status {0:#x}")]
    BindRefused(u32),
    /// Responses were missing at the timeout.
    #[error("timed out with {missing} responses missing")]
    Timeout {
        /// How many.
        missing: u64,
    },
}

struct ConnResult {
    latencies: Vec<u32>,
    statuses: BTreeMap<u32, u64>,
}

/// Runs the load and reports.
pub async fn run(cfg: LoadConfig) -> Result<LoadReport, LoadError> {
    let conns = cfg.connections.max(1);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conns {
        let n = cfg.messages / conns as u64 + u64::from((i as u64) < cfg.messages % conns as u64);
        tasks.push(tokio::spawn(connection(cfg.clone(), n, start)));
    }
    let mut latencies = Vec::with_capacity(cfg.messages as usize);
    let mut errors = BTreeMap::new();
    let mut ok = 0;
    let mut first_err = None;
    for t in tasks {
        match t.await.expect("load task") {
            Ok(r) => {
                latencies.extend(r.latencies);
                for (st, n) in r.statuses {
                    if st == 0 {
                        ok += n;
                    } else {
                        *errors.entry(st).or_insert(0) += n;
                    }
                }
            }
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let q = |p: f64| -> u64 {
        if latencies.is_empty() {
            return 0;
        }
        let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i] as u64
    };
    let received = latencies.len() as u64;
    Ok(LoadReport {
        sent: cfg.messages,
        ok,
        errors,
        seconds,
        per_second: received as f64 / seconds,
        p50_us: q(0.50),
        p90_us: q(0.90),
        p99_us: q(0.99),
        p999_us: q(0.999),
        max_us: latencies.last().copied().unwrap_or(0) as u64,
    })
}

async fn connection(cfg: LoadConfig, count: u64, start: Instant) -> Result<ConnResult, LoadError> {
    let io = |source| LoadError::Io {
        target: cfg.target.clone(),
        source,
    };
    let stream = TcpStream::connect(&cfg.target).await.map_err(io)?;
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let tx = spawn_writer(wr, cfg.window * 2 + 64);
    let mut reader = FrameReader::new(rd, DEFAULT_MAX_PDU);
    let bind = Pdu::new(
        1,
        Body::BindTransmitter(Bind {
            system_id: Bytes::from(cfg.system_id.clone()),
            password: Bytes::from(cfg.password.clone()),
            interface_version: 0x34,
            ..Default::default()
        }),
    );
    let closed = || LoadError::Io {
        target: cfg.target.clone(),
        source: std::io::ErrorKind::UnexpectedEof.into(),
    };
    tx.send(bind.encode()).await.map_err(|_| closed())?;
    let resp = reader.read().await.map_err(|_| closed())?.ok_or_else(closed)?;
    let h = Header::parse(&resp).map_err(|_| closed())?;
    if h.command_status != 0 {
        return Err(LoadError::BindRefused(h.command_status));
    }
    let templates: Vec<Bytes> = cfg
        .texts
        .iter()
        .map(|t| {
            let (dcs, mut text) = encode_best(t);
            // Cut on a character boundary of the coding (2 bytes for UCS-2).
            text.truncate(if dcs == 0x08 { 254 } else { 255 });
            Pdu::new(
                0,
                Body::SubmitSm(ShortMessage {
                    source: Address::new(1, 1, "84900000001"),
                    dest: Address::new(1, 1, "84912345678"),
                    data_coding: dcs,
                    short_message: Bytes::from(text),
                    ..Default::default()
                }),
            )
            .encode()
        })
        .collect();
    if templates.is_empty() {
        return Ok(ConnResult {
            latencies: Vec::new(),
            statuses: BTreeMap::new(),
        });
    }
    let window = Arc::new(Semaphore::new(cfg.window.max(1)));
    let slots = (cfg.window * 4).next_power_of_two();
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..slots).map(|_| AtomicU64::new(0)).collect());
    let writer = {
        let (tx, window, sent_at) = (tx.clone(), window.clone(), sent_at.clone());
        let per_conn_rate = cfg.rate.map(|r| (r as f64 / cfg.connections.max(1) as f64).max(1.0));
        tokio::spawn(async move {
            let paced_from = tokio::time::Instant::now();
            for i in 0..count {
                if let Some(r) = per_conn_rate {
                    let due = paced_from + Duration::from_secs_f64(i as f64 / r);
                    if due > tokio::time::Instant::now() {
                        tokio::time::sleep_until(due).await;
                    }
                }
                let Ok(permit) = window.acquire().await else { return };
                permit.forget();
                let seq = (i as u32 % 0x7FFF_0000) + 2;
                let mut f = BytesMut::from(&templates[i as usize % templates.len()][..]);
                set_sequence(&mut f, seq);
                sent_at[seq as usize % slots].store(start.elapsed().as_nanos() as u64, Relaxed);
                if tx.send(f.freeze()).await.is_err() {
                    return;
                }
            }
        })
    };
    let mut out = ConnResult {
        latencies: Vec::with_capacity(count as usize),
        statuses: BTreeMap::new(),
    };
    let deadline = tokio::time::Instant::now() + cfg.timeout;
    while (out.latencies.len() as u64) < count {
        let frame = match tokio::time::timeout_at(deadline, reader.read()).await {
            Ok(Ok(Some(f))) => f,
            Ok(_) => return Err(closed()),
            Err(_) => {
                writer.abort();
                return Err(LoadError::Timeout {
                    missing: count - out.latencies.len() as u64,
                });
            }
        };
        let h = Header::parse(&frame).map_err(|_| closed())?;
        match h.command_id {
            cmd::SUBMIT_SM_RESP | cmd::GENERIC_NACK => {
                let sent = sent_at[h.sequence_number as usize % slots].load(Relaxed);
                let now = start.elapsed().as_nanos() as u64;
                out.latencies
                    .push(((now.saturating_sub(sent)) / 1000).min(u32::MAX as u64) as u32);
                *out.statuses.entry(h.command_status).or_insert(0) += 1;
                window.add_permits(1);
            }
            cmd::ENQUIRE_LINK => {
                let _ = tx
                    .send(Pdu::new(h.sequence_number, Body::EnquireLinkResp).encode())
                    .await;
            }
            _ => {}
        }
    }
    let _ = tx.send(Pdu::new(1, Body::Unbind).encode()).await;
    Ok(out)
}
