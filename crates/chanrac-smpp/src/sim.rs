//! A small SMSC simulator for demos, tests and benchmarks.
//!
//! It accepts any bind, answers `submit_sm` / `data_sm` / `submit_multi` with a fresh
//! `message_id`, `query_sm` with "delivered", `cancel_sm` / `replace_sm` with success, and,
//! when asked ([`SimConfig::receipts`]), sends a delivery receipt (`stat:DELIVRD`) for every
//! `submit_sm` that requested one, on the same bind when it can receive. It keeps the last
//! messages it accepted for tests ([`Smsc::received`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::frame::{DEFAULT_MAX_PDU, FrameError, FrameReader, spawn_writer};
use crate::pdu::{BindResp, Body, Header, MessageIdResp, Pdu, QuerySmResp, ShortMessage, status};
use crate::receipt::{Receipt, state};
use crate::submit::{MessageBody, decode_parts};

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Send a delivery receipt for each `submit_sm` that asks for one.
    pub receipts: bool,
    /// How many accepted messages to keep for [`Smsc::received`] (0: none).
    pub keep: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: "127.0.0.1:2776".into(),
            receipts: false,
            keep: 1000,
        }
    }
}

/// A message the simulator accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The id it was given.
    pub message_id: String,
    /// The sender.
    pub source: String,
    /// The recipient.
    pub dest: String,
    /// The text of this PDU (one part of a concatenated message is one entry).
    pub text: String,
}

/// A running simulator.
#[derive(Debug)]
pub struct Smsc {
    local_addr: SocketAddr,
    shared: Arc<SimShared>,
    stop: watch::Sender<bool>,
}

#[derive(Debug)]
struct SimShared {
    cfg: SimConfig,
    next_id: AtomicU64,
    submits: AtomicU64,
    enquire_links: AtomicU64,
    received: Mutex<VecDeque<Accepted>>,
}

