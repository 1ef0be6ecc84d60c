//! A minimal ESME for the tests, written on the crate's codec, and helpers to start a firewall
//! in front of the simulator.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chanrac_smpp::frame::{DEFAULT_MAX_PDU, FrameReader};
use chanrac_smpp::pdu::{Address, Bind, Body, Pdu, ShortMessage, cmd};
use chanrac_smpp::proxy::{Filter, Firewall, FirewallConfig, UpstreamConfig};
use chanrac_smpp::sim::{SimConfig, Smsc};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

pub struct Esme {
    pub reader: FrameReader<OwnedReadHalf>,
    pub writer: OwnedWriteHalf,
    pub seq: u32,
}

impl Esme {
    pub async fn connect(addr: std::net::SocketAddr) -> Esme {
        let s = TcpStream::connect(addr).await.expect("connect");
        let (r, w) = s.into_split();
        Esme {
            reader: FrameReader::new(r, DEFAULT_MAX_PDU),
            writer: w,
            seq: 0,
        }
    }

    pub async fn send(&mut self, body: Body) -> u32 {
        self.seq += 1;
        let f = Pdu::new(self.seq, body).encode();
        self.writer.write_all(&f).await.expect("write");
        self.seq
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.expect("write");
    }

    /// The next PDU, or None on close; panics after 5 s of silence.
    pub async fn next(&mut self) -> Option<Pdu> {
        let f = tokio::time::timeout(Duration::from_secs(5), self.reader.read())
            .await
            .expect("a PDU within 5 s")
            .ok()??;
        Some(Pdu::decode(f, DEFAULT_MAX_PDU).expect("a decodable PDU"))
    }

    /// The next PDU that is not an enquire_link (answered).
    pub async fn next_app(&mut self) -> Option<Pdu> {
        loop {
            let p = self.next().await?;
            if p.body == Body::EnquireLink {
                let f = Pdu::new(p.sequence, Body::EnquireLinkResp).encode();
                self.writer.write_all(&f).await.ok()?;
                continue;
            }
            return Some(p);
        }
    }

    pub async fn bind(addr: std::net::SocketAddr, kind: u32, id: &str, pw: &str) -> (Esme, u32) {
        let mut e = Esme::connect(addr).await;
        let b = Bind {
            system_id: Bytes::copy_from_slice(id.as_bytes()),
            password: Bytes::copy_from_slice(pw.as_bytes()),
            interface_version: 0x34,
            ..Default::default()
        };
        let body = match kind {
            cmd::BIND_TRANSMITTER => Body::BindTransmitter(b),
            cmd::BIND_RECEIVER => Body::BindReceiver(b),
            _ => Body::BindTransceiver(b),
        };
        e.send(body).await;
        let r = e.next().await.expect("bind response");
        (e, r.status)
    }

    /// Sends a submit_sm and returns its sequence number.
    pub async fn submit(&mut self, sm: ShortMessage) -> u32 {
        self.send(Body::SubmitSm(sm)).await
    }
}

/// A submit_sm with a GSM or UCS-2 text.
pub fn sm(from: &str, to: &str, text: &str) -> ShortMessage {
    let (dcs, bytes) = chanrac_smpp::text::encode_best(text);
    ShortMessage {
        source: Address::new(1, 1, from),
        dest: Address::new(1, 1, to),
        data_coding: dcs,
        short_message: Bytes::from(bytes),
        ..Default::default()
    }
}

pub struct Setup {
    pub sim: Smsc,
    pub fw: Firewall,
}

pub fn config(upstream: std::net::SocketAddr) -> FirewallConfig {
    FirewallConfig {
        listen: "127.0.0.1:0".into(),
        dev_mode: true,
        upstream: UpstreamConfig {
            address: upstream.to_string(),
            binds: 2,
            reconnect_min_ms: 50,
            reconnect_max_ms: 200,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The simulator and a firewall in front of it, with the upstream binds up.
pub async fn setup(receipts: bool, filter: Arc<dyn Filter>, tweak: impl FnOnce(&mut FirewallConfig)) -> Setup {
    let sim = Smsc::start(SimConfig {
        listen: "127.0.0.1:0".into(),
        receipts,
        keep: 1000,
    })
    .await
    .expect("simulator");
    let mut cfg = config(sim.local_addr());
    tweak(&mut cfg);
    let fw = Firewall::start(cfg, filter).await.expect("firewall");
    wait_for(|| fw.upstream_bound() == 2).await;
    Setup { sim, fw }
}

/// Waits up to 5 s for a condition.
pub async fn wait_for(mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met within 5 s");
}