impl Smsc {
    /// Starts the simulator.
    pub async fn start(cfg: SimConfig) -> std::io::Result<Smsc> {
        let listener = TcpListener::bind(&cfg.listen).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(SimShared {
            cfg,
            next_id: AtomicU64::new(1),
            submits: AtomicU64::new(0),
            enquire_links: AtomicU64::new(0),
            received: Mutex::new(VecDeque::new()),
        });
        let (stop, rx) = watch::channel(false);
        tokio::spawn(accept(listener, shared.clone(), rx));
        Ok(Smsc {
            local_addr,
            shared,
            stop,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How many submits it accepted.
    pub fn submits(&self) -> u64 {
        self.shared.submits.load(Relaxed)
    }

    /// How many `enquire_link` it answered.
    pub fn enquire_links(&self) -> u64 {
        self.shared.enquire_links.load(Relaxed)
    }

    /// The last messages accepted, oldest first.
    pub fn received(&self) -> Vec<Accepted> {
        self.shared.received.lock().expect("sim lock").iter().cloned().collect()
    }

    /// Stops listening and closes every connection.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Smsc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a simulator until the process ends (the `chanrac smsc-sim` command).
pub async fn run(cfg: SimConfig) -> std::io::Result<()> {
    let sim = Smsc::start(cfg).await?;
    tracing::info!(addr = %sim.local_addr(), "smsc simulator listening");
    std::future::pending::<()>().await;
    Ok(())
}

async fn accept(listener: TcpListener, shared: Arc<SimShared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            Ok((stream, _)) = listener.accept() => {
                tokio::spawn(connection(stream, shared.clone(), stop.clone()));
            }
            _ = stop.changed() => return,
        }
    }
}

async fn connection(stream: TcpStream, shared: Arc<SimShared>, mut stop: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let tx = spawn_writer(wr, 8192);
    let mut reader = FrameReader::new(rd, DEFAULT_MAX_PDU);
    let out_seq = AtomicU32::new(1);
    let mut can_receive = false;
    loop {
        let frame = tokio::select! {
            r = reader.read() => match r {
                Ok(Some(f)) => f,
                Err(FrameError::BadLength { header, .. }) => {
                    let _ = tx.send(nack(header.sequence_number, status::ESME_RINVCMDLEN)).await;
                    return;
                }
                _ => return,
            },
            _ = stop.changed() => return,
        };
        let h = Header::parse(&frame).expect("whole frame");
        let pdu = match Pdu::decode(frame, DEFAULT_MAX_PDU) {
            Ok(p) => p,
            Err(e) => {
                if !h.is_response() && tx.send(nack(h.sequence_number, e.nack_status())).await.is_err() {
                    return;
                }
                continue;
            }
        };
        let seq = pdu.sequence;
        let reply = |body| Pdu::new(seq, body).encode();
        let ok_id = |id: &str| MessageIdResp {
            message_id: Bytes::copy_from_slice(id.as_bytes()),
            tlvs: vec![],
        };
        let sim_id = || Bytes::from_static(b"smsc-sim");
        let mut receipt = None;
        let out = match pdu.body {
            Body::BindTransmitter(_) => reply(Body::BindTransmitterResp(BindResp {
                system_id: sim_id(),
                tlvs: vec![],
            })),
            Body::BindReceiver(_) => {
                can_receive = true;
                reply(Body::BindReceiverResp(BindResp {
                    system_id: sim_id(),
                    tlvs: vec![],
                }))
            }
            Body::BindTransceiver(_) => {
                can_receive = true;
                reply(Body::BindTransceiverResp(BindResp {
                    system_id: sim_id(),
                    tlvs: vec![],
                }))
            }
            Body::SubmitSm(sm) => {
                let id = shared.accept(&sm);
                if shared.cfg.receipts && can_receive && sm.registered_delivery & 1 != 0 {
                    receipt = Some((id.clone(), sm));
                }
                reply(Body::SubmitSmResp(ok_id(&id)))
            }
            Body::DataSm(d) => {
                let sm = ShortMessage {
                    source: d.source,
                    dest: d.dest,
                    esm_class: d.esm_class,
                    data_coding: d.data_coding,
                    tlvs: d.tlvs,
                    ..Default::default()
                };
                reply(Body::DataSmResp(ok_id(&shared.accept(&sm))))
            }
            Body::SubmitMulti(_) => {
                let id = shared.new_id();
                shared.submits.fetch_add(1, Relaxed);
                reply(Body::SubmitMultiResp {
                    message_id: Bytes::from(id),
                    unsuccess: vec![],
                    tlvs: vec![],
                })
            }
            Body::QuerySm(q) => reply(Body::QuerySmResp(QuerySmResp {
                message_id: q.message_id,
                final_date: Bytes::new(),
                message_state: state::DELIVERED,
                error_code: 0,
            })),
            Body::CancelSm(_) => reply(Body::CancelSmResp),
            Body::ReplaceSm(_) => reply(Body::ReplaceSmResp),
            Body::EnquireLink => {
                shared.enquire_links.fetch_add(1, Relaxed);
                reply(Body::EnquireLinkResp)
            }
            Body::Unbind => {
                let _ = tx.send(reply(Body::UnbindResp)).await;
                return;
            }
            _ if h.is_response() => continue,
            _ => nack(seq, status::ESME_RINVCMDID),
        };
        if tx.send(out).await.is_err() {
            return;
        }
        if let Some((id, sm)) = receipt {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let r = Receipt {
                message_id: id,
                message_state: state::DELIVERED,
                error: 0,
                submitted_at: now,
                done_at: now,
                text: String::new(),
            };
            let seq = out_seq.fetch_add(1, Relaxed);
            if tx.send(r.deliver_sm(seq, sm.dest, sm.source).encode()).await.is_err() {
                return;
            }
        }
    }
}

fn nack(seq: u32, st: u32) -> Bytes {
    Pdu::with_status(st, seq, Body::GenericNack).encode()
}

impl SimShared {
    fn new_id(&self) -> String {
        format!("{:08x}", self.next_id.fetch_add(1, Relaxed))
    }

    fn accept(&self, sm: &ShortMessage) -> String {
        let id = self.new_id();
        self.submits.fetch_add(1, Relaxed);
        if self.cfg.keep > 0 {
            let body = MessageBody::of_sm(sm);
            let a = Accepted {
                message_id: id.clone(),
                source: sm.source.text(),
                dest: sm.dest.text(),
                text: decode_parts([&body], false).text,
            };
            let mut r = self.received.lock().expect("sim lock");
            if r.len() >= self.cfg.keep {
                r.pop_front();
            }
            r.push_back(a);
        }
        id
    }
}
